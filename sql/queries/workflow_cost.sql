-- Cost of one workflow by component. Parameters: tenant, workflow_id.
SELECT
    component,
    count() AS line_items,
    sum(cost_nano) AS cost_nano,
    sum(priced = 0) AS unpriced_lines
FROM {db}.line_items FINAL
WHERE tenant = ? AND workflow_id = ?
GROUP BY component
ORDER BY component
