-- Cost of one workflow by component. Parameters: workflow_id, tenant ('' = any), tenant.
-- The tenant that owns the workflow (its root span) owns all of its line items, including
-- late ones whose own tenant label could not be resolved.
SELECT
    component,
    count() AS line_items,
    sum(cost_nano) AS cost_nano,
    sum(priced = 0) AS unpriced_lines
FROM {db}.line_items FINAL
WHERE workflow_id = ?
  AND workflow_id IN (SELECT workflow_id FROM {db}.workflows FINAL WHERE ? = '' OR tenant = ?)
GROUP BY component
ORDER BY component
