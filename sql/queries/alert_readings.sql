-- The baseline bands of `unitcost alert` (migration 0009): each alert's newest evaluation of
-- each hour over [from, to) of bucket. Parameters: from, to, tenant ('' = every tenant's
-- and the rules over all tenants), tenant, workflow ('' = all), workflow, metric ('' = all),
-- metric. The reading's scope is tenant, workflow and workflow_version..environment.
SELECT
    tenant, alert_key, bucket, evaluated_at, rule, metric, workflow, usable, reason,
    current, baseline, spread, band_low, band_high, deviation_pct, samples, baseline_hours, method,
    workflow_version, team, model, service, environment
FROM {db}.alert_readings FINAL
WHERE bucket >= ? AND bucket < ?
  AND (? = '' OR tenant = ?)
  AND (? = '' OR workflow = ?)
  AND (? = '' OR metric = ?)
ORDER BY tenant, alert_key, bucket
