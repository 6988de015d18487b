"""deploy/kubernetes matches the code: every manifest is a schema-valid Kubernetes object, every
variable it sets is a real setting (secrets only by secretKeyRef), the probes hit routes the app
serves, the commands parse with the real CLI, and every container has resources and runs as the
image's non-root user. No cluster runs here: the kustomization's files are read as plain YAML."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices, SecretStr

from reporunner.platform.api.app import create_app
from reporunner.platform.cli import build_parser
from reporunner.platform.cli.serve import cmd_migrate, cmd_serve, cmd_worker
from reporunner.platform.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KUBE_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to fit
SECRET_NAME = "reporunner"


# --- reading ----------------------------------------------------------------------------------


def _kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    return data


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name in _kustomization()["resources"]:
        docs.extend(d for d in yaml.safe_load_all((KUBE / name).read_text()) if d is not None)
    return docs


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def _containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, spec in _pod_specs(docs):
        for container in spec["containers"]:
            yield name, container


def _setting_env_names() -> dict[str, str]:
    """Variable name -> field name, from the Settings class itself (its aliases, else the
    ``REPORUNNER_`` prefix)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[str(alias.choices[0])] = field_name
        else:
            names[f"{prefix}{field_name}".upper()] = field_name
    return names


def _secret_env_names() -> set[str]:
    """Settings that are secrets: every ``SecretStr`` field, and the two URLs (they carry the
    database and Redis passwords)."""
    names = {"DATABASE_URL", "REDIS_URL"}
    for env, field_name in _setting_env_names().items():
        annotation = Settings.model_fields[field_name].annotation
        if annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ()):
            names.add(env)
    return names


