-- The drift alerts' baseline band on cost per completed workflow, per hour and workflow type
-- (Grafana ClickHouse plugin; $__fromTime/$__toTime are the time range): band_low and
-- band_high of the usable readings `unitcost alert` recorded (migration 0009) for the
-- first rule (by alert key) over every tenant (no scope.tenant) on the type, the scope of
-- the unit-cost panel's lines. A rule fires when the value leaves the band.
SELECT bucket AS time, workflow, band_low, band_high
FROM unitcost.alert_readings FINAL
WHERE bucket >= $__fromTime AND bucket < $__toTime
  AND tenant = '' AND metric = 'cost_per_completed' AND workflow != '' AND usable = 1
  AND (workflow, alert_key) IN
  (
      SELECT workflow, min(alert_key) FROM unitcost.alert_readings FINAL
      WHERE bucket >= $__fromTime AND bucket < $__toTime
        AND tenant = '' AND metric = 'cost_per_completed' AND workflow != '' AND usable = 1
      GROUP BY workflow
  )
ORDER BY time, workflow
