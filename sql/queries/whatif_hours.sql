-- The hours in [from, to) in which workflows of one type ('' = any) started (every stored
-- version, no FINAL: a superset), for the what-if to tell the hours it must read from the
-- line items (no complete rollup build) from those with nothing to read (an hour without
-- workflows is never built: it counts as empty, as long as none arrives in it). The bounds on `day` (a day
-- of margin) let ClickHouse skip the parts of other days.
-- Parameters: from, to, from, to, workflow ('' = any), workflow, tenant ('' = all), tenant.
SELECT DISTINCT toStartOfHour(start_time) AS hour
FROM {db}.workflows
WHERE day >= toDate(?) - 1 AND day <= toDate(?) + 1
  AND start_time >= ? AND start_time < ? AND (? = '' OR name = ?) AND (? = '' OR tenant = ?)
ORDER BY hour
