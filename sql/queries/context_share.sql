-- Token mix of model input per workflow type over [from, to) of workflow start time, for
-- calls whose messages were captured. Parameters: from, to (the workflows' days, as
-- in unit_economics.sql), from, to, tenant ('' = all), tenant, from, then the first six again. (Line items from the day before `from` on.) Context share = context_tokens / mix_tokens.
SELECT
    w.name AS workflow,
    sum(c.calls) AS calls_with_mix,
    sum(c.system) AS system_tokens,
    sum(c.context) AS context_tokens,
    sum(c.history) AS history_tokens,
    sum(c.user) AS user_tokens,
    sum(c.other) AS other_tokens,
    sum(c.system + c.context + c.history + c.user + c.other) AS mix_tokens
FROM
(
    SELECT auth_tenant, workflow_id, name
    FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?)
) AS w
ANY INNER JOIN
(
    SELECT
        auth_tenant,
        workflow_id,
        count() AS calls,
        sum(system_tokens) AS system,
        sum(context_tokens) AS context,
        sum(history_tokens) AS history,
        sum(user_tokens) AS user,
        sum(other_tokens) AS other
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
      AND component = 'model_tokens'
      AND system_tokens + context_tokens + history_tokens + user_tokens + other_tokens > 0
      AND workflow_id IN
      (
          SELECT workflow_id FROM {db}.workflows FINAL
          WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?)
      )
    GROUP BY auth_tenant, workflow_id
) AS c USING (auth_tenant, workflow_id)
GROUP BY workflow
ORDER BY workflow
