-- Normalisation issues over [from, to) of span start day, most frequent first.
-- Parameters: from, to (Date), tenant ('' = all), tenant. Numbers in the issue text are
-- replaced by N, so "input tokens -5 negative" and "input tokens -7 negative" group together.
SELECT
    tenant,
    replaceRegexpAll(issue, '(^|[ (=])-?[0-9][0-9.eE+]*', '\\1N') AS kind,
    count() AS spans,
    any(issue) AS example,
    any(trace_id) AS example_trace
FROM {db}.span_issues FINAL
WHERE day >= toDate(?) AND day < toDate(?) AND (? = '' OR tenant = ?)
GROUP BY tenant, kind
ORDER BY spans DESC, tenant, kind
