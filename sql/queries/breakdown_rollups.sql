-- Cost broken down by one dimension from the hourly rollups (the newest complete build of
-- each hour), fast over long windows: whole hours of workflow start, as of the last rollup
-- refresh. {dim} is one of component, model, provider, workflow, workflow_version, team,
-- feature, outcome, tenant, service, environment (substituted from a fixed list by the
-- caller, never from input). Filters: tenant, workflow type, workflow version, team (of the
-- line), service, environment, model ('' = all). Parameters: from, to, from, to, tenant,
-- tenant, workflow, workflow, version, version, team, team, service, service, environment,
-- environment, model, model. Columns as breakdown.sql.
SELECT
    {dim} AS key,
    sum(line_items) AS line_items,
    sum(cost_nano) AS cost_nano,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(unpriced_lines) AS unpriced_lines
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
GROUP BY key
ORDER BY cost_nano DESC, key
