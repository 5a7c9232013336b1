-- Priced line items: one row per span and cost component. The source of truth for cost.
-- ReplacingMergeTree on (trace_id, span_id, component): a replayed, re-priced or
-- duplicated span replaces its row instead of adding one; readers use FINAL (or argMax),
-- so figures never double count. `version` is the write time in ns: the newest wins.
-- tenant/team/feature are not in the key: a span that names none inherits its workflow
-- root's, which a rewrite may resolve differently; it must still replace, not add.
CREATE TABLE IF NOT EXISTS {db}.line_items
(
    tenant String,
    day Date,
    start_time DateTime,
    trace_id String,
    span_id String,
    parent_span_id String,
    workflow_id String,
    component String,
    step String,
    operation String,
    provider String,
    model String,
    input_tokens UInt64,
    output_tokens UInt64,
    cache_read_tokens UInt64,
    cache_write_tokens UInt64,
    reasoning_tokens UInt64,
    usage_estimated UInt8,
    duration_ms UInt64,
    quantity Float64,
    unit String,
    cost_nano Int64,
    provider_cost_nano Int64,
    has_provider_cost UInt8,
    priced UInt8,
    unpriced_reason String,
    price_version String,
    price_rule String,
    team String,
    feature String,
    review_role String,
    review_active_ms UInt64,
    review_queue_ms UInt64,
    review_outcome String,
    is_error UInt8,
    issues Array(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (trace_id, span_id, component);

-- Workflow facts: one row per workflow (key: workflow_id), from the span that roots it (name, version,
-- outcome, validated outputs, labels). Cost is not stored here: it is the sum of the
-- workflow's line items, which may arrive later (a human review days after the calls).
CREATE TABLE IF NOT EXISTS {db}.workflows
(
    tenant String,
    day Date,
    start_time DateTime,
    end_time DateTime,
    workflow_id String,
    trace_id String,
    root_span_id String,
    name String,
    workflow_version String,
    outcome String,
    validated_outputs UInt64,
    team String,
    feature String,
    duration_ms UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY workflow_id;
