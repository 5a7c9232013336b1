-- Hourly rollups, rebuilt from the deduplicated source rather than fed by materialized
-- views. A materialized view sees every inserted block: a replay, a duplicate delivery or
-- a correction inserts the same line item again, ReplacingMergeTree collapses it in
-- line_items only at merge time (readers use FINAL), but a view has already added it to
-- its sums, for good. So a rollup hour is instead recomputed, whole, from line_items FINAL
-- and workflows FINAL whenever rows that land in it were written (sql/queries/rollup_*.sql,
-- run by the rollup refresher in `unitcost process` and by `unitcost rollup`).
--
-- Each rebuild writes every row of its hour under a new build number (its start time in
-- ns) and then records (bucket, build) in rollup_builds. Readers take, per hour, only the
-- newest recorded build: a rebuild that failed half-way is never read, two refreshers
-- racing on an hour never add up, and the figures equal the source's at the build.
-- Superseded builds are deleted after each refresh. The bucket is the hour the workflow
-- started: all of a workflow's cost, however late it arrived, counts in that hour.

-- One row per hour x tenant x workflow type x version x team x feature x outcome: the
-- unit economics (counts, cost, exception cost, review cost, tokens, unpriced lines).
CREATE TABLE IF NOT EXISTS {db}.rollup_workflows_hourly
(
    bucket DateTime,
    tenant String,
    workflow String,
    workflow_version String,
    team String,
    feature String,
    outcome String,
    workflows UInt64,
    completed UInt64,
    validated_outputs UInt64,
    exceptions UInt64,
    cost_nano Int64,
    exception_cost_nano Int64,
    review_cost_nano Int64,
    input_tokens UInt64,
    output_tokens UInt64,
    context_tokens UInt64,
    mix_tokens UInt64,
    line_items UInt64,
    unpriced_lines UInt64,
    build UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant, workflow, bucket, workflow_version, team, feature, outcome, build);

-- One row per hour x tenant x workflow type x version x outcome x (line) team x feature x
-- component x provider x model: where the cost went.
CREATE TABLE IF NOT EXISTS {db}.rollup_costs_hourly
(
    bucket DateTime,
    tenant String,
    workflow String,
    workflow_version String,
    outcome String,
    team String,
    feature String,
    component String,
    provider String,
    model String,
    line_items UInt64,
    unpriced_lines UInt64,
    cost_nano Int64,
    input_tokens UInt64,
    output_tokens UInt64,
    build UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant, workflow, bucket, component, model, provider, workflow_version, outcome, team, feature, build);

-- The newest complete build of each hour. The row with bucket = 0 (1970-01-01 00:00:00)
-- marks a whole refresh done: the next one looks for rows written since its build.
CREATE TABLE IF NOT EXISTS {db}.rollup_builds
(
    bucket DateTime,
    build UInt64,
    built_at DateTime,
    workflows UInt64
)
ENGINE = ReplacingMergeTree(build)
ORDER BY bucket;
