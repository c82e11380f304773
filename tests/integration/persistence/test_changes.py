"""GET /internal/changes: ordered, complete, and never skipping a change that commits late."""

import json
import threading
import time

import psycopg

from tests.common.builders import make_session


def follow(api, cursor="", limit=1000):
    response = api.call(
        "GET", f"/api/v1/internal/changes?after={cursor}&limit={limit}", "changes_reader"
    )
    assert response.status_code == 200, response.json
    return response.json


def follow_until(api, cursor, count, timeout=30.0):
    """The next page once it holds `count` changes, as a follower polls: the feed shows only
    transactions older than every one still running on the server, and the tests share their
    server with the platform's services (a trends worker's transaction can hold a page back)."""
    deadline = time.monotonic() + timeout
    while len((page := follow(api, cursor))["items"]) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return page


def test_feed_lists_inserts_and_deletes_in_order(api):
    first, second = make_session(engineer="Eva Lind"), make_session(engineer="Eva Lind")
    for body in (first, second):
        api.as_agent("POST", "/api/v1/sessions", json=body)
    page = follow_until(api, "", 2)
    assert [(c["operation"], c["session_id"]) for c in page["items"]] == [
        ("insert", first["session_id"]),
        ("insert", second["session_id"]),
    ]
    assert page["items"][0]["session"]["root_cause"] == "knowledge_gap"
    assert "content_hash" not in page["items"][0]["session"]

    code = page["items"][0]["session"]["engineer_code"]
    api.as_admin("DELETE", f"/api/v1/engineers/{code}")
    later = follow_until(api, page["next_cursor"], 2)
    assert sorted(c["operation"] for c in later["items"]) == ["delete", "delete"]
    assert all(c["session"] is None for c in later["items"])
    end = follow(api, later["next_cursor"])
    assert end["items"] == [] and end["next_cursor"] == later["next_cursor"]
    assert {key: end["head"][key] for key in ("pending", "pending_since")} == {
        "pending": 0,
        "pending_since": None,
    }


def test_a_page_says_how_many_changes_follow_it(api):
    """The feed's head: a follower knows its lag without reading to the end."""
    bodies = [make_session(engineer="Head Count") for _ in range(5)]
    api.as_agent("POST", "/api/v1/sessions/batch", json={"items": bodies[:3]})  # one log row
    for body in bodies[3:]:
        api.as_agent("POST", "/api/v1/sessions", json=body)
    whole = follow_until(api, "", 5)
    assert (whole["head"]["pending"], whole["head"]["pending_since"]) == (0, None)
    first = follow(api, "", limit=2)  # inside the batch's log row
    assert len(first["items"]) == 2
    assert first["head"]["pending"] == 3
    assert first["head"]["pending_since"] == whole["items"][2]["changed_at"]
    assert follow(api, first["next_cursor"], limit=3)["head"]["pending"] == 0


def test_bad_cursor_is_a_400(api):
    response = api.call("GET", "/api/v1/internal/changes?after=abc", "changes_reader")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "after"


def _insert_raw(conn, session_id):
    conn.execute(
        """INSERT INTO persistence.sessions (session_id, engineer_code, case_ref, team,
           record_type, parts, languages, sentiment_score, tone_label, root_cause,
           confidence_analysis, confidence_overall, confidence_rating, analysed_at, content_hash)
           VALUES (%s, 'eng_x', 'case_x', 'emea-1', 'single', 1, '{EN}', 0.5, 'neutral', 'other',
                   0.5, 0.5, 'Medium', now(), '\\x00')""",
        [session_id],
    )


def held_back_below(page, horizon: int) -> bool:
    held_back = page["head"]["held_back_from"]
    return held_back is not None and int(held_back) < horizon


