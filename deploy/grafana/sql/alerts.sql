-- Drift alerts that fired or resolved in the time range, newest first (what `unitcost alert`
-- recorded, migration 0009; Grafana ClickHouse plugin, $__fromTime/$__toTime the range).
-- current, baseline and band_high are in the metric's unit: dollars for cost_per_*, a 0-1
-- share, or tokens; the rule fires above band_high (direction up).
SELECT
    at AS time,
    status,
    rule,
    tenant,
    workflow,
    metric,
    current,
    baseline,
    band_high,
    deviation_pct,
    summary
FROM unitcost.alert_events FINAL
WHERE at >= $__fromTime AND at < $__toTime
ORDER BY time DESC, rule, workflow, status
