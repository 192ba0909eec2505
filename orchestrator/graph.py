"""Wiring only. intake -> (icd || cpt); icd -> providers; (providers, cpt) -> summary.

CPT runs beside ICD because the visit level follows from the findings (complexity, urgency,
new or established patient), not from the diagnosis codes; providers need the ICD codes to pick
a specialty; the summary needs everything.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestrator.codes import IcdCodeSet
from orchestrator.directory import ProviderDirectory
from orchestrator.nodes.coding import cpt, make_icd_node
from orchestrator.nodes.intake import intake
from orchestrator.nodes.providers import make_providers_node
from orchestrator.nodes.summary import summary
from orchestrator.state import ConsultationState


def build_graph(*, code_set: IcdCodeSet, directory: ProviderDirectory) -> Any:
    graph = StateGraph(ConsultationState)
    graph.add_node("intake", intake)  # type: ignore[call-overload]
    graph.add_node("icd", make_icd_node(code_set))  # type: ignore[call-overload]
    graph.add_node("cpt", cpt)  # type: ignore[call-overload]
    graph.add_node("providers", make_providers_node(directory))  # type: ignore[call-overload]
    graph.add_node("summary", summary)  # type: ignore[call-overload]
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "icd")
    graph.add_edge("intake", "cpt")
    graph.add_edge("icd", "providers")
    graph.add_edge(["providers", "cpt"], "summary")
    graph.add_edge("summary", END)
    return graph.compile()
