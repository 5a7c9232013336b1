-- Rebuilds one hour of rollup_workflows_hourly from the source, under a new build number.
-- Each workflow that started in [from, to) counts once, with every line item assigned to
-- it (line items starting from the day before the hour on). Exceptions are workflows
-- with a human review line; their whole cost is exception cost.
-- Parameters: build, from, to, from, from, to.
INSERT INTO {db}.rollup_workflows_hourly (bucket, tenant, workflow, workflow_version, team, feature, outcome,
    workflows, completed, validated_outputs, exceptions, cost_nano, exception_cost_nano, review_cost_nano,
    input_tokens, output_tokens, context_tokens, mix_tokens, line_items, unpriced_lines, build)
SELECT
    toStartOfHour(w.start_time) AS hour,
    w.tenant,
    w.name,
    w.workflow_version,
    w.team,
    w.feature,
    w.outcome,
    count(),
    countIf(w.outcome = 'completed'),
    sum(w.validated_outputs),
    countIf(c.reviewed = 1),
    sum(c.cost),
    sumIf(c.cost, c.reviewed = 1),
    sum(c.review_cost),
    sum(c.input),
    sum(c.output),
    sum(c.context),
    sum(c.mix),
    sum(c.lines),
    sum(c.unpriced),
    toUInt64(?)
FROM
(
    SELECT workflow_id, start_time, tenant, name, workflow_version, team, feature, outcome, validated_outputs
    FROM {db}.workflows FINAL
    WHERE start_time >= ? AND start_time < ?
) AS w
ANY LEFT JOIN
(
    SELECT
        workflow_id,
        sum(cost_nano) AS cost,
        max(component = 'human_review') AS reviewed,
        sumIf(cost_nano, component = 'human_review') AS review_cost,
        sum(input_tokens) AS input,
        sum(output_tokens) AS output,
        sum(context_tokens) AS context,
        sum(system_tokens + context_tokens + history_tokens + user_tokens + other_tokens) AS mix,
        count() AS lines,
        sum(priced = 0) AS unpriced
    FROM {db}.line_items FINAL
    WHERE day >= toDate(?) - 1
      AND workflow_id IN
      (
          SELECT workflow_id FROM {db}.workflows FINAL WHERE start_time >= ? AND start_time < ?
      )
    GROUP BY workflow_id
) AS c USING (workflow_id)
GROUP BY hour, w.tenant, w.name, w.workflow_version, w.team, w.feature, w.outcome
