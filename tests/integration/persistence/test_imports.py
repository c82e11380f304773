"""POST /imports and GET /sessions/export: per-row reports, dry runs, idempotent re-imports,
round trips, formula neutralisation and the file-level refusals."""

import csv
import io
import json
import time
import uuid

import psycopg
import pytest

from devstack.testing import internal_headers
from persistence_svc import imports, store
from persistence_svc.app import create_app
from persistence_svc.imports import chunks, loading, workers
from tests.common.builders import make_session
from tests.integration.persistence.conftest import SignedClient

HEADER = (
    "session_id,engineer,case_number,team,region,record_type,parts,languages,sentiment_score,"
    "root_cause,confidence_analysis,confidence_translation,ended_at,notes\r\n"
)


def csv_line(**overrides):
    values = {
        "session_id": str(uuid.uuid4()),
        "engineer": "Anna Berg",
        "case_number": "12345678",
        "team": "emea-1",
        "region": "EMEA",
        "record_type": "single",
        "parts": "1",
        "languages": "EN;DE",
        "sentiment_score": "0.4",
        "root_cause": "knowledge_gap",
        "confidence_analysis": "0.9",
        "confidence_translation": "0.8",
        "ended_at": "2026-03-01T10:00:00+00:00",
        "notes": "",
    }
    values.update(overrides)
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values.values())
    return buffer.getvalue()


def post_import(api, body, content_type="text/csv", query=""):
    data = body.encode(errors="surrogateescape") if isinstance(body, str) else body
    return api.as_admin("POST", f"/api/v1/imports{query}", data=data, content_type=content_type)


def count_sessions(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM persistence.sessions").fetchone()[0]


# Chunks of 1,000 records (the file is one chunk), and chunks so small that blank lines, a quoted
# line break and the repeated id fall on chunk boundaries (the file is cut into blocks by row).
@pytest.mark.parametrize("chunk_rows", [imports.CHUNK_ROWS, 1, 2, 3])
def test_nasty_csv_reports_exact_rows_and_loads_the_good_ones(
    api, database_url, monkeypatch, chunk_rows
):
    monkeypatch.setattr(chunks, "CHUNK_ROWS", chunk_rows)
    duplicate = str(uuid.uuid4())
    body = (
        "\ufeff"
        + HEADER
        + "".join(
            [
                csv_line(engineer="José Núñez"),  # row 2: ok, accents
                csv_line(notes="Line one\nline two, still the same cell"),  # row 3 (two lines): ok
                "\r\n",  # row 4: empty line
                csv_line(sentiment_score="high"),  # row 5: wrong type
                csv_line(root_cause="Bad Luck"),  # row 6: unknown category
                csv_line(session_id=duplicate),  # row 7: ok
                csv_line(
                    session_id=duplicate, sentiment_score="0.9"
                ),  # row 8: same id, other content
                csv_line(
                    root_cause="Knowledge Gap", record_type="Series", parts="3", languages="de"
                ),  # 9
                csv_line(case_number="1234"),  # row 10: bad case number
                csv_line(notes="mail me at someone@example.com"),  # row 11: personal data
            ]
        )
    )
    response = post_import(api, body)
    assert response.status_code == 200, response.json
    report = response.json
    assert (report["status"], report["total"], report["processed"]) == ("completed", 9, 9)
    assert (report["inserted"], report["unchanged"], report["rejected"]) == (4, 0, 5)
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (5, "sentiment_score", "invalid"),
        (6, "root_cause", "invalid"),
        (8, "session_id", "conflict"),
        (10, "case_number", "invalid"),
        (11, "notes", "personal_data"),
    ]
    assert report["errors"][3]["message"] == "Invalid Case Number — please enter exactly 8 digits."
    assert "someone@example.com" not in json.dumps(report)
    assert count_sessions(database_url) == 4
    series = api.as_admin("GET", "/api/v1/sessions?root_cause=knowledge_gap&limit=10").json["items"]
    assert any(item["record_type"] == "series" and item["languages"] == ["DE"] for item in series)


def test_dry_run_reports_but_writes_nothing(api, database_url):
    body = HEADER + csv_line() + csv_line(parts="9")
    report = post_import(api, body, query="?dry_run=true").json
    assert (report["dry_run"], report["inserted"], report["rejected"]) == (True, 1, 1)
    assert count_sessions(database_url) == 0


def test_reimport_is_idempotent(api, database_url):
    body = HEADER + csv_line() + csv_line()
    assert post_import(api, body).json["inserted"] == 2
    again = post_import(api, body).json
    assert (again["inserted"], again["unchanged"], again["rejected"]) == (0, 2, 0)
    assert count_sessions(database_url) == 2


