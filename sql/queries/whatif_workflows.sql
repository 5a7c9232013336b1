-- Workflow types with workflows over [from, to) of workflow start time, for `unitcost
-- whatif` without --workflow. The bounds on `day` (the start's date, a day of margin for
-- the server's time zone) let ClickHouse skip the parts of other days; `start_time` is exact.
-- Parameters: from, to, from, to, tenant ('' = all), tenant.
SELECT name AS workflow, count() AS workflows
FROM {db}.workflows FINAL
WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1
  AND start_time >= ? AND start_time < ? AND (? = '' OR tenant = ?)
GROUP BY workflow
ORDER BY workflow
