"""The feed is applied by one applier per shard of the sessions, each with its own cursor: side by
side they apply every change exactly once, and a shard held up (its lock taken, or a crash
between the shards' commits) holds back neither the other shard nor the result once it goes on."""

import psycopg
import pytest

from tests.common.servers import serve
from tests.integration.trends.conftest import change
from tests.integration.trends.test_erasure import Feed
from trends_svc import projection, store_feed
from trends_svc.app import create_app

PAGE = 7  # small pages: each catch-up reads several, with the read-ahead


@pytest.fixture
def persistence_feed():
    feed = Feed()
    with serve(feed.app) as url:
        feed.url = url
        yield feed


@pytest.fixture
def trends_app(app_config, persistence_feed, monkeypatch):
    monkeypatch.setattr(projection, "PAGE_SIZE", PAGE)
    app = create_app({**app_config, "persistence_url": persistence_feed.url})
    yield app
    app.extensions["db_pool"].close()


def shard_of(conn, session_id: str) -> int:
    return conn.execute(
        f"SELECT {store_feed.SHARD_OF.format('%(id)s::uuid')} AS shard", {"id": session_id}
    ).fetchone()["shard"]


def a_stream(persistence_feed) -> list[dict]:
    """30 inserts over three teams and weeks, 10 of them moved to another team, 5 deleted."""
    inserts = [change(team=f"t{i % 3}", days_ago=1 + i % 15) for i in range(30)]
    moves = [
        change(team="moved", days_ago=3, operation="update", session_id=item["session_id"])
        for item in inserts[:10]
    ]
    deletes = [change(operation="delete", session_id=item["session_id"]) for item in inserts[25:]]
    persistence_feed.put(*inserts, *moves, *deletes)
    return [*inserts, *moves, *deletes]


def rollups_as_summed(conn) -> dict:
    """Every rollup summed over the shards, as its readers see it."""
    with conn.transaction():
        return {
            table: sorted(
                tuple(row.values())
                for row in conn.execute(
                    f"SELECT {key}, sum(sessions)::int AS n, round(sum(sentiment_sum)::numeric, 6) "
                    f"FROM {table} GROUP BY {key} ORDER BY {key}"
                ).fetchall()
            )
            for table, key in (
                ("engineer_weekly", "engineer_code, week, root_cause"),
                ("team_weekly", "team, region, week, root_cause"),
                ("team_language_weekly", "team, region, week, language, root_cause"),
            )
        }


def rollups_from_the_projection(conn) -> dict:
    """The same sums computed from the projected sessions."""
    week = "date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date"
    with conn.transaction():
        return {
            table: sorted(
                tuple(row.values())
                for row in conn.execute(
                    f"SELECT {key}, count(*)::int AS n, round(sum(sentiment_score)::numeric, 6) "
                    f"FROM (SELECT *, {week} AS week, coalesce(region, '') AS region_key "
                    f"FROM sessions) s {extra} GROUP BY {key} ORDER BY {key}"
                ).fetchall()
            )
            for table, key, extra in (
                ("engineer_weekly", "engineer_code, week, root_cause", ""),
                ("team_weekly", "team, region_key, week, root_cause", ""),
                (
                    "team_language_weekly",
                    "team, region_key, week, language, root_cause",
                    "CROSS JOIN LATERAL unnest(languages) AS language",
                ),
            )
        }


def shard_cursors(conn) -> dict[int, tuple[str, int]]:
    with conn.transaction():
        rows = conn.execute("SELECT shard, cursor, applied FROM feed_state ORDER BY shard")
        return {row["shard"]: (row["cursor"], row["applied"]) for row in rows.fetchall()}


