-- Drill-down: every line item of one workflow. Parameters: workflow_id, tenant ('' = any),
-- tenant. A tenant sees a workflow's lines only if it owns the workflow.
SELECT
    span_id,
    component,
    step,
    provider,
    model,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cost_nano,
    priced,
    unpriced_reason,
    price_version,
    price_rule
FROM {db}.line_items FINAL
WHERE workflow_id = ?
  AND workflow_id IN (SELECT workflow_id FROM {db}.workflows FINAL WHERE ? = '' OR tenant = ?)
ORDER BY cost_nano DESC, span_id, component