def test_chunks_that_mix_stored_and_new_sessions_load_each_new_one_once(
    api, database_url, monkeypatch
):
    """A chunk straight into the table (all new so far) and chunks that meet stored sessions (the
    direct COPY is undone, the staging merge follows), in one import: every new session is stored
    once and in the change feed once, the stored ones are unchanged, other content is a conflict."""
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 3)
    stored = [csv_line() for _ in range(4)]
    assert post_import(api, HEADER + stored[0] + stored[2]).json["inserted"] == 2
    clash = stored[2].replace("knowledge_gap", "process_issue")
    new = [csv_line() for _ in range(6)]
    # chunk 1 all new (straight into the table), 2 meets a stored session, 3 a conflict
    body = HEADER + "".join([*new[:3], new[3], stored[0], new[4], clash, new[5], stored[3]])
    report = post_import(api, body).json
    assert (report["inserted"], report["unchanged"], report["rejected"]) == (7, 1, 1)
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (8, "session_id", "conflict")
    ]
    with psycopg.connect(database_url) as conn:
        sessions, changes, distinct = conn.execute(
            "SELECT (SELECT count(*) FROM persistence.sessions), count(*), count(DISTINCT id)"
            " FROM persistence.change_log, unnest(session_ids) AS id"
        ).fetchone()
    assert (sessions, changes, distinct) == (9, 9, 9)


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_export_then_import_round_trips_unchanged(api, fmt):
    bodies = [
        make_session(notes='=HYPERLINK("http://x")'),
        make_session(languages=["EN"], confidence_translation=None, region=None, started_at=None),
        make_session(),
    ]
    for body in bodies:
        assert api.as_agent("POST", "/api/v1/sessions", json=body).status_code == 201
    exported = api.as_admin("GET", f"/api/v1/sessions/export?format={fmt}")
    assert exported.status_code == 200
    disposition = exported.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="sessions-') and disposition.endswith(
        f'.{fmt}"'
    )
    content_type = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}
    report = post_import(api, exported.data, content_type=content_type[fmt]).json
    assert (report["total"], report["unchanged"], report["inserted"], report["rejected"]) == (
        3,
        3,
        0,
        0,
    ), report


def test_formula_cells_are_neutralised_in_csv_and_restored_on_import(api):
    # Free text is where a formula can hide (labels such as model or agent_version cannot start
    # with one: tests/integration/persistence/test_input_edges.py).
    exported_as = {
        "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
        "-1+2": "'-1+2",
        "'=kept": "''=kept",  # its own apostrophe survives the round trip
    }
    for notes in exported_as:
        stored = api.as_agent("POST", "/api/v1/sessions", json=make_session(notes=notes))
        assert stored.status_code == 201, stored.json
    text = api.as_admin("GET", "/api/v1/sessions/export?format=csv").get_data(as_text=True)
    cells = {row["notes"] for row in csv.DictReader(io.StringIO(text))}
    assert cells == set(exported_as.values())
    assert post_import(api, text).json["unchanged"] == 3


def test_json_and_ndjson_and_multipart_uploads(api):
    records = [make_session(), make_session()]
    assert post_import(api, json.dumps(records), "application/json").json["inserted"] == 2
    lines = "\n".join(json.dumps(make_session()) for _ in range(2)) + "\n\n"
    assert post_import(api, lines, "application/x-ndjson").json["inserted"] == 2
    multipart = api.as_admin(
        "POST",
        "/api/v1/imports",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO((HEADER + csv_line()).encode()), "old.csv")},
    )
    assert multipart.json["inserted"] == 1


def test_records_that_are_not_objects_are_rejected_rows(api):
    report = post_import(api, json.dumps([make_session(), 5, "x"]), "application/json").json
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (3, "not_an_object"),
        (4, "not_an_object"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('[{"team": "x"', "application/json", 400),
        ("not json at all\n", "application/x-ndjson", 400),
        ("", "text/csv", 400),
        ('session_id,team\r\n"unclosed,emea-1\r\n', "text/csv", 400),
        # lines without quotes, which the scan reads without the csv module: still refused
        (HEADER + csv_line() * 3 + "\udcff,x\r\n", "text/csv", 400),  # not UTF-8
        (HEADER + csv_line() + "x" * 200_000 + "\r\n", "text/csv", 400),  # over csv's field limit
        ("colour,size\r\nred,1\r\n", "text/csv", 422),
        (HEADER.replace("notes", "favourite_food") + csv_line(), "text/csv", 422),
        ("a;b", "application/vnd.ms-excel", 415),
    ],
)
def test_unreadable_files_write_nothing(api, database_url, body, content_type, status):
    response = post_import(api, body, content_type)
    assert response.status_code == status, response.json
    assert response.headers["Content-Type"] == "application/problem+json"
    assert count_sessions(database_url) == 0


