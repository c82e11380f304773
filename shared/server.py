"""The gateway's gunicorn worker: gevent, so that a connection waiting for the rest of its request
holds no thread, and the whole request header due within HEADER_TIMEOUT seconds."""

from __future__ import annotations

import gevent
from gunicorn.workers.ggevent import GeventWorker

from shared.config import load_settings


class HeaderTimeoutWorker(GeventWorker):
    """gunicorn's gevent worker (`--worker-class shared.server.HeaderTimeoutWorker`). Each
    connection is a greenlet: one that trickles or stops mid-header costs no request thread, and
    /healthz answers beside thousands of them (`--worker-connections`, 1000 by default).

    gunicorn's async workers read each request header (the first one too, and the idle wait for
    the next one on a kept-alive connection) inside `timeout_ctx()`; here that deadline is
    HEADER_TIMEOUT for the whole header, however slowly its bytes arrive. When it passes, the
    connection is closed without an answer. Bodies are read by the application as it needs them.
    """

    def init_process(self) -> None:
        self.header_timeout = load_settings().header_timeout
        super().init_process()

    def timeout_ctx(self) -> gevent.Timeout:
        return gevent.Timeout(self.header_timeout, False)

    def run(self) -> None:
        """Serve until stopped, with the app's background loops (`background_loops`, each called
        with the app, e.g. the gateway's erasure retrier) as greenlets beside the requests; then
        close the app's database pool while gevent's hub still runs (left to interpreter exit,
        its threads, greenlets here, fail to join)."""
        extensions = getattr(self.wsgi, "extensions", {})
        loops = [gevent.spawn(loop, self.wsgi) for loop in extensions.get("background_loops", ())]
        try:
            super().run()
        finally:
            gevent.killall(loops)
            pool = getattr(self.wsgi, "extensions", {}).get("db_pool")
            if pool is not None:
                pool.close()
