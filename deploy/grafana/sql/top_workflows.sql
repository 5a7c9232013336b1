-- The most expensive workflows started in the time range, with their line counts (line items
-- from the day before the range on, as sql/queries/top_workflows.sql).
SELECT w.workflow_id AS workflow_id, w.name AS workflow, w.tenant AS tenant, w.outcome AS outcome, w.start_time AS start_time,
       c.lines AS line_items, c.cost / 1e9 AS cost_usd
FROM
(
    SELECT workflow_id, name, tenant, outcome, start_time FROM unitcost.workflows FINAL
    WHERE start_time >= $__fromTime AND start_time < $__toTime
) AS w
ANY INNER JOIN
(
    SELECT workflow_id, count() AS lines, sum(cost_nano) AS cost FROM unitcost.line_items FINAL
    WHERE day >= toDate($__fromTime) - 1
      AND workflow_id IN (SELECT workflow_id FROM unitcost.workflows FINAL WHERE start_time >= $__fromTime AND start_time < $__toTime)
    GROUP BY workflow_id
) AS c USING (workflow_id)
ORDER BY cost_usd DESC, workflow_id
LIMIT 20