def _configmap(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = _one(docs, "ConfigMap", "reporunner-config")["data"]
    return data


def _env_of(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every variable the container gets: its ``env`` entries and the ConfigMaps it loads."""
    env = {e["name"]: e for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        data = _one(docs, "ConfigMap", ref)["data"]
        env.update({k: {"name": k, "value": v} for k, v in data.items() if k not in env})
    return env


def _secret_violations(docs: list[dict[str, Any]]) -> list[str]:
    """Where a secret is written into the manifests instead of referenced from the Secret."""
    secrets = _secret_env_names()
    problems = [f"a Secret object {d['metadata']['name']}" for d in docs if d["kind"] == "Secret"]
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            problems += [f"ConfigMap has {k}" for k in doc.get("data", {}) if k in secrets]
    for workload, container in _containers(docs):
        for entry in container.get("env", []):
            if entry["name"] not in secrets:
                continue
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if "value" in entry or ref is None or ref.get("name") != SECRET_NAME:
                problems.append(f"{workload}: {entry['name']} is not a secretKeyRef")
    return problems


# --- the files --------------------------------------------------------------------------------


def test_the_kustomization_lists_every_manifest() -> None:
    files = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(_kustomization()["resources"]) == files
    assert (ROOT / "deploy").is_dir()


def test_every_document_is_a_kubernetes_object_valid_against_the_schema() -> None:
    docs = _documents()
    kinds = {d["kind"] for d in docs}
    assert {"ConfigMap", "Deployment", "Job", "Service"} <= kinds
    for doc in docs:
        assert doc["apiVersion"]
        assert doc["kind"]
        assert doc["metadata"]["name"]
        # strict: an unknown or misspelt field (e.g. `readinesProbe`) is an error
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_the_schema_check_catches_a_bad_manifest() -> None:
    api = copy.deepcopy(_one(_documents(), "Deployment", "reporunner-api"))
    container = api["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBE_VERSION, strict=True)
    api = copy.deepcopy(_one(_documents(), "Deployment", "reporunner-api"))
    api["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBE_VERSION, strict=True)


# --- settings ---------------------------------------------------------------------------------


def test_every_variable_set_is_a_setting() -> None:
    docs = _documents()
    known = set(_setting_env_names())
    assert {"DATABASE_URL", "REDIS_URL", "REPORUNNER_SECRET_KEY", "REPORUNNER_ENV"} <= known
    for workload, container in _containers(docs):
        unknown = set(_env_of(docs, container)) - known
        assert unknown == set(), f"{workload} sets variables no setting reads: {unknown}"


def test_every_workload_gets_the_services_the_key_and_production() -> None:
    docs = _documents()
    workloads = {name for name, _ in _containers(docs)}
    assert workloads == {"reporunner-api", "reporunner-worker", "reporunner-migrate"}
    for workload, container in _containers(docs):
        env = _env_of(docs, container)
        for name in ("DATABASE_URL", "REDIS_URL", "REPORUNNER_SECRET_KEY"):
            # unset URLs would start an embedded PostgreSQL/Redis inside the pod
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert not ref.get("optional", False), f"{workload}: {name} must not be optional"
        assert env["REPORUNNER_ENV"]["value"] == "production"
        assert env["REPORUNNER_DATA_DIR"]["value"] == "/data"


def test_the_configmap_loads_as_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _setting_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in _configmap(_documents()).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/reporunner")
    monkeypatch.setenv("REDIS_URL", "redis://:p@redis:6379/0")
    monkeypatch.setenv("REPORUNNER_SECRET_KEY", "a" * 44)
    settings = load_settings()
    assert settings.env == "production"
    assert settings.migrate_on_start is False  # the Job migrates, not every API replica
    assert str(settings.data_dir) == "/data"


def test_secrets_come_only_by_reference() -> None:
    docs = _documents()
    assert _secret_violations(docs) == []
    secrets = _secret_env_names()
    assert {"REPORUNNER_SECRET_KEY", "REPORUNNER_METRICS_TOKEN"} <= secrets


@pytest.mark.parametrize(
    "tamper",
    ["literal value", "configmap", "secret object", "other secret"],
)
def test_a_secret_written_into_the_manifests_is_caught(tamper: str) -> None:
    docs = copy.deepcopy(_documents())
    worker = _one(docs, "Deployment", "reporunner-worker")
    env = worker["spec"]["template"]["spec"]["containers"][0]["env"]
    if tamper == "literal value":
        env[0] = {"name": "DATABASE_URL", "value": "postgresql://u:hunter2@db/x"}
    elif tamper == "configmap":
        _configmap(docs)["REPORUNNER_METRICS_TOKEN"] = "hunter2"
    elif tamper == "secret object":
        docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    else:
        env[0]["valueFrom"]["secretKeyRef"]["name"] = "somewhere-else"
    assert _secret_violations(docs) != []


def test_compose_and_kubernetes_give_the_same_variables() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    docs = _documents()
    kube = {name: set(_env_of(docs, c)) for name, c in _containers(docs)}
    for service, workload in (
        ("api", "reporunner-api"),
        ("worker", "reporunner-worker"),
        ("migrate", "reporunner-migrate"),
    ):
        assert set(compose[service]["environment"]) <= kube[workload], service


# --- commands, probes, ports ------------------------------------------------------------------


def test_the_commands_parse_with_the_real_cli() -> None:
    docs = _documents()
    containers = {name: c for name, c in _containers(docs)}
    handlers = {
        "reporunner-migrate": cmd_migrate,
        "reporunner-worker": cmd_worker,
        "reporunner-api": cmd_serve,
    }
    assert containers["reporunner-migrate"]["command"] == ["reporunner", "migrate"]
    assert containers["reporunner-worker"]["command"] == ["reporunner", "worker"]
    for workload, handler in handlers.items():
        command = containers[workload]["command"]
        assert command[0] == "reporunner"
        args = build_parser().parse_args(command[1:])
        assert args.handler is handler, workload
    api = build_parser().parse_args(containers["reporunner-api"]["command"][1:])
    assert api.no_worker
    assert api.no_migrate
    assert api.host == "0.0.0.0"
    job = _one(docs, "Job", "reporunner-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


def _served_routes() -> dict[str, dict[str, Any]]:
    """Path -> the handler's ``opt`` of every GET route of the real app."""
    settings = load_settings(
        database_url="postgresql://user:password@127.0.0.1:1/unused",
        redis_url="redis://127.0.0.1:1",
    )
    routes: dict[str, dict[str, Any]] = {}
    for route in create_app(settings).routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in (getattr(handler, "http_methods", None) or ()):
                routes[route.path] = dict(handler.opt)
    return routes


def test_probes_hit_public_routes_the_app_serves_on_the_container_port() -> None:
    docs = _documents()
    api = _one(docs, "Deployment", "reporunner-api")["spec"]["template"]["spec"]["containers"][0]
    routes = _served_routes()
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    command = api["command"]
    serve_port = int(command[command.index("--port") + 1])
    exposed = re.search(r"^EXPOSE (\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert exposed is not None
    assert ports == {"http": serve_port}
    assert serve_port == int(exposed.group(1))
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = api[kind]["httpGet"]
        assert probe["path"] in routes, f"{kind}: the app serves no GET {probe['path']}"
        assert routes[probe["path"]].get("public") is True, f"{kind}: needs no API key"
        assert probe["port"] in ports
    service = _one(docs, "Service", "reporunner")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_selectors_pick_their_own_pods() -> None:
    docs = _documents()
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] == "Deployment"
    }
    for doc in docs:
        if doc["kind"] == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pods[doc["metadata"]["name"]].items()
    for kind in ("Service", "PodDisruptionBudget"):
        for doc in (d for d in docs if d["kind"] == kind):
            spec = doc["spec"]["selector"]
            selector = spec.get("matchLabels", spec)
            matched = [name for name, labels in pods.items() if selector.items() <= labels.items()]
            assert matched == ["reporunner-api"], f"{kind} {doc['metadata']['name']}: {matched}"


# --- image, resources, security ----------------------------------------------------------------


def test_one_image_tagged_with_the_version() -> None:
    docs = _documents()
    images = {c["image"] for _, c in _containers(docs)}
    assert images == {"reporunner"}
    (entry,) = _kustomization()["images"]
    version = re.search(
        r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert version is not None
    assert entry["name"] == "reporunner"
    assert entry["newTag"] == version.group(1)


def test_resources_and_a_non_root_user_everywhere() -> None:
    docs = _documents()
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"useradd .*--uid (\d+)", dockerfile)
    assert uid is not None
    assert f"USER {uid.group(1)}" in dockerfile
    for workload, spec in _pod_specs(docs):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, workload
        assert pod["runAsUser"] == int(uid.group(1)), workload
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(requests), workload
            assert "memory" in container["resources"]["limits"], workload
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]


def test_no_pod_needs_a_shared_volume() -> None:
    """Uploaded originals live in PostgreSQL (or S3): API and worker pods share no disk, so
    they scale and move freely (no ReadWriteMany claim)."""
    docs = _documents()
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    for workload, spec in _pod_specs(docs):
        assert not [v for v in spec.get("volumes", []) if "persistentVolumeClaim" in v], workload


def test_workers_outlast_their_shutdown_grace() -> None:
    docs = _documents()
    grace = float(_configmap(docs)["REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS"])
    worker = _one(docs, "Deployment", "reporunner-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > grace
    assert "ports" not in worker["containers"][0]
