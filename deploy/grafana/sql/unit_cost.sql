-- Cost per completed workflow per hour and workflow type, from the newest complete build of
-- each rollup hour (Grafana ClickHouse plugin; $__fromTime/$__toTime are the time range).
SELECT bucket AS time, workflow, sum(cost_nano) / greatest(sum(completed), 1) / 1e9 AS cost_per_completed
FROM unitcost.rollup_workflows_hourly
WHERE (bucket, build) IN (SELECT bucket, max(build) FROM unitcost.rollup_builds WHERE bucket >= $__fromTime AND bucket < $__toTime GROUP BY bucket)
  AND bucket >= $__fromTime AND bucket < $__toTime
GROUP BY time, workflow
ORDER BY time, workflow
