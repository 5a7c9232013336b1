-- The most expensive workflows of each rollup hour, per tenant: the dashboard's top list
-- over any window of whole hours without reading the line items. Rebuilt with the other
-- rollups (sql/queries/rollup_top.sql, same builds, same newest-build rule for readers).
-- It keeps the 100 most expensive workflows (cost, then id) of each hour and tenant, which
-- holds the exact top 100 of any set of whole hours and any one tenant or all: a workflow
-- counts in the hour it started, so one among a window's top N is among its own hour's
-- and tenant's top N.
--
-- Hours built before this migration have no rows here: a refresh marker of its own
-- (rollup_builds bucket 1970-01-01 00:00:01) makes the next refresh rebuild every hour.
CREATE TABLE IF NOT EXISTS {db}.rollup_top_hourly
(
    bucket DateTime,
    tenant String,
    auth_tenant String,
    workflow_id String,
    workflow String,
    outcome String,
    outcome_source String,
    session String,
    end_user String,
    start_time DateTime,
    line_items UInt64,
    cost_nano Int64,
    build UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, tenant, build);
