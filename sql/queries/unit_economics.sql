-- Unit economics per workflow type over [from, to) of workflow start time.
-- Parameters: from, to (the workflows' days, a day of margin: parts of other days are
-- skipped, as the what-if's queries do), from, to (DateTime), tenant ('' = all), tenant,
-- {filter}'s; from; then the first six and the filter's again. {filter} narrows the workflows by dimension values
-- (' AND service = ?'..., see store.Filter), '' for none.
-- Line items are read from the day before `from` on: none of a workflow starts earlier,
-- and the bound lets ClickHouse skip older parts.
-- A workflow's cost is every line item assigned to it, whenever it arrived; the tenant
-- that owns the workflow owns its cost. Line items join their workflow on
-- (auth_tenant, workflow_id): spans another authenticated tenant wrote into the same trace
-- id belong to that tenant's workflow, never to this one.
-- Cost per completed workflow = cost_nano / completed; per validated output =
-- cost_nano / validated_outputs; per exception = exception_cost_nano / exceptions.
-- Divisions are done by the caller in exact integer arithmetic.
SELECT
    w.name AS workflow,
    count() AS workflows,
    countIf(w.outcome = 'completed') AS completed,
    sum(w.validated_outputs) AS validated_outputs,
    countIf(c.reviewed = 1) AS exceptions,
    sum(c.cost) AS cost_nano,
    sumIf(c.cost, c.reviewed = 1) AS exception_cost_nano,
    sum(c.review_cost) AS review_cost_nano,
    sum(c.unpriced) AS unpriced_lines
FROM
(
    SELECT auth_tenant, workflow_id, name, outcome, validated_outputs
    FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
) AS w
ANY LEFT JOIN
(
    SELECT
        auth_tenant,
        workflow_id,
        sum(cost_nano) AS cost,
        max(component = 'human_review') AS reviewed,
        sumIf(cost_nano, component = 'human_review') AS review_cost,
        sum(priced = 0) AS unpriced
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
      AND workflow_id IN
    (
        SELECT workflow_id FROM {db}.workflows FINAL
        WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
    )
    GROUP BY auth_tenant, workflow_id
) AS c USING (auth_tenant, workflow_id)
GROUP BY workflow
ORDER BY workflow