def test_the_shards_side_by_side_apply_every_change_once(trends_app, conn, persistence_feed):
    stream = a_stream(persistence_feed)
    by_shard = [shard_of(conn, item["session_id"]) for item in stream]
    progress = projection.catch_up_side_by_side(
        trends_app.extensions["db_pool"], trends_app.extensions["feed"], max_pages=100
    )
    assert progress.applied == len(stream) == 45
    assert progress.caught_up
    last = persistence_feed.items[-1]["cursor"]
    assert shard_cursors(conn) == {
        shard: (last, by_shard.count(shard)) for shard in store_feed.SHARDS
    }
    assert all(by_shard.count(shard) > 0 for shard in store_feed.SHARDS)
    assert rollups_as_summed(conn) == rollups_from_the_projection(conn)
    with conn.transaction():
        assert conn.execute("SELECT count(*) AS n FROM sessions").fetchone()["n"] == 25
    # each rollup row counts the sessions of one shard only
    with conn.transaction():
        mixed = conn.execute(
            f"SELECT count(*) AS n FROM sessions s JOIN team_weekly w ON w.team = s.team "
            f"AND w.week = date_trunc('week', s.analysed_at AT TIME ZONE 'UTC')::date "
            f"AND w.root_cause = s.root_cause AND w.region = coalesce(s.region, '') "
            f"WHERE w.shard <> {store_feed.SHARD_OF.format('s.session_id')} "
            f"AND NOT EXISTS (SELECT 1 FROM team_weekly o WHERE o.team = w.team AND "
            f"o.week = w.week AND o.root_cause = w.root_cause AND o.region = w.region "
            f"AND o.shard = {store_feed.SHARD_OF.format('s.session_id')})"
        ).fetchone()["n"]
    assert mixed == 0


def test_a_held_shard_holds_back_neither_the_other_nor_the_end_result(
    trends_app, conn, database_url, persistence_feed
):
    stream = a_stream(persistence_feed)
    held = 0
    others = [item for item in stream if shard_of(conn, item["session_id"]) != held]
    feed = trends_app.extensions["feed"]
    with (
        psycopg.connect(database_url, options="-c search_path=trends") as holder,
        holder.transaction(),
    ):
        holder.execute(
            "SELECT pg_advisory_xact_lock(%s::int4, %s::int4)", [store_feed.FEED_LOCK, held]
        )
        progress = projection.catch_up(conn, feed, lock_wait=0)
        assert progress.busy and not progress.caught_up
        assert progress.applied == len(others)
        cursors = shard_cursors(conn)
        assert cursors[held] == ("", 0)
        assert cursors[1 - held][0] == persistence_feed.items[-1]["cursor"]
        # as far as every shard has come: the held one's place
        with conn.transaction():
            assert store_feed.feed_state(conn)["cursor"] == ""
    progress = projection.catch_up(conn, feed, lock_wait=0)
    assert progress.applied == len(stream) - len(others)
    assert progress.caught_up
    with conn.transaction():
        assert store_feed.feed_state(conn)["cursor"] == persistence_feed.items[-1]["cursor"]
        assert store_feed.feed_state(conn)["applied"] == len(stream)
    assert rollups_as_summed(conn) == rollups_from_the_projection(conn)


def test_a_crash_between_the_shards_commits_loses_and_repeats_nothing(
    trends_app, conn, persistence_feed
):
    """One shard applied a few pages further than the other when the worker stopped: each goes on
    from its own cursor."""
    stream = a_stream(persistence_feed)
    feed = trends_app.extensions["feed"]
    with projection.ThreadPoolExecutor(max_workers=1) as reader:
        pages = projection.SharedPages(feed, reader)
        ahead = projection.catch_up_shard(conn, pages, 1, max_pages=3)
    assert ahead.applied > 0 and not ahead.caught_up
    progress = projection.catch_up_side_by_side(
        trends_app.extensions["db_pool"], feed, max_pages=100
    )
    assert ahead.applied + progress.applied == len(stream)
    assert rollups_as_summed(conn) == rollups_from_the_projection(conn)
    assert {cursor for cursor, _ in shard_cursors(conn).values()} == {
        persistence_feed.items[-1]["cursor"]
    }
