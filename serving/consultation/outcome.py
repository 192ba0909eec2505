"""Stage events added up into one consultation's result: the document /v1/consultations
returns, and the text the chat adapter answers with."""

from __future__ import annotations

import time
import uuid
from typing import Any

from orchestrator.safety.escalation import DISCLAIMERS
from orchestrator.state import STAGES


class ConsultationOutcome:
    """Stage events added up into the consultation's result document."""

    def __init__(self) -> None:
        self.started = int(time.time())
        self.id = f"consult-{uuid.uuid4().hex}"
        self.results: dict[str, Any] = dict.fromkeys(STAGES)
        self.errors: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.safety: dict[str, Any] = {"emergency": False, "red_flags": [], "advice": [], "safety_netting": []}

    def add(self, event: dict[str, Any]) -> None:
        stage = event["stage"]  # "consultation" when the graph itself failed
        if stage == "safety":  # the rules' verdict, or its escalation by the intake model
            self.safety = event["result"]
            return
        if stage == "consultation" and event["status"] == "completed":
            return  # the closing summary of what the safety events already said
        if event["status"] == "completed":
            self.results[stage] = event["result"]
            if event.get("usage"):
                self.usage[stage] = event["usage"]
        elif event["status"] == "failed":
            self.errors[stage] = event["error"]
        if "seconds" in event:
            self.timings[stage] = event["seconds"]

    def totals(self) -> dict[str, int]:
        prompt = sum(u["prompt_tokens"] for u in self.usage.values())
        completion = sum(u["completion_tokens"] for u in self.usage.values())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def document(self) -> dict[str, Any]:
        status = "completed" if not self.errors else ("failed" if self.results.get("summary") is None else "partial")
        return {
            "id": self.id,
            "object": "consultation",
            "created": self.started,
            "status": status,
            "stages": self.results,
            "errors": self.errors,
            "timings": self.timings,
            "usage": {**self.totals(), "by_stage": self.usage},
            # Present in every answer, whatever stage failed: escalation first, then disclaimers.
            "emergency": self.safety["emergency"],
            "emergency_advice": self.safety["advice"],
            "red_flags": self.safety["red_flags"],
            # A routine answer: what would make it an emergency, apart from any escalation.
            "safety_netting": self.safety.get("safety_netting", []),
            "disclaimers": DISCLAIMERS,
        }

    def urgent_text(self) -> str:
        """The escalation lines, or nothing: what a reader must see first."""
        if not self.safety["emergency"]:
            return ""
        meanings = "; ".join(flag["meaning"] for flag in self.safety["red_flags"])
        return "\n".join([f"URGENT ({meanings}): {advice}" for advice in self.safety["advice"]]) + "\n\n"

    def text(self, *, urgent: bool = True, missing: tuple[str, ...] = ()) -> str:
        """The consultation as a chat answer: any escalation first, then the summary, codes,
        providers, what the answer lacks (`missing`: questions for the patient), and always the
        disclaimers. urgent=False leaves out the escalation (a stream sent it before any model
        ran)."""
        summary, icd, cpt, providers = (self.results[s] for s in ("summary", "icd", "cpt", "providers"))
        lines: list[str] = []
        if summary:
            lines.append(summary["summary"])
            lines += [f"- {step}" for step in summary["next_steps"]]
        else:
            lines.append("The consultation could not write a summary; the completed stages follow.")
        if icd and icd["codes"]:
            lines += ["", "ICD-10-CM:"] + [f"- {c['code']} {c['description']}" for c in icd["codes"]]
        if cpt and cpt["codes"]:
            lines += ["", "CPT/HCPCS:"] + [f"- {c['code']} ({c['status']})" for c in cpt["codes"]]
            lines.append(cpt["notice"])
        if providers and providers["providers"]:
            lines += ["", f"Providers near {providers['location']}:"]
            lines += [f"- {p['name']}, {p['specialty']}, {p['distance_miles']} mi" for p in providers["providers"][:3]]
        if missing:
            lines += ["", *missing]
        failed = sorted(stage for stage, error in self.errors.items() if error.get("code") != "skipped")
        if failed:
            lines += ["", "Stages that failed: " + ", ".join(failed)]
        nets = [] if self.safety["emergency"] else self.safety.get("safety_netting", [])
        if nets:
            lines += ["", "Get help now if this changes:"]
            lines += [f"- {net['warning_signs']}: {net['advice']}" for net in nets]
        lines += ["", *DISCLAIMERS]
        return (self.urgent_text() if urgent else "") + "\n".join(lines)
