"""Tracing in the deployments, checked offline: the collector and Tempo in Compose and
Kubernetes (the same configs), the façade and every vLLM variant pointed at the collector,
Grafana's Tempo datasource and the latency panels' links to traces."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import yaml

from serving.settings import REPO_ROOT
from tests.deploy.test_artifacts import compose, rendered_manifests

TRACING = REPO_ROOT / "configs" / "tracing"
COLLECTOR_HTTP = "http://otel-collector:4318/v1/traces"


def test_compose_runs_a_collector_that_feeds_tempo_and_points_the_api_and_vllm_at_it() -> None:
    services = compose()["services"]
    collector = yaml.safe_load((TRACING / "otel-collector.yaml").read_text())
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/tempo"]
    assert collector["exporters"]["otlp/tempo"]["endpoint"] == "tempo:4317"
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    tempo = yaml.safe_load((TRACING / "tempo.yaml").read_text())
    assert "otlp" in tempo["distributor"]["receivers"]
    assert services["api"]["environment"]["PEARCARE_OTLP_TRACES_ENDPOINT"].endswith(f"-{COLLECTOR_HTTP}}}")
    for variant in ("vllm", "vllm-cpu", "vllm-vision"):
        environment = services[variant].get("environment") or {}
        assert environment.get("OTLP_TRACES_ENDPOINT", "").endswith(f"-{COLLECTOR_HTTP}}}"), variant
    assert "tempo" in services["grafana"]["depends_on"]
    config = (REPO_ROOT / "configs" / "serving.yaml").read_text()
    assert "otlp_endpoint: ${PEARCARE_OTLP_TRACES_ENDPOINT:-}" in config  # unset: off (make run)


def test_both_vllm_images_pass_the_endpoint_to_vllm() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile.vllm").read_text()
    entrypoints = [line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT")]
    assert len(entrypoints) == 2
    for line in entrypoints:
        assert "--otlp-traces-endpoint" in line and "OTLP_TRACES_ENDPOINT" in line
    assert dockerfile.count("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf") == 2  # the collector's 4318


def manifest(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in rendered_manifests() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_kubernetes_runs_the_same_collector_and_tempo_configs() -> None:
    collector = manifest("ConfigMap", "otel-collector")["data"]["config.yaml"]
    assert yaml.safe_load(collector) == yaml.safe_load((TRACING / "otel-collector.yaml").read_text())
    tempo = manifest("ConfigMap", "tempo")["data"]["tempo.yaml"]
    assert yaml.safe_load(tempo) == yaml.safe_load((TRACING / "tempo.yaml").read_text())
    ports = {p["name"]: p["port"] for p in manifest("Service", "otel-collector")["spec"]["ports"]}
    assert ports["otlp-http"] == 4318
    settings = manifest("ConfigMap", "pearcare-settings")["data"]
    assert settings["otlp-traces-endpoint"] == COLLECTOR_HTTP
    for kind, name, variable in (
        ("Deployment", "api", "PEARCARE_OTLP_TRACES_ENDPOINT"),
        ("StatefulSet", "vllm", "OTLP_TRACES_ENDPOINT"),
    ):
        env = {e["name"]: e for e in manifest(kind, name)["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env[variable]["valueFrom"]["configMapKeyRef"]["key"] == "otlp-traces-endpoint", name
    policy = manifest("NetworkPolicy", "otel-collector")["spec"]["ingress"][0]
    senders = [source["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for source in policy["from"]]
    assert senders == ["api", "vllm"] and policy["ports"] == [{"protocol": "TCP", "port": "otlp-http"}]


def test_grafana_reads_tempo_and_the_latency_panels_link_to_traces() -> None:
    provisioned = yaml.safe_load((REPO_ROOT / "configs/grafana/provisioning/datasources/tempo.yml").read_text())
    (tempo,) = provisioned["datasources"]
    assert (tempo["type"], tempo["uid"], tempo["url"]) == ("tempo", "tempo", "http://tempo:3200")
    dashboard = json.loads((REPO_ROOT / "configs/grafana/dashboards/pearcare.json").read_text())
    linked = {}
    for panel in dashboard["panels"]:
        for link in panel.get("links", []):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(link["url"]).query)
            pane = json.loads(query["panes"][0])["a"]
            assert pane["datasource"] == "tempo" and pane["range"] == {"from": "${__from}", "to": "${__to}"}
            linked[panel["title"]] = pane["queries"][0]["query"]
    latency = [
        p["title"] for p in dashboard["panels"] if "latency" in p["title"].lower() or "first token" in p["title"]
    ]
    assert latency and set(latency) <= set(linked)
    assert all('resource.service.name="pearcare-serving"' in query for query in linked.values())
