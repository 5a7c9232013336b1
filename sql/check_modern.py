"""Checks unitcost's schema and every shipped query on current ClickHouse.

CI runs the same SQL on Debian's ClickHouse 18.16 through the Go suites; this runs it on the
current engine, in-process through chdb-core, against the same fixture and the same
expected figures. Usage (make test does this):

    go run ./cmd/unitcost migrate --print --clickhouse.database unitcost_check > m.json
    .unitcost/venv/bin/python sql/check_modern.py m.json

Every file in sql/queries/ must have parameters below: a new query fails this check until
it is given some.
"""
import json
import pathlib
import sys
import tempfile

from chdb import session

DB = "unitcost_check"
TRACE_ID = "00000000000000000000000000000001"
HERE = pathlib.Path(__file__).resolve().parent

# Parameters for each shipped query, in order of their '?' placeholders.
WINDOW = ("2026-11-01 00:00:00", "2026-11-02 00:00:00")
HOUR = ("2026-11-01 10:00:00", "2026-11-01 11:00:00")
PARAMS = {
    "unit_economics": [*WINDOW, *WINDOW, "", "", WINDOW[0], *WINDOW, *WINDOW, "", ""],
    "workflow_cost": [TRACE_ID, TRACE_ID, "acme", "acme"],
    "rollup_dirty": [["2026-11-01 10:00:00"]],
    # series by day ({bucket} = toStartOfDay(bucket)), from build 7 of the fixture's hour
    "series": [["2026-11-01 00:00:00", "qa", 1, 1, 2, 1, 20001234567, 20001234567, 20000000000, 1000, 0, 600, 1000, 3, 0]],
    "series_costs": [["2026-11-01 00:00:00", "qa", "human_review", "", "", 1, 0, 20000000000, 0, 0],
                     ["2026-11-01 00:00:00", "qa", "model_tokens", "", "", 2, 0, 1234567, 1000, 0]],
    "span_issues": ["2026-11-01", "2026-11-02", "", ""],
    "context_share": [*WINDOW, *WINDOW, "acme", "acme", WINDOW[0], *WINDOW, *WINDOW, "acme", "acme"],
    "breakdown": [WINDOW[0], *WINDOW, *WINDOW, "", ""],
    "breakdown_rollups": [*WINDOW, *WINDOW, "", "", "qa", "qa", "", "", "", "", "", "", "", "", "", ""],
    "top_workflows": [*WINDOW, *WINDOW, "", "", WINDOW[0], *WINDOW, *WINDOW, "", "", 10],
    "reported_cost": [WINDOW[0], *WINDOW, *WINDOW, "", ""],
    "workflow": [TRACE_ID, "acme", "acme"],
    "workflow_lines": [TRACE_ID, TRACE_ID, "acme", "acme"],
    "rollup_dirty": [0, 0],
    # the rollup rebuilds (INSERT ... SELECT) of the fixture's hour, run before the reads
    "rollup_workflows": [7, *HOUR, HOUR[0], *HOUR],
    "rollup_costs": [7, HOUR[0], *HOUR],
    "rollup_top": [7, *HOUR, HOUR[0], *HOUR],
    "top_workflows_rollups": [*WINDOW, *WINDOW, "", "", 10],
    # the fixture workflow's service and environment are rolled up: filter on them
    "series": [*WINDOW, *WINDOW, "", "", "", "", "", "", "", "", "api", "api", "prod", "prod"],
    "series_costs": [*WINDOW, *WINDOW, "", "", "qa", "qa", "", "", "", "", "api", "api", "", "", "", ""],
    "whatif_workflows": [*WINDOW, *WINDOW, "", ""],
    "whatif_lines": [WINDOW[0], *WINDOW, *WINDOW, "qa", "", ""],
    "whatif_cohorts": [*WINDOW, *WINDOW, "qa", "", "", WINDOW[0], *WINDOW, *WINDOW, "qa", "acme", "acme"],
    # the what-if's rollups (migration 0012): the fixture's hour rebuilt under build 7, then
    # read back over the pairs whatif_rollup_hours.sql finds complete ({builds} below)
    "rollup_whatif_calls": [7, HOUR[0], *HOUR],
    "rollup_whatif_cohorts": [7, *HOUR, HOUR[0], *HOUR],
    "whatif_rollup_hours": [*WINDOW, *WINDOW],
    "whatif_hours": [*WINDOW, *WINDOW, "qa", "qa", "", ""],
    "whatif_calls_rollups": ["qa", "qa", "", ""],
    "whatif_cohorts_rollups": ["", "", "acme", "acme"],
    "whatif_workflows_rollups": ["", ""],
    # the alert history of the fixture's hour, as acme reads it (globex's and the all-tenant
    # rule's rows are not acme's)
    "alert_readings": [*WINDOW, "acme", "acme", "qa", "qa", "cost_per_completed", "cost_per_completed"],
    "alert_events": [*WINDOW, "acme", "acme", "", "", "", ""],
}

