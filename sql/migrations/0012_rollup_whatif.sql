-- What the what-if reads, per rollup hour, so that a window of whole hours re-prices a few
-- thousand summed rows instead of every recorded call (sql/queries/rollup_whatif_*.sql,
-- rebuilt with the other rollups: same builds, same newest-build rule for readers, the
-- bucket the hour the workflow started).
--
-- rollup_whatif_calls_hourly: the model calls of the workflows that started in the hour,
-- summed per workflow tenant and type x the call's own tenant, day (the price-book
-- version), step, operation, provider, model, service tier, kind and input bucket, with
-- each token count summed and the smallest and largest input. Summed usage prices exactly
-- like the calls one by one when every call bills at the same context tier and no call's
-- cost is rounded (pricing.Book.PriceSum says when): the input bucket (8,000 tokens wide
-- above 32,000, so thresholds on those boundaries never fall inside one) and the min/max
-- input decide the tier. kind: 0 = a regular billable call, 1 = no input and no output
-- (never billable), 2 = counts that contradict each other (cache above input...), which
-- the what-if re-prices call by call.
--
-- rollup_whatif_cohorts_hourly: the workflows that started in the hour per tenant and type
-- and the (step, model) pairs they ran, with the sums of sql/queries/whatif_cohorts.sql.
--
-- Both are rebuilt under the hour's build right after that build is recorded in
-- rollup_builds (so they do not delay the other rollups) and then recorded in
-- rollup_whatif_builds. The what-if reads an hour from them only when the hour's newest
-- build in rollup_builds is recorded here too; otherwise (a rebuild in flight or failed,
-- hours built before this migration) it reads that hour's calls one by one. The refresh
-- marker moved again (rollup_builds bucket 1970-01-01 00:00:02), so the next refresh
-- rebuilds every hour.
CREATE TABLE IF NOT EXISTS {db}.rollup_whatif_calls_hourly
(
    bucket DateTime,
    tenant String,
    workflow String,
    line_tenant String,
    day Date,
    step String,
    operation String,
    provider String,
    model String,
    service_tier String,
    kind UInt8,
    input_bucket UInt32,
    lines UInt64,
    cost_nano Int64,
    unpriced UInt64,
    errors UInt64,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    cache_write_1h_tokens UInt64,
    reasoning_tokens UInt64,
    audio_input_tokens UInt64,
    image_input_tokens UInt64,
    audio_output_tokens UInt64,
    min_input UInt64,
    max_input UInt64,
    build UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (workflow, bucket, tenant, build);

CREATE TABLE IF NOT EXISTS {db}.rollup_whatif_cohorts_hourly
(
    bucket DateTime,
    tenant String,
    workflow String,
    routing String,
    workflows UInt64,
    completed UInt64,
    failed UInt64,
    escalated UInt64,
    validated_workflows UInt64,
    validated_sum UInt64,
    validated_sq Float64,
    reviewed_workflows UInt64,
    review_cost_nano Int64,
    review_cost_sq Float64,
    review_active_ms UInt64,
    review_active_ms_sq Float64,
    machine_cost_nano Int64,
    model_calls UInt64,
    failed_calls UInt64,
    build UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (workflow, bucket, tenant, build);

-- The builds of each hour whose what-if rollups are complete (see above).
CREATE TABLE IF NOT EXISTS {db}.rollup_whatif_builds
(
    bucket DateTime,
    build UInt64,
    built_at DateTime
)
ENGINE = ReplacingMergeTree(build)
ORDER BY bucket;
