-- The rollup hours in [from, to) the what-if can read from its rollups: each hour's newest
-- recorded build (rollup_builds) and its newest build whose what-if rollups are complete
-- (rollup_whatif_builds, 0 if none). They differ while the what-if's rebuild of the hour is
-- in flight or failed, and for hours built before migration 0012: the what-if reads such
-- an hour from the line items instead.
-- Parameters: from, to, from, to.
SELECT bucket, newest, whatif_newest
FROM
(
    SELECT bucket, max(build) AS newest
    FROM {db}.rollup_builds
    WHERE bucket >= ? AND bucket < ?
    GROUP BY bucket
) AS b
ANY LEFT JOIN
(
    SELECT bucket, max(build) AS whatif_newest
    FROM {db}.rollup_whatif_builds
    WHERE bucket >= ? AND bucket < ?
    GROUP BY bucket
) AS c USING (bucket)
ORDER BY bucket
