-- Cost of one workflow by component. Parameters: workflow_id, workflow_id,
-- tenant ('' = any), tenant. The lines are looked up by the workflow's trace (a
-- workflow's spans are in its trace), which is line_items' key.
-- The tenant that owns the workflow (its root span) owns all of its line items, including
-- late ones whose own tenant label could not be resolved, and only those its authenticated
-- tenant wrote (auth_tenant): another tenant's spans under the same ids are not its lines.
SELECT
    component,
    count() AS line_items,
    sum(cost_nano) AS cost_nano,
    sum(priced = 0) AS unpriced_lines
FROM {db}.line_items FINAL
WHERE workflow_id = ?
  AND (auth_tenant, trace_id) IN
      (SELECT auth_tenant, trace_id FROM {db}.workflows FINAL WHERE workflow_id = ? AND (? = '' OR tenant = ?))
GROUP BY component
ORDER BY component
