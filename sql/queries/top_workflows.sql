-- The most expensive workflows over [from, to) of start time, with their line counts.
-- Parameters: from, to (the workflows' days, as in unit_economics.sql), from, to, tenant
-- ('' = all), tenant, {filter}'s, from, then the first six and the filter's again, then limit. {filter}: see unit_economics.sql. (Line items from the day before `from` on, as in unit_economics.sql.)
SELECT
    w.workflow_id AS workflow_id,
    w.name AS workflow,
    w.tenant AS tenant,
    w.outcome AS outcome,
    w.outcome_source AS outcome_source,
    w.session AS session,
    w.end_user AS end_user,
    w.start_time AS start_time,
    c.lines AS line_items,
    c.cost AS cost_nano
FROM
(
    SELECT auth_tenant, workflow_id, name, tenant, outcome, outcome_source, session, end_user, start_time
    FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
) AS w
ANY INNER JOIN
(
    SELECT auth_tenant, workflow_id, count() AS lines, sum(cost_nano) AS cost
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
      AND workflow_id IN
    (
        SELECT workflow_id FROM {db}.workflows FINAL
        WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
    )
    GROUP BY auth_tenant, workflow_id
) AS c USING (auth_tenant, workflow_id)
ORDER BY cost_nano DESC, workflow_id
LIMIT ?
