-- Storage refinements for current ClickHouse. Each statement below starts with a
-- `-- unitcost: min_server V` line: `unitcost migrate` applies it only on a server at
-- version V or newer, records it in schema_optional, and applies the ones it skipped when
-- a later migrate finds the server upgraded. Debian's 18.16 has neither LowCardinality
-- outside an experimental flag nor column codecs nor TTL, so there these are skipped.
--
-- LowCardinality for the repetitive labels outside the sort keys (a key column's type
-- cannot be altered); Delta + ZSTD for the time and version columns, which arrive nearly
-- sorted; span issues (diagnostics, not money) expire after 90 days.

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
