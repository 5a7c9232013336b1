-- Cost broken down by one dimension over [from, to) of workflow start time: {dim} is one
-- of component, model, provider, workflow, workflow_version, team, feature, outcome, tenant,
-- price_version, service, environment, session, user (end_user), outcome_source, or a label's value
-- (label_values[indexOf(label_keys, 'key')], the key checked against [A-Za-z0-9_.-]),
-- substituted from a fixed list by the caller, never from input. {filter} narrows the
-- workflows by dimension values (' AND service = ?'..., see store.Filter), '' for none. ALL INNER JOIN: the
-- right side is one row per workflow; ANY would also drop left rows on current ClickHouse.
-- Parameters: from (line items from the day before on, as in unit_economics.sql), from, to
-- (the workflows' days, as in unit_economics.sql), from, to, tenant ('' = all), tenant. Line items count toward the tenant that owns their workflow,
-- joined on (auth_tenant, workflow_id): another tenant's spans in the same trace never count.
-- A line's team and feature are its own, else its workflow's (a late span handled where its
-- workflow was not remembered, e.g. after a restart, is stored without them).
SELECT
    {dim} AS key,
    count() AS line_items,
    sum(cost_nano) AS cost_nano,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(priced = 0) AS unpriced_lines
FROM
(
    SELECT auth_tenant, workflow_id, component, model, provider, team, feature, price_version, cost_nano,
        input_tokens, output_tokens, priced
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
) AS l
ALL INNER JOIN
(
    SELECT auth_tenant, workflow_id, name, workflow_version, outcome, tenant AS wf_tenant, team AS wf_team,
           feature AS wf_feature, service, environment, session, end_user, outcome_source, label_keys, label_values
    FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
) AS w USING (auth_tenant, workflow_id)
GROUP BY key
ORDER BY cost_nano DESC, key
