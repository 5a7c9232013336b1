-- Unit economics over time: per {bucket} (hour or day of workflow start) and workflow
-- type, from the newest complete build of each rollup hour. Filters: tenant, workflow
-- type, workflow version, team, service, environment ('' = all). Divisions are done by the caller.
-- Parameters: from, to, from, to, tenant, tenant, workflow, workflow, version, version, team, team,
-- service, service, environment, environment.
SELECT
    {bucket} AS t,
    workflow,
    sum(workflows) AS workflows,
    sum(completed) AS completed,
    sum(validated_outputs) AS validated_outputs,
    sum(exceptions) AS exceptions,
    sum(cost_nano) AS cost_nano,
    sum(exception_cost_nano) AS exception_cost_nano,
    sum(review_cost_nano) AS review_cost_nano,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(context_tokens) AS context_tokens,
    sum(mix_tokens) AS mix_tokens,
    sum(line_items) AS line_items,
    sum(unpriced_lines) AS unpriced_lines
FROM {db}.rollup_workflows_hourly
WHERE (bucket, build) IN
(
    SELECT bucket, max(build) FROM {db}.rollup_builds WHERE bucket >= ? AND bucket < ? GROUP BY bucket
)
  AND bucket >= ? AND bucket < ?
  AND (? = '' OR tenant = ?)
  AND (? = '' OR workflow = ?)
  AND (? = '' OR workflow_version = ?)
  AND (? = '' OR team = ?)
  AND (? = '' OR service = ?)
  AND (? = '' OR environment = ?)
GROUP BY t, workflow
ORDER BY t, workflow
