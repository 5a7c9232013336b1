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
HERE = pathlib.Path(__file__).resolve().parent

# Parameters for each shipped query, in order of their '?' placeholders.
WINDOW = ("2026-11-01 00:00:00", "2026-11-02 00:00:00")
PARAMS = {
    "unit_economics": [*WINDOW, "", "", *WINDOW, "", ""],
    "workflow_cost": ["00000000000000000000000000000001", "acme", "acme"],
}

# Expected rows, the same figures the Go suite asserts on 18.16 (pipeline/store tests):
# one completed workflow with two validated outputs, a model call written twice (a
# replay: one row after FINAL) and a late $20 review.
EXPECT = {
    "unit_economics": [["qa", 1, 1, 2, 1, 20001234567, 20001234567, 20000000000, 0]],
    "workflow_cost": [["human_review", 1, 20000000000, 0], ["model_tokens", 1, 1234567, 0]],
}

LINE = ("tenant, day, start_time, trace_id, span_id, parent_span_id, workflow_id, component, "
        "cost_nano, priced, version")
WF = "tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name, outcome, validated_outputs, version"
TRACE = "00000000000000000000000000000001"


def literal(v):
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(v)


def bind(sql, params):
    parts = sql.split("?")
    if len(parts) - 1 != len(params):
        raise ValueError(f"{len(parts) - 1} placeholders, {len(params)} parameters")
    out = parts[0]
    for p, rest in zip(params, parts[1:]):
        out += literal(p) + rest
    return out


def rows(s, sql):
    res = s.query(sql, "JSONCompact")
    return json.loads(res.bytes() or b'{"data": []}')["data"] if res.bytes() else []


def main():
    migrations = json.loads(pathlib.Path(sys.argv[1]).read_text())
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        s = session.Session(tmp)
        s.query(f"CREATE DATABASE IF NOT EXISTS {DB}")
        for m in migrations:
            for i, st in enumerate(m["statements"]):
                try:
                    s.query(st)
                    passed += 1
                except Exception as e:  # noqa: BLE001 - report every failure, then exit 1
                    failed += 1
                    print(f"FAIL migration {m['version']:04d}_{m['name']} statement {i + 1}: {e}")
        s.query(f"INSERT INTO {DB}.workflows ({WF}) VALUES "
                f"('acme', '2026-11-01', '2026-11-01 10:00:00', '2026-11-01 10:00:02', '{TRACE}', '{TRACE}', "
                f"'0000000000000001', 'qa', 'completed', 2, 1)")
        for version in (1, 2):  # the same line written twice
            s.query(f"INSERT INTO {DB}.line_items ({LINE}) VALUES "
                    f"('acme', '2026-11-01', '2026-11-01 10:00:00', '{TRACE}', '0000000000000002', '0000000000000001', "
                    f"'{TRACE}', 'model_tokens', 1234567, 1, {version})")
        s.query(f"INSERT INTO {DB}.line_items ({LINE}) VALUES "
                f"('acme', '2026-11-01', '2026-11-01 10:00:00', '{TRACE}', '0000000000000003', '0000000000000001', "
                f"'{TRACE}', 'human_review', 20000000000, 1, 3)")
        queries = sorted((HERE / "queries").glob("*.sql"))
        for q in queries:
            name = q.stem
            if name not in PARAMS:
                failed += 1
                print(f"FAIL query {name}: no parameters in sql/check_modern.py; add them with the expected rows")
                continue
            try:
                got = rows(s, bind(q.read_text().replace("{db}", DB), PARAMS[name]))
                got = [[int(c) if isinstance(c, str) and c.lstrip("-").isdigit() else c for c in r] for r in got]
                if name in EXPECT and got != EXPECT[name]:
                    failed += 1
                    print(f"FAIL query {name}: got {got}, want {EXPECT[name]}")
                else:
                    passed += 1
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL query {name}: {e}")
        version = rows(s, "SELECT version()")[0][0]
    print(f"chdb (ClickHouse {version}): {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
