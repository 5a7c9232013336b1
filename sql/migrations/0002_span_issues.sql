-- What normalisation clamped or ignored on each span (negative or absurd token counts,
-- oversize or invalid-UTF-8 labels, unreadable values, captured content over the limit):
-- one row per span and issue, for every span, billable or not. Keyed like line_items so a
-- replay replaces rather than adds.
CREATE TABLE IF NOT EXISTS {db}.span_issues
(
    tenant String,
    day Date,
    trace_id String,
    span_id String,
    workflow_id String,
    step String,
    issue String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (trace_id, span_id, issue);
