-- Where drift alerts fired and resolved, as dashboard annotations over the time range (Grafana
-- ClickHouse plugin: time and text columns, tags; $__fromTime/$__toTime the range): every
-- transition `unitcost alert` recorded (migration 0009), the same rows as the Drift alerts
-- panel, at the moment it happened.
SELECT
    at AS time,
    concat(status, ': ', summary) AS text,
    [status, rule, if(tenant = '', 'all tenants', tenant), workflow] AS tags
FROM unitcost.alert_events FINAL
WHERE at >= $__fromTime AND at < $__toTime
ORDER BY time, rule, workflow, status
