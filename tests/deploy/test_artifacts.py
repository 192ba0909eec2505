"""Deployment artifacts checked offline (no Docker engine on CI): Dockerfiles, Compose file,
Prometheus config, Grafana dashboard, Kubernetes manifests."""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from serving.settings import REPO_ROOT
from tests.support.dashboard import DASHBOARD, PROMQL_METRIC, dashboard_expressions, dashboard_metric_names

SPECS = Path(__file__).parent / "specs"  # vendored: see specs/README.md
K8S = REPO_ROOT / "deploy" / "kubernetes"


def tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert path, f"{name} is not installed (make test installs it)"
    return path


@pytest.mark.parametrize("dockerfile", ["Dockerfile.api", "Dockerfile.vllm", "deploy/runpod/Dockerfile"])
def test_dockerfiles_pass_hadolint(dockerfile: str) -> None:
    result = subprocess.run([tool("hadolint"), "--no-color", dockerfile], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\n")
    assert subprocess.run([tool("hadolint"), str(bad)], capture_output=True).returncode != 0


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads((SPECS / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())
    with pytest.raises(jsonschema.ValidationError):  # the check can fail
        jsonschema.Draft7Validator(schema).validate({"services": {"api": {"restart": 3}}})


def test_compose_stack_is_wired() -> None:
    services = compose()["services"]
    assert {"vllm", "vllm-cpu", "api", "redis", "prometheus", "grafana"} <= set(services)
    assert services["vllm"]["profiles"] == ["gpu"] and services["vllm-cpu"]["profiles"] == ["cpu"]
    assert services["vllm-vision"]["profiles"] == ["gpu-vision"]
    assert services["vllm-vision"]["environment"]["MODEL"].endswith("google/medgemma-27b-it}")
    for variant in ("vllm", "vllm-cpu", "vllm-vision"):
        assert "vllm" in services[variant]["networks"]["backend"]["aliases"]
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                dependency_service = services[dependency]
                assert "healthcheck" in dependency_service or "build" in dependency_service, dependency
    assert "--appendonly" in services["redis"]["command"]


def networks_of(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks") or ["default"]
    return set(networks)


def test_compose_keeps_vllm_and_redis_on_an_internal_network_with_credentials() -> None:
    spec = compose()
    services = spec["services"]
    assert spec["networks"]["backend"]["internal"] is True
    for name in ("vllm", "vllm-cpu", "vllm-vision", "redis"):
        assert networks_of(services[name]) == {"backend"}, name
        assert "ports" not in services[name], f"{name} publishes a port"
    reaching_backend = {name for name, service in services.items() if "backend" in networks_of(service)}
    # The collector and Tempo take spans from the api and vLLM (Tempo also answers Grafana).
    assert reaching_backend == {
        "vllm", "vllm-cpu", "vllm-vision", "redis", "api", "prometheus", "otel-collector", "tempo"
    }  # fmt: skip
    assert networks_of(services["otel-collector"]) == {"backend"} and "ports" not in services["otel-collector"]
    published = {name for name, service in services.items() if "ports" in service}
    assert published == {"api", "prometheus", "grafana"}
    assert services["prometheus"]["ports"][0].startswith("${PROMETHEUS_BIND:-127.0.0.1}:")
    # Redis needs a password, which the api's REDIS_URL carries; vLLM an API key the api sends.
    assert "--requirepass" in services["redis"]["command"]
    assert services["api"]["environment"]["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    for name in ("vllm", "vllm-cpu", "vllm-vision", "api"):
        assert services[name]["environment"]["VLLM_API_KEY"].startswith("${VLLM_API_KEY:?"), name


def test_env_example_names_every_setting() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


def test_prometheus_config_passes_promtool() -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "config", "configs/prometheus.yml"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {
        job["job_name"] for job in yaml.safe_load((REPO_ROOT / "configs/prometheus.yml").read_text())["scrape_configs"]
    }
    assert jobs == {"pearcare-api", "vllm"}


def test_dashboard_parses_and_every_query_names_a_metric() -> None:
    expressions = dashboard_expressions()
    assert len(expressions) >= 20
    for expr in expressions:
        assert PROMQL_METRIC.search(expr), expr
        assert expr.count("(") == expr.count(")"), expr
    names = dashboard_metric_names()
    for needed in (
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "pearcare_rate_limited_total",
        "pearcare_time_to_first_token_seconds_bucket",
        "vllm:time_to_first_token_seconds_bucket",
    ):
        assert needed in names
    provisioning = REPO_ROOT / "configs" / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    panels_uids = {p["datasource"]["uid"] for p in json.loads(DASHBOARD.read_text())["panels"]}
    assert panels_uids == {datasource["uid"]}


def rendered_manifests() -> list[dict[str, Any]]:
    """What `kubectl apply -k` applies: the listed resources, in the kustomization's namespace."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / resource).read_text()):
            if document["kind"] != "Namespace":
                document["metadata"]["namespace"] = kustomization["namespace"]
            documents.append(document)
    return documents


def crd_schema(path: Path, version: str) -> dict[str, Any]:
    """A CRD's openAPIV3Schema as a strict JSON Schema (unknown fields refused wherever the CRD
    lists its fields), its metadata checked against Kubernetes' own ObjectMeta."""
    crd = next(d for d in yaml.safe_load_all(path.read_text()) if d)
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = copy.deepcopy(served["schema"]["openAPIV3Schema"])

    def strict(node: Any) -> None:
        if not isinstance(node, dict):
            return
        listed = "properties" in node and "additionalProperties" not in node
        if listed and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for child in node.get("properties", {}).values():
            strict(child)
        for key in ("items", "additionalProperties"):
            strict(node.get(key))

    strict(schema)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    schema["properties"]["apiVersion"] = {"enum": [f"{group}/{version}"]}
    schema["properties"]["kind"] = {"enum": [kind]}
    schema["properties"]["metadata"] = {"$ref": _OBJECT_META}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata", "spec"})
    return schema


_OBJECT_META = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def validate_custom(document: dict[str, Any], schema: dict[str, Any]) -> None:
    version = kubernetes_validate.latest_version()
    definitions = json.loads(
        importlib.resources.files("kubernetes_validate")
        .joinpath("kubernetes-json-schema", f"v{version}-local-strict", "_definitions.json")
        .read_text()
    )
    registry = Registry().with_resources([(definitions["$id"], Resource.from_contents(definitions))])
    jsonschema.Draft202012Validator(schema, registry=registry).validate(document)


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    version = kubernetes_validate.latest_version()
    keda = crd_schema(REPO_ROOT / "tests" / "deploy" / "specs" / "keda.sh_scaledobjects.yaml", "v1alpha1")
    kinds = set()
    for document in rendered_manifests():
        kinds.add(document["kind"])
        if document["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked against the Services below
        if document["apiVersion"].startswith("keda.sh/"):
            validate_custom(document, keda)
            continue
        kubernetes_validate.validate(document, version, strict=True)
    assert {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "StatefulSet", "ServiceMonitor"} <= kinds
    assert "ScaledObject" in kinds
    scaled = next(d for d in rendered_manifests() if d["kind"] == "ScaledObject")
    for typo in ({"maxReplicas": 4}, {"triggers": [{"metadata": {"query": "x"}}]}):
        with pytest.raises(jsonschema.ValidationError):
            validate_custom({**scaled, "spec": {**scaled["spec"], **typo}}, keda)
    broken = next(d for d in rendered_manifests() if d["kind"] == "Deployment")
    broken["spec"]["replica"] = 2  # a typo strict validation must catch
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_kubernetes_wiring() -> None:
    documents = rendered_manifests()
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    for workload in (d for d in documents if d["kind"] in ("Deployment", "StatefulSet")):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        container = workload["spec"]["template"]["spec"]["containers"][0]
        ports = {port["name"] for port in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{workload['metadata']['name']} lacks {probe}"
            http = container[probe].get("httpGet")
            assert http is None or http["port"] in ports
    vllm = next(d for d in documents if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "vllm")
    assert vllm["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # Replicas: a headless Service for discovery, named in the façade's settings; KEDA scales them.
    headless = services[vllm["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"].items() <= vllm["spec"]["template"]["metadata"]["labels"].items()
    settings = next(d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "pearcare-settings")
    assert settings["data"]["vllm-discovery-host"].startswith(headless["metadata"]["name"] + ".")
    scaled = next(d for d in documents if d["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "vllm"}
    assert "vllm:num_requests_waiting" in scaled["spec"]["triggers"][0]["metadata"]["query"]
    assert scaled["spec"]["minReplicaCount"] >= 1 and scaled["spec"]["cooldownPeriod"] >= 600
    monitors = [d for d in documents if d["kind"] == "ServiceMonitor"]
    scraped = {}
    for monitor in monitors:  # each monitor selects a Service that has the port it scrapes
        name = monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        port_names = {port["name"] for port in services[name]["spec"]["ports"]}
        assert {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]} <= port_names
        scraped[name] = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
    assert scraped == {"api": {"metrics"}, "vllm": {"http"}}  # the façade's metrics apart from its API
    api = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "api")
    env = {e["name"] for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "PEARCARE_METRICS_PORT" in env


def policies() -> list[dict[str, Any]]:
    return [d for d in rendered_manifests() if d["kind"] == "NetworkPolicy"]


def test_every_workload_is_selected_by_a_network_policy_behind_a_default_deny() -> None:
    found = policies()
    deny = [p for p in found if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"]
    selected = {p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") for p in found}
    for workload in (d for d in rendered_manifests() if d["kind"] in ("Deployment", "StatefulSet")):
        name = workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        assert name in selected, f"{workload['metadata']['name']} has no policy of its own"


PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}


def test_vllm_and_redis_admit_only_the_facade_and_prometheus() -> None:
    by_target = {p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name"): p for p in policies()}
    allowed = {
        "vllm": [{"app.kubernetes.io/name": "api"}, PROMETHEUS],
        "redis": [{"app.kubernetes.io/name": "api"}, {"app.kubernetes.io/name": "keys-cli"}],
    }
    for target, peers in allowed.items():
        rules = by_target[target]["spec"]["ingress"]
        sources = [source for rule in rules for source in rule["from"]]
        assert [source["podSelector"]["matchLabels"] for source in sources] == peers, target
        for source in sources:
            if source["podSelector"]["matchLabels"] == PROMETHEUS:
                assert "namespaceSelector" in source  # Prometheus from its own namespace only
            else:
                assert "namespaceSelector" not in source  # the façade of this namespace
        assert all(rule.get("ports") for rule in rules), f"{target}: every rule names its port"


def test_no_secret_value_in_any_manifest() -> None:
    documents = rendered_manifests()
    assert not [d for d in documents if d["kind"] == "Secret"], "Secrets are created outside the manifests"
    for workload in (d for d in documents if d["kind"] in ("Deployment", "StatefulSet")):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if re.search(r"KEY|TOKEN|PASSWORD|SECRET", env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{env['name']} must come from a Secret"
    text = "\n".join((K8S / name).read_text() for name in sorted(p.name for p in K8S.glob("*.yaml")))
    assert not re.search(r"(sk-[A-Za-z0-9]{10,}|requirepass\s+[^$\s])", text)
    api = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "api")
    env = {e["name"]: e for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@$(REDIS_HOST)/0"
    order = list(env)
    assert order.index("REDIS_PASSWORD") < order.index("REDIS_URL") > order.index("REDIS_HOST")


def test_the_vision_overlay_serves_the_multimodal_model_with_image_limits() -> None:
    """deploy/kubernetes/vision patches the base StatefulSet (JSON patch ops applied here as
    kustomize would): the multimodal model, vLLM's image limit and its media-domain fence."""
    overlay = yaml.safe_load((K8S / "vision" / "kustomization.yaml").read_text())
    assert overlay["resources"] == [".."]
    (patch,) = overlay["patches"]
    assert patch["target"] == {"kind": "StatefulSet", "name": "vllm"}
    vllm = next(d for d in rendered_manifests() if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "vllm")
    env = vllm["spec"]["template"]["spec"]["containers"][0]["env"]
    for op in yaml.safe_load(patch["patch"]):
        assert op["path"].startswith("/spec/template/spec/containers/0/env/")
        index = op["path"].rsplit("/", 1)[1]
        if op["op"] == "replace":
            assert env[int(index)]["name"] == op["value"]["name"]  # the base's order still matches
            env[int(index)] = op["value"]
        else:
            assert op["op"] == "add" and index == "-"
            env.append(op["value"])
    values = {item["name"]: item.get("value") for item in env}
    assert values["MODEL"] == "google/medgemma-27b-it"
    assert json.loads(values["LIMIT_MM_PER_PROMPT"]) == {"image": 4}
    assert values["ALLOWED_MEDIA_DOMAINS"] == "none.invalid"
    dockerfile = (REPO_ROOT / "Dockerfile.vllm").read_text()
    for variable in ("LIMIT_MM_PER_PROMPT", "ALLOWED_MEDIA_DOMAINS", "TOOL_CALL_PARSER", "CHAT_TEMPLATE"):
        assert f"${variable}" in dockerfile or f'"${variable}"' in dockerfile, variable
    assert "--enable-auto-tool-choice" in dockerfile and "COPY configs/vllm/gemma3_tools.jinja" in dockerfile


def dockerfile_env(path: Path) -> dict[str, str]:
    """The ENV values of a Dockerfile, as Docker reads `KEY=value` and `KEY="quoted value"`."""
    text = path.read_text().replace("\\\n", " ")
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line.removeprefix("ENV "), posix=True):
                name, _, value = pair.partition("=")
                values[name] = value
    return values


def test_the_runpod_image_configures_the_worker_it_runs() -> None:
    from serving.serverless.settings import WorkerSettings

    dockerfile = REPO_ROOT / "deploy" / "runpod" / "Dockerfile"
    env = dockerfile_env(dockerfile)
    ours = {name for name in env if name.startswith("PEARCARE_RUNPOD_")}
    known = {f"PEARCARE_RUNPOD_{field.upper()}" for field in WorkerSettings.model_fields}
    assert ours and ours <= known, ours - known  # a misspelt variable would be ignored silently
    settings = WorkerSettings(**{name.removeprefix("PEARCARE_RUNPOD_").lower(): env[name] for name in ours})
    server = settings.vllm_server()
    assert server is not None
    command = server.command()
    assert (
        command[command.index("--structured-outputs-config") + 1]
        == '{"backend": "xgrammar", "disable_any_whitespace": true}'
    )
    assert command[command.index("--chat-template") + 1] == "/app/configs/vllm/gemma3_tools.jinja"
    copied = dockerfile.read_text()
    assert "COPY configs/vllm/gemma3_tools.jinja /app/configs/vllm/" in copied
    assert env["PEARCARE_CONFIG_PATH"] == "/app/configs/serving.yaml" and "configs/serving.yaml" in copied
    assert "ENTRYPOINT" in copied and "serving.serverless.runpod_worker" in copied
