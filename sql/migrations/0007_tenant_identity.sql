-- Authenticated tenancy is part of identity. A span's tenant as the transport
-- authenticated it (an ingest token, or a Collector record's tenant header; '' when none
-- did) is stored as auth_tenant and is part of every key: a span of tenant A that reuses
-- tenant B's trace and span ids writes rows beside B's, never over them, and readers
-- join line items to workflows on (auth_tenant, workflow_id), so A's spans never count in,
-- relabel or replace B's workflows. `tenant` stays the label reports group and filter by
-- (the authenticated tenant when there is one, so the two agree for authenticated data).
--
-- A ReplacingMergeTree's key cannot change in place on 18.16's Replicated tables, so each
-- table is created anew with the new key, swapped in by RENAME (writers carry on into the
-- new table at once), filled from the old one and the old one dropped. Rows written
-- before this migration get the tenant of their workflow (else their own label) as
-- auth_tenant: exactly the authenticated tenant where ingest had tokens.

CREATE TABLE IF NOT EXISTS {db}.line_items_0007
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
    version UInt64,
    tool_name String,
    compute_class String,
    service_tier String,
    cache_write_1h_tokens UInt64,
    retrieval_units UInt64,
    system_tokens UInt64,
    context_tokens UInt64,
    history_tokens UInt64,
    user_tokens UInt64,
    other_tokens UInt64,
    audio_input_tokens UInt64,
    image_input_tokens UInt64,
    audio_output_tokens UInt64,
    compute_share_bp UInt64,
    auth_tenant String
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (trace_id, span_id, component, auth_tenant);

CREATE TABLE IF NOT EXISTS {db}.workflows_0007
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
    version UInt64,
    auth_tenant String
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (workflow_id, auth_tenant);

CREATE TABLE IF NOT EXISTS {db}.span_issues_0007
(
    tenant String,
    day Date,
    trace_id String,
    span_id String,
    workflow_id String,
    step String,
    issue String,
    version UInt64,
    auth_tenant String
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (trace_id, span_id, issue, auth_tenant);

RENAME TABLE {db}.line_items TO {db}.line_items_0006, {db}.line_items_0007 TO {db}.line_items,
    {db}.workflows TO {db}.workflows_0006, {db}.workflows_0007 TO {db}.workflows,
    {db}.span_issues TO {db}.span_issues_0006, {db}.span_issues_0007 TO {db}.span_issues;

INSERT INTO {db}.workflows (tenant, day, start_time, end_time, workflow_id, trace_id,
    root_span_id, name, workflow_version, outcome, validated_outputs, team, feature,
    duration_ms, version, auth_tenant)
SELECT tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name,
    workflow_version, outcome, validated_outputs, team, feature, duration_ms, version, tenant
FROM {db}.workflows_0006;

INSERT INTO {db}.line_items (tenant, day, start_time, trace_id, span_id, parent_span_id,
    workflow_id, component, step, operation, provider, model, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, usage_estimated, duration_ms,
    quantity, unit, cost_nano, provider_cost_nano, has_provider_cost, priced, unpriced_reason,
    price_version, price_rule, team, feature, review_role, review_active_ms, review_queue_ms,
    review_outcome, is_error, issues, version, tool_name, compute_class, service_tier,
    cache_write_1h_tokens, retrieval_units, system_tokens, context_tokens, history_tokens,
    user_tokens, other_tokens, audio_input_tokens, image_input_tokens, audio_output_tokens,
    compute_share_bp, auth_tenant)
SELECT l.tenant, l.day, l.start_time, l.trace_id, l.span_id, l.parent_span_id, l.workflow_id,
    l.component, l.step, l.operation, l.provider, l.model, l.input_tokens, l.output_tokens,
    l.cache_read_tokens, l.cache_write_tokens, l.reasoning_tokens, l.usage_estimated,
    l.duration_ms, l.quantity, l.unit, l.cost_nano, l.provider_cost_nano, l.has_provider_cost,
    l.priced, l.unpriced_reason, l.price_version, l.price_rule, l.team, l.feature,
    l.review_role, l.review_active_ms, l.review_queue_ms, l.review_outcome, l.is_error,
    l.issues, l.version, l.tool_name, l.compute_class, l.service_tier, l.cache_write_1h_tokens,
    l.retrieval_units, l.system_tokens, l.context_tokens, l.history_tokens, l.user_tokens,
    l.other_tokens, l.audio_input_tokens, l.image_input_tokens, l.audio_output_tokens,
    l.compute_share_bp, if(w.wf_tenant = '', l.tenant, w.wf_tenant)
FROM {db}.line_items_0006 AS l
ANY LEFT JOIN
(
    SELECT workflow_id, any(tenant) AS wf_tenant FROM {db}.workflows_0006 GROUP BY workflow_id
) AS w USING (workflow_id);

INSERT INTO {db}.span_issues (tenant, day, trace_id, span_id, workflow_id, step, issue,
    version, auth_tenant)
SELECT i.tenant, i.day, i.trace_id, i.span_id, i.workflow_id, i.step, i.issue, i.version,
    if(w.wf_tenant = '', i.tenant, w.wf_tenant)
FROM {db}.span_issues_0006 AS i
ANY LEFT JOIN
(
    SELECT workflow_id, any(tenant) AS wf_tenant FROM {db}.workflows_0006 GROUP BY workflow_id
) AS w USING (workflow_id);

DROP TABLE IF EXISTS {db}.line_items_0006;

DROP TABLE IF EXISTS {db}.workflows_0006;

DROP TABLE IF EXISTS {db}.span_issues_0006;

-- The storage refinements of 0006 again, for the new tables, on current ClickHouse.

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN tenant LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN operation LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN provider LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN model LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN unit LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN price_version LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN price_rule LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN team LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN feature LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN review_role LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN review_outcome LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN service_tier LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN compute_class LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN tool_name LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN tenant LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN name LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN workflow_version LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN outcome LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN team LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN feature LowCardinality(String);

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN start_time DateTime CODEC(Delta, ZSTD(1));

-- unitcost: min_server 20.3
ALTER TABLE {db}.line_items MODIFY COLUMN version UInt64 CODEC(Delta, ZSTD(1));

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN start_time DateTime CODEC(Delta, ZSTD(1));

-- unitcost: min_server 20.3
ALTER TABLE {db}.workflows MODIFY COLUMN version UInt64 CODEC(Delta, ZSTD(1));

-- unitcost: min_server 20.3
ALTER TABLE {db}.span_issues MODIFY TTL day + INTERVAL 90 DAY;
