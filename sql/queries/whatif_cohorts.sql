-- The workflows of one workflow type over [from, to) of workflow start time, grouped by
-- the (step, model) pairs they ran (`routing`: sorted "step<TAB>operation<TAB>model" lines), with the
-- sums the what-if's rates and intervals need: counts by outcome, validated outputs and
-- their squares, reviewed workflows (a human review line: the product's exceptions),
-- review cost and active time and their squares per workflow, the recorded cost of
-- everything that is not review, model calls and failed ones.
-- Parameters: from, to (the workflows' days, a day of margin: parts of other days are
-- skipped), from, to, workflow, tenant ('' = all), tenant; from (line items from the day
-- before on); then from, to, from, to, workflow, tenant, tenant again. Line items join their
-- workflow on (auth_tenant, workflow_id): another tenant's spans under the same ids are not
-- this workflow's.
SELECT
    c.routing AS routing,
    count() AS workflows,
    countIf(w.outcome = 'completed') AS completed,
    countIf(w.outcome = 'failed') AS failed,
    countIf(w.outcome = 'escalated') AS escalated,
    countIf(w.validated_outputs > 0) AS validated_workflows,
    sum(w.validated_outputs) AS validated_sum,
    sum(toFloat64(w.validated_outputs) * w.validated_outputs) AS validated_sq,
    countIf(c.reviewed = 1) AS reviewed_workflows,
    sum(c.review_cost) AS review_cost_nano,
    sum(toFloat64(c.review_cost) * c.review_cost) AS review_cost_sq,
    sum(c.review_ms) AS review_active_ms,
    sum(toFloat64(c.review_ms) * c.review_ms) AS review_active_ms_sq,
    sum(c.machine_cost) AS machine_cost_nano,
    sum(c.calls) AS model_calls,
    sum(c.error_calls) AS failed_calls
FROM
(
    SELECT auth_tenant, workflow_id, outcome, validated_outputs
    FROM {db}.workflows FINAL
    WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1
      AND start_time >= ? AND start_time < ? AND name = ? AND (? = '' OR tenant = ?)
) AS w
ANY LEFT JOIN
(
    SELECT
        auth_tenant,
        workflow_id,
        arrayStringConcat(arraySort(groupUniqArrayIf(concat(step, '\t', operation, '\t', model), component = 'model_tokens')), '\n') AS routing,
        max(component = 'human_review') AS reviewed,
        sumIf(cost_nano, component = 'human_review') AS review_cost,
        sumIf(review_active_ms, component = 'human_review') AS review_ms,
        sumIf(cost_nano, component != 'human_review') AS machine_cost,
        countIf(component = 'model_tokens') AS calls,
        countIf(component = 'model_tokens' AND is_error = 1) AS error_calls
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
      AND workflow_id IN
      (
          SELECT workflow_id FROM {db}.workflows FINAL
          WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1
            AND start_time >= ? AND start_time < ? AND name = ? AND (? = '' OR tenant = ?)
      )
    GROUP BY auth_tenant, workflow_id
) AS c USING (auth_tenant, workflow_id)
GROUP BY routing
ORDER BY routing
