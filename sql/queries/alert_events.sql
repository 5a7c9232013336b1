-- The firings and resolutions of `unitcost alert` (migration 0009) that happened in
-- [from, to), oldest first. Parameters: from, to, tenant ('' = every tenant's and the rules
-- over all tenants), tenant, workflow ('' = all), workflow, metric ('' = all), metric.
SELECT
    tenant, alert_key, starts_at, status, at, bucket, rule, metric, workflow, severity,
    current, baseline, spread, band_low, band_high, deviation_pct, samples, summary, explanation
FROM {db}.alert_events FINAL
WHERE at >= ? AND at < ?
  AND (? = '' OR tenant = ?)
  AND (? = '' OR workflow = ?)
  AND (? = '' OR metric = ?)
ORDER BY at, alert_key, status
