"""Example warehouse consumer: follow the session change feed and append it to NDJSON files.

Run inside the platform's network (it calls persistence_svc directly, with tokens signed by the
reporting connector's own key, which persistence lets read the change feed and nothing else):

    REPORTING_FEED_KEY=... PERSISTENCE_URL=http://persistence:8001 \\
        .venv/bin/python examples/follow_changes.py --out warehouse/ --state warehouse/cursor

Each change is one line: {"cursor", "operation", "session_id", "changed_at", "session"}. A delete is
a tombstone (the session is gone: erased or removed). The cursor is saved only after the lines it
covers are flushed, so a restart continues exactly where it stopped (at-least-once delivery;
`cursor` makes duplicates easy to drop).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from shared.config import load_settings
from shared.http import ServiceClient, service_client


def follow(client: ServiceClient, out_dir: Path, state: Path, *, once: bool) -> int:
    """Copy changes to `out_dir/changes-YYYYMMDD.ndjson` until caught up (and on, unless once)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cursor = state.read_text().strip() if state.exists() else ""
    copied = 0
    while True:
        page = client.get_json("/api/v1/internal/changes", params={"after": cursor, "limit": 1000})
        if page["items"]:
            target = out_dir / time.strftime("changes-%Y%m%d.ndjson")
            with target.open("a", encoding="utf-8") as handle:
                for change in page["items"]:
                    handle.write(json.dumps(change, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            copied += len(page["items"])
        cursor = page["next_cursor"]
        state.write_text(cursor)
        if not page["items"]:
            if once:
                return copied
            time.sleep(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--once", action="store_true", help="stop when caught up")
    args = parser.parse_args()
    client = service_client(load_settings(), "reporting", "persistence")
    print(f"copied {follow(client, args.out, args.state, once=args.once)} changes")


if __name__ == "__main__":
    main()
