"""`python -m mcp_svc [--host H] [--port N]`: serve mcp_svc with uvicorn (one process; it only
waits on the gateway, so one event loop carries many calls)."""

from __future__ import annotations

import argparse

import uvicorn

from mcp_svc.app import create_app
from shared.config import load_settings


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m mcp_svc", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.mcp_port)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,  # the JSON logging of shared.logging, configured by create_app
        access_log=False,  # mcp_svc writes its own access lines, without query strings
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
