-- The rollup hours to rebuild: the start hours of every workflow whose facts or line
-- items were written after `since` (ns; the last complete refresh's build less a margin
-- for inserts in flight and clock skew). Old versions of a workflow row are read too (no
-- FINAL), so a workflow whose start moved marks both hours.
-- Parameters: since, since.
SELECT DISTINCT toStartOfHour(start_time) AS hour
FROM {db}.workflows
WHERE workflow_id IN
(
    SELECT workflow_id FROM {db}.workflows WHERE version > ?
    UNION ALL
    SELECT workflow_id FROM {db}.line_items WHERE version > ?
)
ORDER BY hour
