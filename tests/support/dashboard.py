"""The Grafana dashboard's queries and the metric names they use."""

from __future__ import annotations

import json
import re

from serving.settings import REPO_ROOT

DASHBOARD = REPO_ROOT / "configs" / "grafana" / "dashboards" / "pearcare.json"
PROMQL_METRIC = re.compile(r"\b(pearcare_[a-z0-9_]+|vllm:[a-z0-9_:]+)")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def dashboard_metric_names() -> set[str]:
    return {name for expr in dashboard_expressions() for name in PROMQL_METRIC.findall(expr)}