def test_change_committed_late_is_not_skipped(api, database_url):
    """A transaction that started first but commits last must still reach a follower."""
    slow = psycopg.connect(database_url)
    fast = psycopg.connect(database_url, autocommit=True)
    try:
        _insert_raw(slow, "00000000-0000-0000-0000-000000000001")  # open, not committed
        _insert_raw(fast, "00000000-0000-0000-0000-000000000002")  # committed at once

        page = follow(api)
        assert page["items"] == []  # held back while the older transaction is in flight
        # the head says so: the fast write committed below `committed_below` and is held back
        # (behind the slow transaction)
        slow_txid = int(slow.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
        horizon = int(page["head"]["committed_below"])
        assert slow_txid < int(page["head"]["held_back_from"]) < horizon

        slow.commit()
        page = follow_until(api, page["next_cursor"], 2)
        deadline = time.monotonic() + 30  # other transactions of the shared server end too
        while held_back_below(follow(api, page["next_cursor"]), horizon):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert [c["session_id"] for c in page["items"]] == [
            "00000000-0000-0000-0000-000000000001",
            "00000000-0000-0000-0000-000000000002",
        ]
    finally:
        slow.close()
        fast.close()


def test_follower_misses_nothing_under_concurrent_writers(api, database_url):
    committed: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + 3

    def writer(number: int) -> None:
        with psycopg.connect(database_url) as conn:
            count = 0
            while time.monotonic() < stop:
                count += 1
                session_id = f"00000000-0000-0000-{number:04d}-{count:012d}"
                _insert_raw(conn, session_id)
                time.sleep(0.001 * (count % 7))  # hold the transaction open a little
                conn.commit()
                with lock:
                    committed.append(session_id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    cursor = ""
    while any(thread.is_alive() for thread in threads):
        page = follow(api, cursor)
        seen.extend(c["session_id"] for c in page["items"])
        cursor = page["next_cursor"]
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 30
    while len(seen) < len(committed) and time.monotonic() < deadline:  # the rest, as it shows
        page = follow(api, cursor)
        seen.extend(c["session_id"] for c in page["items"])
        cursor = page["next_cursor"]

    assert len(committed) > 100
    assert len(seen) == len(set(seen))
    assert set(seen) == set(committed)


def test_a_batch_is_one_log_row_and_the_feed_pages_through_it(api, database_url):
    items = [make_session(engineer="Ola Berg") for _ in range(7)]
    response = api.as_agent("POST", "/api/v1/sessions/batch", json={"items": items})
    assert response.status_code == 200, response.json
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT cardinality(session_ids) FROM persistence.change_log"
        ).fetchall()
    assert rows == [(7,)]

    whole = follow_until(api, "", 7)
    ids = [change["session_id"] for change in whole["items"]]
    assert sorted(ids) == sorted(item["session_id"] for item in items)
    txid, change_id, _ = whole["items"][0]["cursor"].split(".")
    assert [change["cursor"] for change in whole["items"]] == [
        f"{txid}.{change_id}.{n}" for n in range(1, 8)
    ]
    paged, cursor = [], ""
    for _ in range(4):  # pages of 3 end inside the row, then at its end, then empty
        page = follow(api, cursor, limit=3)
        paged += [change["session_id"] for change in page["items"]]
        cursor = page["next_cursor"]
    assert paged == ids
    assert cursor == f"{txid}.{change_id}.7"


def test_a_cursor_of_an_earlier_release_continues_after_its_log_row(api, database_url):
    """Two-part cursors (`<txid>.<change_id>`) were issued for log rows of one session each."""
    with psycopg.connect(database_url) as conn:
        old = "00000000-0000-0000-0000-000000000001"
        _insert_raw(conn, old)
        conn.execute(  # the row as an earlier release wrote it, one session, no session_ids
            "UPDATE persistence.change_log SET session_id = session_ids[1], session_ids = NULL"
        )
        conn.commit()
        _insert_raw(conn, "00000000-0000-0000-0000-000000000002")
        conn.commit()
    first = follow_until(api, "", 2)
    assert [c["session_id"] for c in first["items"]] == [
        old,
        "00000000-0000-0000-0000-000000000002",
    ]
    legacy = first["items"][0]["cursor"].rsplit(".", 1)[0]  # as the earlier release wrote it
    assert first["items"][0]["cursor"] == f"{legacy}.1"
    rest = follow(api, legacy)
    assert [c["session_id"] for c in rest["items"]] == ["00000000-0000-0000-0000-000000000002"]
    assert follow(api, rest["next_cursor"])["items"] == []
    assert follow(api, first["items"][1]["cursor"].rsplit(".", 1)[0])["items"] == []


def test_a_follower_may_ask_for_some_session_fields_only(api):
    """`fields` keeps a page small for a follower that needs a few fields (the trends worker)."""
    body = make_session(engineer="Few Fields")
    api.as_agent("POST", "/api/v1/sessions", json=body)
    whole = follow_until(api, "", 1)
    page = api.call(
        "GET",
        "/api/v1/internal/changes?after=&fields=team,root_cause,analysed_at",
        "changes_reader",
    )
    assert page.status_code == 200, page.json
    item = page.json["items"][0]
    assert item["session"] == {
        name: whole["items"][0]["session"][name] for name in ("team", "root_cause", "analysed_at")
    }
    assert {key: value for key, value in item.items() if key != "session"} == {
        key: value for key, value in whole["items"][0].items() if key != "session"
    }


def test_an_unknown_session_field_is_a_422_naming_the_parameter(api):
    response = api.call(
        "GET", "/api/v1/internal/changes?after=&fields=team,content_hash", "changes_reader"
    )
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"].startswith("fields"), response.json


def test_the_page_query_is_planned_for_each_cursor_never_prepared(database_url):
    """psycopg prepares a statement on its fifth run, and PostgreSQL may then keep a generic plan
    that ignores where the cursor stands; behind a bulk delete, during an import, such a plan
    ran into the statement timeout (503) where the query planned for its cursor took 0.27 s."""
    from psycopg.rows import dict_row

    from persistence_svc import store_changes

    with psycopg.connect(
        database_url, options="-c search_path=persistence", row_factory=dict_row
    ) as conn:
        for _ in range(8):
            with conn.transaction():
                store_changes.page_json(conn, (0, 0, 0), "", limit=100, scan_rows=100)
        prepared = conn.execute(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%%change_log%%'"
        ).fetchone()
    assert prepared["n"] == 0


def rows_page(api, database_url, cursor="", limit=1000):
    """A page as rows (session_id, team, root_cause), read back by PostgreSQL, and its summary."""
    response = api.call(
        "GET",
        f"/api/v1/internal/changes?after={cursor}&limit={limit}&fields=team,root_cause&format=rows",
        "changes_reader",
    )
    assert response.status_code == 200, response.json
    assert response.headers["Content-Type"] == "application/octet-stream"
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMPORARY TABLE page (session_id uuid, team text, root_cause text)")
        with conn.cursor() as cursor, cursor.copy("COPY page FROM STDIN (FORMAT binary)") as copy:
            copy.write(response.get_data())
        rows = conn.execute("SELECT session_id::text, team, root_cause FROM page").fetchall()
    return json.loads(response.headers["X-Feed-Page"]), sorted(rows, key=lambda row: row[0])


def test_a_page_as_rows_names_each_session_once_as_its_last_change_left_it(api, database_url):
    """format=rows: the page's net rows in binary COPY format (what the trends worker copies into
    its tables), with the page's summary in a header, agreeing with the same page as JSON."""
    kept, erased = make_session(engineer="Rows Kept"), make_session(engineer="Rows Erased")
    for body in (kept, erased):
        api.as_agent("POST", "/api/v1/sessions", json=body)
    inserted = follow_until(api, "", 2)
    code = inserted["items"][1]["session"]["engineer_code"]
    api.as_admin("DELETE", f"/api/v1/engineers/{code}")
    whole = follow_until(api, "", 3)
    summary, rows = rows_page(api, database_url)
    assert summary == {
        "changes": 3,
        "next_cursor": whole["next_cursor"],
        "applied_through": whole["items"][-1]["changed_at"],
        "head": whole["head"],
    }
    kept_row = (kept["session_id"], kept["team"], "knowledge_gap")
    erased_row = (erased["session_id"], None, None)  # its last change in the page deleted it
    assert rows == sorted([kept_row, erased_row])
    # A page that ends inside the inserts: only what it holds, and the cursor after it.
    first, first_rows = rows_page(api, database_url, limit=1)
    assert (first["changes"], first["next_cursor"], first_rows) == (
        1,
        whole["items"][0]["cursor"],
        [kept_row],
    )
    rest, rest_rows = rows_page(api, database_url, cursor=first["next_cursor"])
    assert (rest["changes"], rest_rows) == (2, [erased_row])
    end, end_rows = rows_page(api, database_url, cursor=whole["next_cursor"])
    assert (end["changes"], end["next_cursor"], end["applied_through"], end_rows) == (
        0,
        whole["next_cursor"],
        None,
        [],
    )


def test_an_unknown_page_format_is_a_422_naming_the_parameter(api):
    response = api.call("GET", "/api/v1/internal/changes?after=&format=csv", "changes_reader")
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == "format", response.json
