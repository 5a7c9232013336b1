-- The most expensive workflows over [from, to) of whole start hours, from the newest
-- complete build of each rollup hour (rollup_top_hourly keeps each hour's and tenant's top
-- 100, so any limit up to 100 is exact as of the build). The same rows as
-- top_workflows.sql for the same hours and tenant.
-- Parameters: from, to, from, to, tenant ('' = all), tenant, limit.
SELECT
    workflow_id,
    workflow,
    tenant,
    outcome,
    outcome_source,
    session,
    end_user,
    start_time,
    line_items,
    cost_nano
FROM {db}.rollup_top_hourly
WHERE (bucket, build) IN
(
    SELECT bucket, max(build) FROM {db}.rollup_builds WHERE bucket >= ? AND bucket < ? GROUP BY bucket
)
  AND bucket >= ? AND bucket < ?
  AND (? = '' OR tenant = ?)
ORDER BY cost_nano DESC, workflow_id
LIMIT ?
