-- One workflow's facts, for drill-down: its name, outcome and which rule decided it
-- (outcome_source), validated outputs and dimensions. Parameters: workflow_id, tenant
-- ('' = any), tenant. A tenant sees a workflow only if it owns it.
SELECT
    workflow_id,
    name,
    tenant,
    workflow_version,
    outcome,
    outcome_source,
    validated_outputs,
    start_time,
    duration_ms,
    session,
    end_user,
    service,
    environment,
    label_keys,
    label_values
FROM {db}.workflows FINAL
WHERE workflow_id = ? AND (? = '' OR tenant = ?)