# Expected rows, the same figures the Go suite asserts on 18.16 (pipeline/store tests):
# one completed workflow with two validated outputs, a model call written twice (a
# replay: one row after FINAL) and a late $20 review.
EXPECT = {
    "unit_economics": [["qa", 1, 1, 2, 1, 20001234567, 20001234567, 20000000000, 0]],  # the mix line costs 0
    "workflow_cost": [["human_review", 1, 20000000000, 0], ["model_tokens", 2, 1234567, 0]],
    "context_share": [["qa", 1, 100, 600, 200, 50, 50, 1000]],
    # breakdown by component ({dim} = component)
    "breakdown": [["human_review", 1, 20000000000, 0, 0, 0], ["model_tokens", 2, 1234567, 1000, 0, 0]],
    "breakdown_rollups": [["human_review", 1, 20000000000, 0, 0, 0], ["model_tokens", 2, 1234567, 1000, 0, 0]],
    "top_workflows": [[TRACE_ID, "qa", "acme", "completed", "status OK", "s-1", "u-1", "2026-11-01 10:00:00", 3, 20001234567]],
    # the same row from the rollup's top list of the fixture's hour
    "top_workflows_rollups": [[TRACE_ID, "qa", "acme", "completed", "status OK", "s-1", "u-1", "2026-11-01 10:00:00", 3, 20001234567]],
    # computed vs reported: the model line reported $0.0012 and was computed at $0.001234567
    "workflow": [[TRACE_ID, "qa", "acme", "", "completed", "status OK", 2, "2026-11-01 10:00:00", 0, "s-1", "u-1", "api", "prod",
                  ["tier"], ["gold"]]],
    "reported_cost": [["", "", "USD", 3, 1, 20001234567, 1234567, 1200000, 34567]],
    "workflow_lines": [
        ["0000000000000002", "model_tokens", "", "", "", 0, 0, 0, 1234567, 1, "", "", "", "2026-11-01 10:00:00", 0, 0, []],
        ["0000000000000003", "human_review", "", "", "", 0, 0, 0, 20000000000, 1, "", "", "", "2026-11-01 10:00:00", 0, 0, []],
        ["0000000000000004", "model_tokens", "", "", "", 1000, 0, 0, 0, 1, "", "", "", "2026-11-01 10:00:00", 0, 0, []],
    ],
    "rollup_dirty": [["2026-11-01 10:00:00"]],
    # series by day ({bucket} = toStartOfDay(bucket)), from build 7 of the fixture's hour
    "series": [["2026-11-01 00:00:00", "qa", 1, 1, 2, 1, 20001234567, 20001234567, 20000000000, 1000, 0, 600, 1000, 3, 0]],
    "series_costs": [["2026-11-01 00:00:00", "qa", "human_review", "", "", 1, 0, 20000000000, 0, 0],
                     ["2026-11-01 00:00:00", "qa", "model_tokens", "", "", 2, 0, 1234567, 1000, 0]],
    "span_issues": [["acme", "input tokens N negative; clamped to N", 1, "input tokens -5 negative; clamped to 0", TRACE_ID]],
    "whatif_workflows": [["qa", 1]],
    # the fixture's two model lines, one group each (the second has the token mix)
    "whatif_lines": [
        ["acme", "2026-11-01", "", "", "", "", "", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1234567, 0, 0],
        ["acme", "2026-11-01", "", "", "", "", "", 1000, 0, 0, 0, 0, 0, 0, 0, 0, 100, 600, 200, 50, 50, 1, 0, 0, 0],
    ],
    # one cohort (routing: one step "" on model ""), reviewed once at $20, 2 validated outputs
    "whatif_cohorts": [["\t\t", 1, 1, 0, 0, 1, 2, 4, 1, 20000000000, 4e20, 0, 0, 1234567, 2, 0]],
    # the hour's newest build (7), recorded for the what-if's rollups too
    "whatif_rollup_hours": [["2026-11-01 10:00:00", 7, 7]],
    "whatif_hours": [["2026-11-01 10:00:00"]],
    "whatif_workflows_rollups": [["qa", 1]],
    # the same two model lines summed: the one with tokens (kind 0: regular, input 1000 from
    # min to max) and the one without (kind 1), the replayed line once
    "whatif_calls_rollups": [
        ["qa", "acme", "2026-11-01", "", "", "", "", "", 0, 0, 1, 0, 0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 1000],
        ["qa", "acme", "2026-11-01", "", "", "", "", "", 1, 0, 1, 1234567, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    # the same cohort as whatif_cohorts, from the rollup hour
    "whatif_cohorts_rollups": [["qa", "\t\t", 1, 1, 0, 0, 1, 2, 4, 1, 20000000000, 4e20, 0, 0, 1234567, 2, 0]],
    # the hour evaluated twice: the newest evaluation's row only (ReplacingMergeTree, FINAL)
    "alert_readings": [["acme", "cpc/qa", "2026-11-01 10:00:00", "2026-11-01 10:59:00", "cpc", "cost_per_completed", "qa", 1, "",
                        0.31, 0.25, 0.01, 0.2, 0.3, 24, 40, 24, "median_mad", "", "", "", "", ""]],
    # the firing written twice (a restart re-sent it), then its resolution
    "alert_events": [["acme", "cpc/qa", "2026-11-01 10:59:00", "firing", "2026-11-01 10:59:00", "2026-11-01 10:00:00", "cpc",
                      "cost_per_completed", "qa", "warning", 0.31, 0.25, 0.01, 0.2, 0.3, 24, 40, "cpc: rose", "model_tokens moved most"],
                     ["acme", "cpc/qa", "2026-11-01 10:59:00", "resolved", "2026-11-01 11:59:00", "2026-11-01 11:00:00", "cpc",
                      "cost_per_completed", "qa", "warning", 0.25, 0.25, 0.01, 0.2, 0.3, 0, 40, "RESOLVED cpc", ""]],
}

LINE = ("tenant, day, start_time, trace_id, span_id, parent_span_id, workflow_id, component, "
        "cost_nano, priced, version")
WF = ("tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name, outcome, validated_outputs, version, "
      "outcome_source, session, end_user, service, environment, label_keys, label_values")
TRACE = TRACE_ID
REBUILDS = ["rollup_workflows", "rollup_top", "rollup_whatif_calls", "rollup_whatif_cohorts", "rollup_costs"]


def literal(v):
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(v)


def bind(sql, params):
    """Replaces each ? outside quoted string literals and -- comments with the next
    parameter, as clickhouse-go does."""
    out, i, quoted, it = [], 0, False, iter(params)
    used = 0
    while i < len(sql):
        c = sql[i]
        if quoted:
            out.append(c)
            if c == "\\" and i + 1 < len(sql):
                out.append(sql[i + 1])
                i += 1
            elif c == "'":
                quoted = False
        elif sql.startswith("--", i):  # a line comment: copy it whole
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif c == "'":
            quoted = True
            out.append(c)
        elif c == "?":
            try:
                out.append(literal(next(it)))
            except StopIteration:
                raise ValueError(f"more placeholders than the {len(params)} parameters") from None
            used += 1
        else:
            out.append(c)
        i += 1
    if used != len(params):
        raise ValueError(f"{used} placeholders, {len(params)} parameters")
    return "".join(out)


def rows(s, sql):
    res = s.query(sql + "\nSETTINGS output_format_json_quote_64bit_integers = 0", "JSONCompact")
    return json.loads(res.bytes() or b'{"data": []}')["data"] if res.bytes() else []


def old_rows(s):
    """Rows as written before migration 0007 (no auth_tenant): a workflow of acme with a
    line of its own, a late line labelled 'default' (its root was not remembered), and a
    line of a workflow not written yet. 0007 gives each its workflow's tenant, else its own."""
    s.query(f"INSERT INTO {DB}.workflows (tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, "
            f"name, outcome, validated_outputs, version) VALUES ('acme', '2026-10-01', '2026-10-01 10:00:00', "
            f"'2026-10-01 10:00:02', 'old1', 'old1', '00000000000000f1', 'qa', 'completed', 1, 1)")
    for span, tenant, wf in (("f1", "acme", "old1"), ("f2", "default", "old1"), ("f3", "globex", "old2")):
        s.query(f"INSERT INTO {DB}.line_items ({LINE}) VALUES ('{tenant}', '2026-10-01', '2026-10-01 10:00:00', "
                f"'{wf}', '00000000000000{span}', '', '{wf}', 'model_tokens', 1, 1, 1)")


def alert_history(s):
    """The alert history fixture (migration 0009), written as `unitcost alert` does: every
    evaluation of an hour, and a transition re-sent after a restart."""
    cols = ("tenant, alert_key, bucket, evaluated_at, rule, metric, workflow, usable, reason, current, baseline, spread, "
            "band_low, band_high, deviation_pct, samples, baseline_hours, method, version")
    for tenant, evaluated, current, version in (("acme", "10:01:00", 0.26, 1), ("acme", "10:59:00", 0.31, 2),
                                                ("globex", "10:59:00", 9, 2), ("", "10:59:00", 1, 2)):
        s.query(f"INSERT INTO {DB}.alert_readings ({cols}) VALUES ('{tenant}', 'cpc/qa', '2026-11-01 10:00:00', "
                f"'2026-11-01 {evaluated}', 'cpc', 'cost_per_completed', 'qa', 1, '', {current}, 0.25, 0.01, 0.2, 0.3, "
                f"{round(100 * (current - 0.25) / 0.25)}, 40, 24, 'median_mad', {version})")
    cols = ("tenant, alert_key, starts_at, status, at, bucket, rule, metric, workflow, severity, current, baseline, spread, "
            "band_low, band_high, deviation_pct, samples, summary, explanation, version")
    for tenant, status, at, current, dev, summary, expl, version in (
            ("acme", "firing", "10:59:00", 0.31, 24, "cpc: rose", "model_tokens moved most", 1),
            ("acme", "firing", "10:59:00", 0.31, 24, "cpc: rose", "model_tokens moved most", 2),
            ("globex", "firing", "10:59:00", 9, 3500, "cpc: rose", "", 1),
            ("acme", "resolved", "11:59:00", 0.25, 0, "RESOLVED cpc", "", 3)):
        s.query(f"INSERT INTO {DB}.alert_events ({cols}) VALUES ('{tenant}', 'cpc/qa', '2026-11-01 10:59:00', '{status}', "
                f"'2026-11-01 {at}', toStartOfHour(toDateTime('2026-11-01 {at}')), 'cpc', 'cost_per_completed', 'qa', 'warning', "
                f"{current}, 0.25, 0.01, 0.2, 0.3, {dev}, 40, '{summary}', '{expl}', {version})")


def main():
    migrations = json.loads(pathlib.Path(sys.argv[1]).read_text())
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        s = session.Session(tmp)
        s.query(f"CREATE DATABASE IF NOT EXISTS {DB}")
        for m in migrations:
            if m["version"] == 7:
                old_rows(s)
            for i, st in enumerate(m["statements"]):
                try:
                    s.query(st)
                    passed += 1
                except Exception as e:  # noqa: BLE001 - report every failure, then exit 1
                    failed += 1
                    print(f"FAIL migration {m['version']:04d}_{m['name']} statement {i + 1}: {e}")
        got = rows(s, f"SELECT span_id, tenant, auth_tenant FROM {DB}.line_items ORDER BY span_id")
        want = [["00000000000000f1", "acme", "acme"], ["00000000000000f2", "default", "acme"],
                ["00000000000000f3", "globex", "globex"]]
        if got != want:
            failed += 1
            print(f"FAIL migration 0007 copy of line items: got {got}, want {want}")
        else:
            passed += 1
        for t in ("line_items", "workflows", "span_issues"):
            s.query(f"TRUNCATE TABLE {DB}.{t}")
        s.query(f"INSERT INTO {DB}.workflows ({WF}) VALUES "
                f"('acme', '2026-11-01', '2026-11-01 10:00:00', '2026-11-01 10:00:02', '{TRACE}', '{TRACE}', "
                f"'0000000000000001', 'qa', 'completed', 2, 1, 'status OK', 's-1', 'u-1', 'api', 'prod', ['tier'], ['gold'])")
        for version in (1, 2):  # the same line written twice
            s.query(f"INSERT INTO {DB}.line_items ({LINE}, provider_cost_nano, has_provider_cost, provider_cost_currency) VALUES "
                    f"('acme', '2026-11-01', '2026-11-01 10:00:00', '{TRACE}', '0000000000000002', '0000000000000001', "
                    f"'{TRACE}', 'model_tokens', 1234567, 1, {version}, 1200000, 1, 'USD')")
        s.query(f"INSERT INTO {DB}.line_items ({LINE}) VALUES "
                f"('acme', '2026-11-01', '2026-11-01 10:00:00', '{TRACE}', '0000000000000003', '0000000000000001', "
                f"'{TRACE}', 'human_review', 20000000000, 1, 3)")
        s.query(f"INSERT INTO {DB}.line_items ({LINE}, input_tokens, system_tokens, context_tokens, history_tokens, "
                f"user_tokens, other_tokens) VALUES ('acme', '2026-11-01', '2026-11-01 10:00:00', '{TRACE}', "
                f"'0000000000000004', '0000000000000001', '{TRACE}', 'model_tokens', 0, 1, 1, 1000, 100, 600, 200, 50, 50)")
        for version in (1, 2):
            s.query(f"INSERT INTO {DB}.span_issues (tenant, day, trace_id, span_id, workflow_id, step, issue, version) "
                    f"VALUES ('acme', '2026-11-01', '{TRACE}', '0000000000000002', '{TRACE}', 'chat', "
                    f"'input tokens -5 negative; clamped to 0', {version})")
        alert_history(s)
        # the rollup rebuilds first (they write), then their build is recorded as Go does
        results = {}
        queries = sorted((HERE / "queries").glob("*.sql"), key=lambda q: (q.stem not in REBUILDS, q.stem))
        for q in queries:
            name = q.stem
            if name not in PARAMS:
                failed += 1
                print(f"FAIL query {name}: no parameters in sql/check_modern.py; add them with the expected rows")
                continue
            try:
                sql = q.read_text().replace("{db}", DB).replace("{dim}", "component").replace("{filter}", "")
                sql = sql.replace("{bucket}", "toStartOfDay(bucket)").replace("{hours}", f"toDateTime('{HOUR[0]}')")
                sql = sql.replace("{builds}", "(0, 0), (1793527200, 7)")  # HOUR[0] in Unix seconds
                got = rows(s, bind(sql, PARAMS[name]))
                results[name] = got
                if name == REBUILDS[-1]:
                    s.query(f"INSERT INTO {DB}.rollup_builds (bucket, build, built_at, workflows) "
                            f"VALUES ('{HOUR[0]}', 7, now(), 1)")
                    s.query(f"INSERT INTO {DB}.rollup_whatif_builds (bucket, build, built_at) VALUES ('{HOUR[0]}', 7, now())")
                if name in EXPECT and got != EXPECT[name]:
                    failed += 1
                    print(f"FAIL query {name}: got {got}, want {EXPECT[name]}")
                else:
                    passed += 1
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL query {name}: {e}")
        # the what-if's two paths agree on current ClickHouse as on 18.16: the rollup's summed
        # calls add up the call-by-call groups (per tenant, day, step, operation, provider,
        # model, service tier: lines, cost, unpriced, errors, every token count), and its
        # cohorts are the call-by-call cohorts
        def summed(rows_, key, vals):
            out = {}
            for r in rows_:
                k = tuple(r[i] for i in key)
                out[k] = [a + b for a, b in zip(out.get(k, [0] * len(vals)), [r[i] for i in vals])]
            return out
        # whatif_lines: tenant..service_tier 0-6, tokens 7-15 (mix 16-20), lines 21, cost 22, unpriced 23, errors 24
        per_call = summed(results.get("whatif_lines", []), range(7), [21, 22, 23, 24, *range(7, 16)])
        # whatif_calls_rollups: workflow 0, line_tenant..service_tier 1-7, kind 8, bucket 9, lines..errors 10-13, tokens 14-22
        rolled = summed(results.get("whatif_calls_rollups", []), range(1, 8), [*range(10, 14), *range(14, 23)])
        cohorts_rolled = [r[1:] for r in results.get("whatif_cohorts_rollups", [])]
        if per_call != rolled or not per_call or cohorts_rolled != results.get("whatif_cohorts"):
            failed += 1
            print(f"FAIL what-if rollups vs call by call: calls {rolled} vs {per_call}; cohorts {cohorts_rolled} vs {results.get('whatif_cohorts')}")
        else:
            passed += 1
        # a breakdown by a label, with the dimension filter store.Filter renders
        sql = ((HERE / "queries" / "breakdown.sql").read_text().replace("{db}", DB)
               .replace("{dim}", "label_values[indexOf(label_keys, 'tier')]")
               .replace("{filter}", " AND service = ? AND end_user = ? AND label_values[indexOf(label_keys, ?)] = ?"))
        want = [["gold", 3, 20001234567, 1000, 0, 0]]
        got = rows(s, bind(sql, [WINDOW[0], *WINDOW, *WINDOW, "", "", "api", "u-1", "tier", "gold"]))
        if got != want:
            failed += 1
            print(f"FAIL query breakdown by label:tier filtered: got {got}, want {want}")
        else:
            passed += 1
        # the Grafana dashboard's panel queries (deploy/grafana/sql), time macros expanded as
        # the ClickHouse plugin does; they must run and return the fixture's hour
        for q in sorted((HERE.parent / "deploy" / "grafana" / "sql").glob("*.sql")):
            sql = (q.read_text().replace("$__fromTime", f"toDateTime('{WINDOW[0]}')")
                   .replace("$__toTime", f"toDateTime('{WINDOW[1]}')").replace("unitcost.", DB + "."))
            try:
                got = rows(s, sql)
                # the composition's two components; the alert history's three transitions (the
                # table and the annotations)
                want = {"composition": 2, "alerts": 3, "alert_markers": 3}.get(q.stem, 1)
                if len(got) != want:
                    failed += 1
                    print(f"FAIL grafana panel {q.stem}: got {got}, want {want} rows")
                else:
                    passed += 1
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL grafana panel {q.stem}: {e}")
        version = rows(s, "SELECT version()")[0][0]
    print(f"chdb (ClickHouse {version}): {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
