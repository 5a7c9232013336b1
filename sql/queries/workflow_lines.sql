-- Drill-down: every line item of one workflow. Parameters: workflow_id, workflow_id,
-- tenant ('' = any), tenant. The lines are looked up by the workflow's trace (a
-- workflow's spans are in its trace), which is line_items' key. A tenant sees a workflow's
-- lines only if it owns the workflow, and only the lines its authenticated tenant wrote
-- (auth_tenant): another tenant's spans under the same trace id never show.
-- With each line: its price provenance (book version, rule), whether its usage was
-- estimated (tiktoken), and what normalisation clamped on its span (issues). (Sorted
-- outside the FINAL read: 18.16 cannot ORDER BY a FINAL read of a Distributed table.)
SELECT *
FROM
(
    SELECT
        span_id,
        component,
        step,
        provider,
        model,
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cost_nano,
        priced,
        unpriced_reason,
        price_version,
        price_rule,
        start_time,
        duration_ms,
        usage_estimated,
        issues
    FROM {db}.line_items FINAL
    WHERE workflow_id = ?
      AND (auth_tenant, trace_id) IN
          (SELECT auth_tenant, trace_id FROM {db}.workflows FINAL WHERE workflow_id = ? AND (? = '' OR tenant = ?))
)
ORDER BY start_time, span_id, component
