-- The recorded model calls of one workflow type over [from, to) of workflow start time,
-- grouped by identical pricing inputs (tenant, day, step, model, tier, every token
-- count). The what-if prices each group once under a candidate routing and multiplies by
-- its line count, which equals pricing every call (each is rounded once, the same way).
-- Parameters: from (line items from the day before on), from, to (the workflows' days, a
-- day of margin: parts of other days are skipped), from, to, workflow, tenant ('' = all),
-- tenant. Only the lines of the workflows' own authenticated tenant (auth_tenant)
-- count: another tenant's spans under the same ids are not these workflows'.
SELECT
    tenant,
    day,
    step,
    operation,
    provider,
    model,
    service_tier,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    cache_write_1h_tokens,
    reasoning_tokens,
    audio_input_tokens,
    image_input_tokens,
    audio_output_tokens,
    system_tokens,
    context_tokens,
    history_tokens,
    user_tokens,
    other_tokens,
    count() AS lines,
    sum(cost_nano) AS cost_nano,
    sum(priced = 0) AS unpriced,
    sum(is_error) AS errors
FROM {db}.line_items FINAL
WHERE day >= toDate(?) - 1
  AND component = 'model_tokens'
  AND (auth_tenant, workflow_id) IN
  (
      SELECT auth_tenant, workflow_id FROM {db}.workflows FINAL
      WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1
        AND start_time >= ? AND start_time < ? AND name = ? AND (? = '' OR tenant = ?)
  )
GROUP BY tenant, day, step, operation, provider, model, service_tier, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, audio_input_tokens,
    image_input_tokens, audio_output_tokens, system_tokens, context_tokens, history_tokens, user_tokens,
    other_tokens
ORDER BY tenant, day, step, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, service_tier, operation, provider, cache_write_1h_tokens, audio_input_tokens,
    image_input_tokens, audio_output_tokens, system_tokens, context_tokens, history_tokens, user_tokens,
    other_tokens
