-- Where the cost went over time: per {bucket} (hour or day of workflow start), workflow
-- type, component, model and workflow version, from the newest complete build of each rollup hour.
-- Filters: tenant, workflow type, workflow version, team (of the line), service, environment,
-- model ('' = all).
-- Parameters: from, to, from, to, tenant, tenant, workflow, workflow, version, version,
-- team, team, service, service, environment, environment, model, model.
SELECT
    {bucket} AS t,
    workflow,
    component,
    model,
    workflow_version,
    sum(line_items) AS line_items,
    sum(unpriced_lines) AS unpriced_lines,
    sum(cost_nano) AS cost_nano,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM {db}.rollup_costs_hourly
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
  AND (? = '' OR model = ?)
GROUP BY t, workflow, component, model, workflow_version
ORDER BY t, workflow, component, model, workflow_version
