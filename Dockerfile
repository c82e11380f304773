# One image for every process of the platform; the command picks the process:
#   gunicorn "gateway.app:create_app()" | "persistence_svc.app:create_app()" | …
#   python -m trends_svc.worker        | python -m shared.migrations
# Build: docker build -t cr-assistant-platform .

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY gateway ./gateway
COPY persistence_svc ./persistence_svc
COPY trends_svc ./trends_svc
COPY qa_svc ./qa_svc
COPY dashboard_svc ./dashboard_svc
COPY mcp_svc ./mcp_svc
COPY devstack ./devstack
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CR_ENV=production \
    DATA_DIR=/var/lib/cr
RUN groupadd --system --gid 10001 cr \
 && useradd --system --uid 10001 --gid cr --home-dir /var/lib/cr --create-home cr
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /var/lib/cr
EXPOSE 8000 8001 8002 8003 8050
# Services keep idle connections open 75 s (gunicorn's default is 2 s), so the gateway's pooled
# connections are not closed under it as it reuses them (devstack/stack.py does the same locally).
ENV GUNICORN_CMD_ARGS="--keep-alive 75"
# One worker per process, whatever the service (threads or greenlets inside it): scale with replicas,
# so that each process's /metrics holds all of its counts and its limits count once.
# Each service sets its own command; this default runs the gateway. The gateway faces clients, so
# its worker is evented (shared/server.py): a connection still sending its request header holds no
# thread, and one that has not sent a whole header within HEADER_TIMEOUT seconds (default 20; also
# its idle keep-alive, whatever --keep-alive says) is closed. The services behind it run gthread.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-class", "shared.server.HeaderTimeoutWorker", \
     "--workers", "1", "--graceful-timeout", "10", "--error-logfile", "-", \
     "gateway.app:create_app()"]