def test_file_that_breaks_after_good_records_writes_nothing(api, database_url):
    body = json.dumps([make_session(), make_session()])[:-1] + ', {"team": '
    assert post_import(api, body, "application/json").status_code == 400
    assert count_sessions(database_url) == 0


def test_oversize_file_gets_413(app_config):
    app = create_app({**app_config, "max_import_bytes": 300})
    try:
        response = app.test_client().post(
            "/api/v1/imports",
            data=(HEADER + csv_line() * 3).encode(),
            content_type="text/csv",
            headers=internal_headers("admin"),
        )
        assert response.status_code == 413
    finally:
        app.extensions["db_pool"].close()


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_a_file_of_too_many_records_gets_413_and_writes_nothing(app_config, database_url, fmt):
    app = create_app({**app_config, "max_import_rows": 3})
    try:
        client = app.test_client()

        def post(count: int):
            if fmt == "csv":
                body = HEADER + "".join(csv_line() for _ in range(count))
                media_type = "text/csv"
            elif fmt == "json":
                body, media_type = (
                    json.dumps([make_session() for _ in range(count)]),
                    "application/json",
                )
            else:
                body = "\n".join(json.dumps(make_session()) for _ in range(count))
                media_type = "application/x-ndjson"
            return client.post(
                "/api/v1/imports",
                data=body.encode(),
                content_type=media_type,
                headers=internal_headers("admin"),
            )

        refused = post(4)
        assert refused.status_code == 413, refused.json
        assert "3 records" in refused.json["detail"]
        assert count_sessions(database_url) == 0
        assert post(3).json["inserted"] == 3  # the limit itself is allowed
    finally:
        app.extensions["db_pool"].close()


def test_large_file_answers_202_and_reports_progress(app_config, database_url):
    app = create_app({**app_config, "import_async_bytes": 1000})
    try:
        client = app.test_client()
        body = HEADER + "".join(csv_line() for _ in range(2500))
        started = client.post(
            "/api/v1/imports",
            data=body.encode(),
            content_type="text/csv",
            headers=internal_headers("admin"),
        )
        assert started.status_code == 202
        location = started.headers["Location"]
        assert location == f"/api/v1/imports/{started.json['id']}"
        deadline = time.monotonic() + 60
        while True:
            report = client.get(location, headers=internal_headers("admin")).json
            if report["status"] != "running" or time.monotonic() > deadline:
                break
            assert report["processed"] <= report["total"] == 2500
            time.sleep(0.1)
        assert (report["status"], report["processed"], report["inserted"]) == (
            "completed",
            2500,
            2500,
        )
        assert count_sessions(database_url) == 2500
    finally:
        app.extensions["db_pool"].close()


def test_background_import_validated_by_worker_processes(app_config, database_url, monkeypatch):
    pools = []

    class CountedPool(workers.ProcessPoolExecutor):
        def __init__(self, workers, **options):
            pools.append(workers)
            super().__init__(workers, **options)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(workers, "POOLED_FROM_BYTES", 100_000)  # a quicker file
    app = create_app({**app_config, "import_async_bytes": 1000, "import_workers": 2})
    try:
        client = app.test_client()
        lines = [csv_line() for _ in range(5000)]
        lines[4321] = csv_line(root_cause="weather")
        repeat = lines[10]
        started = client.post(
            "/api/v1/imports",
            data=(HEADER + "".join(lines) + repeat).encode(),
            content_type="text/csv",
            headers=internal_headers("admin"),
        )
        assert started.status_code == 202
        deadline = time.monotonic() + 60
        while (
            report := client.get(
                started.headers["Location"], headers=internal_headers("admin")
            ).json
        )["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert report["status"] == "completed"
        assert (report["processed"], report["inserted"], report["unchanged"]) == (5001, 4999, 1)
        assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
            (4323, "root_cause", "invalid")  # record 4322 of the file, after the header
        ]
        assert count_sessions(database_url) == 4999
        assert pools == [2]
    finally:
        app.extensions["db_pool"].close()


