-- What `unitcost alert` saw, for the dashboard, the API and Grafana: the baseline band of
-- each evaluation and every firing and resolution. Before this the firings went only to
-- the receivers and /metrics.
--
-- tenant is the rule's scope.tenant ('' for a rule over every tenant, which only an admin
-- token reads); alert_key is the alert's key (rule, or rule/workflow with group_by).
-- Values are in the metric's unit, as the engine computed them (dollars, a 0-1 share or
-- tokens): current, baseline, spread, and the band within which the rule does not fire:
-- band_high = baseline + max(threshold_pct% of |baseline|, threshold_abs, sigmas x spread),
-- band_low the same below (direction up fires above band_high, down below band_low).

-- One row per alert and hour evaluated (bucket: the hour the evaluation ended in): a
-- ReplacingMergeTree keyed (tenant, alert_key, bucket) with the evaluation time as the
-- version keeps the hour's newest evaluation. An evaluation every minute, a restart, a
-- replay with --record or a retried write all replace the hour's row; readers use FINAL.
CREATE TABLE IF NOT EXISTS {db}.alert_readings
(
    tenant String,
    alert_key String,
    bucket DateTime,
    evaluated_at DateTime,
    rule String,
    metric String,
    workflow String,
    usable UInt8,
    reason String,
    current Float64,
    baseline Float64,
    spread Float64,
    band_low Float64,
    band_high Float64,
    deviation_pct Float64,
    samples UInt64,
    baseline_hours UInt32,
    method String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant, alert_key, bucket);

-- One row per transition: a firing (status 'firing', at = starts_at) and its resolution
-- (status 'resolved', at = ends_at), both keyed by the alert and the time it started, so
-- the same transition written again (the engine re-sends what it had not confirmed
-- written, after a crash or a ClickHouse outage; a replay with --record) replaces itself.
CREATE TABLE IF NOT EXISTS {db}.alert_events
(
    tenant String,
    alert_key String,
    starts_at DateTime,
    status String,
    at DateTime,
    bucket DateTime,
    rule String,
    metric String,
    workflow String,
    severity String,
    current Float64,
    baseline Float64,
    spread Float64,
    band_low Float64,
    band_high Float64,
    deviation_pct Float64,
    samples UInt64,
    summary String,
    explanation String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(starts_at)
ORDER BY (tenant, alert_key, starts_at, status);
