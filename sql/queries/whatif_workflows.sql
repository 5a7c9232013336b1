-- Workflow types with workflows over [from, to) of workflow start time, for `unitcost
-- whatif` without --workflow. Parameters: from, to, tenant ('' = all), tenant.
SELECT name AS workflow, count() AS workflows
FROM {db}.workflows FINAL
WHERE start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?)
GROUP BY workflow
ORDER BY workflow
