-- Computed vs provider-reported cost per model over [from, to) of workflow start time:
-- where the instrumentation reported a cost (gen_ai.usage.cost.*, OpenInference llm.cost.*,
-- Langfuse cost_details), it is stored beside the computed one on the span's line; this
-- compares the two over the lines that have both. Compute lines are left out: they repeat
-- their span's reported cost, which is for the model call.
-- Parameters: from (line items from the day before on), from, to (the workflows' days, as
-- in unit_economics.sql), from, to, tenant ('' = all), tenant, {filter}'s. Line items count toward the tenant that owns their workflow (and was
-- authenticated as writing them: auth_tenant).
SELECT
    provider,
    model,
    max(provider_cost_currency) AS currency,
    count() AS lines,
    sum(has_provider_cost) AS reported_lines,
    sum(cost_nano) AS computed_nano,
    sumIf(cost_nano, has_provider_cost = 1) AS computed_where_reported_nano,
    sumIf(provider_cost_nano, has_provider_cost = 1) AS reported_nano,
    sumIf(cost_nano, has_provider_cost = 1) - sumIf(provider_cost_nano, has_provider_cost = 1) AS difference_nano
FROM {db}.line_items FINAL
WHERE day >= toDate(?) - 1
  AND component != 'compute'
  AND (auth_tenant, workflow_id) IN
(
    SELECT auth_tenant, workflow_id FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1 AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?){filter}
)
GROUP BY provider, model
HAVING reported_lines > 0
ORDER BY abs(difference_nano) DESC, provider, model
