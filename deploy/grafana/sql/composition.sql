-- Cost per hour by component (model tokens, compute, retrieval, tools, human review), from the
-- newest complete build of each rollup hour.
SELECT bucket AS time, component, sum(cost_nano) / 1e9 AS cost
FROM unitcost.rollup_costs_hourly
WHERE (bucket, build) IN (SELECT bucket, max(build) FROM unitcost.rollup_builds WHERE bucket >= $__fromTime AND bucket < $__toTime GROUP BY bucket)
  AND bucket >= $__fromTime AND bucket < $__toTime
GROUP BY time, component
ORDER BY time, component
