"""Run the clinical vignettes against a running façade and score the ICD-10-CM coding.

    python -m orchestrator.evaluate --base-url http://127.0.0.1:8000/v1 --api-key sk-... \\
        [--vignettes tests/orchestrator/vignettes.yaml]

For each vignette: did a returned code fall in an expected category, which specialty came first,
did red flags bring emergency advice, and how long each stage took. Meant for a real MedGemma
(the tests run the same vignettes on scripted models).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

DEFAULT_VIGNETTES = Path(__file__).resolve().parent.parent / "tests" / "orchestrator" / "vignettes.yaml"


def score(case: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    stages = result["stages"]
    codes = [c["code"] for c in (stages.get("icd") or {}).get("codes", [])]
    specialties = (stages.get("providers") or {}).get("specialties", [])
    summary = stages.get("summary") or {}
    return {
        "id": case["id"],
        "status": result["status"],
        "codes": codes,
        "category_hit": any(code.startswith(tuple(case["expected_icd_categories"])) for code in codes),
        "specialty_hit": bool(specialties) and specialties[0] == case["expected_specialty"],
        "red_flags_handled": bool(summary.get("emergency_advice")) == case["red_flags"],
        "timings": result["timings"],
        "tokens": result["usage"]["total_tokens"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--vignettes", type=Path, default=DEFAULT_VIGNETTES)
    args = parser.parse_args(argv)
    cases = yaml.safe_load(args.vignettes.read_text())
    rows = []
    with httpx.Client(
        base_url=args.base_url, headers={"authorization": f"Bearer {args.api_key}"}, timeout=600
    ) as client:
        for case in cases:
            response = client.post(
                "/consultations", json={"symptoms": case["symptoms"], "patient_data": case["patient_data"]}
            )
            response.raise_for_status()
            rows.append(score(case, response.json()))
            print(json.dumps(rows[-1]), flush=True)
    hits = sum(row["category_hit"] for row in rows)
    print(
        f"ICD category hit rate: {hits}/{len(rows)}; specialty: {sum(r['specialty_hit'] for r in rows)}/{len(rows)}; "
        f"red flags: {sum(r['red_flags_handled'] for r in rows)}/{len(rows)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
