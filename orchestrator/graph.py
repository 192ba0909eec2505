"""Wiring only. safety -> intake -> escalation -> (icd || cpt); icd -> providers;
(providers, cpt) -> summary. The safety node is first: its verdict stands before any model runs,
and a consultation it refuses (an unknown location, no emergency) ends there.

CPT runs beside ICD because the visit level follows from the findings (complexity, urgency,
new or established patient), not from the diagnosis codes; providers need the ICD codes to pick
a specialty; the summary needs everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from opentelemetry.trace import Tracer

from orchestrator.codes import IcdCodeSet
from orchestrator.directory import ProviderDirectory
from orchestrator.nodes.coding import cpt, make_icd_node
from orchestrator.nodes.intake import intake
from orchestrator.nodes.providers import make_providers_node
from orchestrator.nodes.safety import after_safety, escalation, make_safety_node
from orchestrator.nodes.summary import summary
from orchestrator.safety.screen import EmergencyScreen, default_screen
from orchestrator.state import ConsultationState
from orchestrator.tracing import traced


def build_graph(
    *,
    code_set: IcdCodeSet,
    directory: ProviderDirectory,
    screen_of: Callable[[], EmergencyScreen] = default_screen,
    tracer: Tracer | None = None,
) -> Any:
    """`tracer`: each stage runs in a span of its own (orchestrator/tracing.py); None: no spans."""
    # Any: langgraph's overloads cannot type a graph whose nodes differ in signature (sync, async)
    graph: Any = StateGraph(ConsultationState)
    nodes: dict[str, Any] = {
        "safety": make_safety_node(screen_of),
        "intake": intake,
        "escalation": escalation,
        "icd": make_icd_node(code_set),
        "cpt": cpt,
        "providers": make_providers_node(directory),
        "summary": summary,
    }
    for stage, node in nodes.items():
        graph.add_node(stage, node if tracer is None else traced(stage, node, tracer))
    graph.add_edge(START, "safety")
    graph.add_conditional_edges("safety", after_safety, {"refused": END, "intake": "intake"})
    graph.add_edge("intake", "escalation")
    graph.add_edge("escalation", "icd")
    graph.add_edge("escalation", "cpt")
    graph.add_edge("icd", "providers")
    graph.add_edge(["providers", "cpt"], "summary")
    graph.add_edge("summary", END)
    return graph.compile()
