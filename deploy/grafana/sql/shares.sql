-- What the drift alerts watch, per hour: the human review share of cost and the unpriced share
-- of line items (percent), from the newest complete build of each rollup hour.
SELECT bucket AS time,
       100 * sum(review_cost_nano) / greatest(sum(cost_nano), 1) AS review_share_pct,
       100 * sum(unpriced_lines) / greatest(sum(line_items), 1) AS unpriced_share_pct
FROM unitcost.rollup_workflows_hourly
WHERE (bucket, build) IN (SELECT bucket, max(build) FROM unitcost.rollup_builds WHERE bucket >= $__fromTime AND bucket < $__toTime GROUP BY bucket)
  AND bucket >= $__fromTime AND bucket < $__toTime
GROUP BY time
ORDER BY time