def test_a_running_import_without_its_runner_is_reported_failed(api, database_url):
    """The row of an import whose process died stays `running`; its runner lock is gone with
    the process's connection, so the next read says where it stopped."""
    orphan, alive = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for import_id in (orphan, alive):
            conn.execute(
                "INSERT INTO persistence.imports (import_id, status, dry_run, media_type, "
                "created_by, total, processed, inserted) "
                "VALUES (%s, 'running', false, 'text/csv', 'test', 5000, 3000, 3000)",
                (import_id,),
            )
        with psycopg.connect(database_url, autocommit=True) as runner:
            runner.execute("SET search_path TO persistence")
            store.lock_import(runner, alive)  # a live runner holds its lock
            still = api.as_admin("GET", f"/api/v1/imports/{alive}").json
            assert (still["status"], still["failure"]) == ("running", None)
        stopped = api.as_admin("GET", f"/api/v1/imports/{orphan}").json
        assert stopped["status"] == "failed"
        assert (stopped["processed"], stopped["inserted"]) == (3000, 3000)
        assert stopped["failure"].startswith("Stopped after 3000 records: the service running")
        assert "Import the same file again" in stopped["failure"]
        ended = api.as_admin("GET", f"/api/v1/imports/{alive}").json  # its runner is gone now
        assert ended["status"] == "failed"
        finished_at = conn.execute(
            "SELECT finished_at FROM persistence.imports WHERE import_id = %s", (orphan,)
        ).fetchone()[0]
        assert finished_at is not None


def test_imports_release_their_runner_lock(api, database_url):
    response = post_import(api, HEADER + csv_line() + csv_line())
    assert response.json["status"] == "completed"
    with psycopg.connect(database_url) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (store.IMPORT_LOCK_CLASS,),
        ).fetchone()[0]
    assert held == 0


def test_only_admins_import_and_managers_export_their_teams(api):
    for team in ("emea-1", "apac-2"):
        api.as_agent("POST", "/api/v1/sessions", json=make_session(team=team))
    assert (
        api.as_manager("POST", "/api/v1/imports", data=b"x", content_type="text/csv").status_code
        == 403
    )
    exported = api.as_manager("GET", "/api/v1/sessions/export?format=ndjson", team="emea-1")
    teams = {json.loads(line)["team"] for line in exported.get_data(as_text=True).splitlines()}
    assert teams == {"emea-1"}
    filtered = api.as_admin("GET", "/api/v1/sessions/export?format=ndjson&team=apac-2")
    assert {json.loads(line)["team"] for line in filtered.get_data(as_text=True).splitlines()} == {
        "apac-2"
    }


def test_unknown_import_id_is_404(api):
    assert api.as_admin("GET", f"/api/v1/imports/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(("configured", "started"), [(0, 1), (2, 1), (1, 0)])
def test_the_service_starts_the_workers_fork_server_unless_it_validates_alone(
    app_config, monkeypatch, configured, started
):
    calls = []
    monkeypatch.setattr(imports, "start_worker_server", lambda: calls.append(1))
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    app = create_app({**app_config, "import_workers": configured})
    app.extensions["db_pool"].close()
    assert len(calls) == started


def test_chunks_commit_without_waiting_for_the_flush_and_the_final_report_waits(
    app_config, database_url, monkeypatch
):
    """A chunk's transaction runs with synchronous_commit off; the final report's commit, which
    makes the whole import durable (WAL is flushed in order), waits as the database says (on
    here; the test server itself runs with it off)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        database = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    app = create_app(app_config)
    api = SignedClient(app.test_client())
    seen = []
    load_chunk, update_import = loading.load_chunk, store.update_import

    def setting(conn):
        return conn.execute("SELECT current_setting('synchronous_commit') AS value").fetchone()[
            "value"
        ]

    def spying_load_chunk(conn, *args, **kwargs):
        seen.append(("chunk", setting(conn)))
        return load_chunk(conn, *args, **kwargs)

    def spying_update_import(conn, import_id, report):
        seen.append((report["status"], setting(conn)))
        return update_import(conn, import_id, report)

    monkeypatch.setattr(loading, "load_chunk", spying_load_chunk)
    monkeypatch.setattr(store, "update_import", spying_update_import)
    response = post_import(api, HEADER + csv_line() + csv_line())
    assert response.status_code == 200, response.json
    assert response.json["inserted"] == 2
    assert seen[-3:] == [("chunk", "off"), ("running", "off"), ("completed", "on")]
    assert count_sessions(database_url) == 2
    app.extensions["db_pool"].close()
