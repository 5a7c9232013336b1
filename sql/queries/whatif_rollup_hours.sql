-- The rollup hours in [from, to) the what-if can read from its rollups: each hour's newest
-- recorded build, the workflows rollup_builds counted for it and those its
-- rollup_whatif_cohorts_hourly rows hold. They differ for an hour built before migration
-- 0012 (or by a build without the what-if tables): the what-if reads that hour from the
-- line items instead.
-- Parameters: from, to, from, to.
SELECT bucket, newest, built_workflows, cohort_workflows
FROM
(
    SELECT bucket, max(build) AS newest, argMax(workflows, build) AS built_workflows
    FROM {db}.rollup_builds
    WHERE bucket >= ? AND bucket < ?
    GROUP BY bucket
) AS b
ANY LEFT JOIN
(
    SELECT bucket, build AS newest, sum(workflows) AS cohort_workflows
    FROM {db}.rollup_whatif_cohorts_hourly
    WHERE bucket >= ? AND bucket < ?
    GROUP BY bucket, build
) AS c USING (bucket, newest)
ORDER BY bucket
