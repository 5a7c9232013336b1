-- Rebuilds one hour of rollup_costs_hourly from the source, under a new build number:
-- the line items of the workflows that started in [from, to), by component, provider and
-- model, under their workflow's tenant, type, version and outcome.
-- Parameters: build, from, from, to.
INSERT INTO {db}.rollup_costs_hourly (bucket, tenant, workflow, workflow_version, outcome, team, feature,
    component, provider, model, line_items, unpriced_lines, cost_nano, input_tokens, output_tokens, build)
SELECT
    toStartOfHour(w.wf_start) AS hour,
    w.wf_tenant,
    w.name,
    w.workflow_version,
    w.outcome,
    l.team,
    l.feature,
    l.component,
    l.provider,
    l.model,
    count(),
    sum(l.priced = 0),
    sum(l.cost_nano),
    sum(l.input_tokens),
    sum(l.output_tokens),
    toUInt64(?)
FROM
(
    SELECT workflow_id, team, feature, component, provider, model, priced, cost_nano, input_tokens, output_tokens
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
) AS l
ALL INNER JOIN
(
    SELECT workflow_id, start_time AS wf_start, tenant AS wf_tenant, name, workflow_version, outcome
    FROM {db}.workflows FINAL
    WHERE start_time >= ? AND start_time < ?
) AS w USING (workflow_id)
GROUP BY hour, w.wf_tenant, w.name, w.workflow_version, w.outcome, l.team, l.feature, l.component, l.provider, l.model
