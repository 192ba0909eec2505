"""What patient-data protection costs: PHI detection time by prompt size, and the time to
first token the audit trail and redaction add, measured side by side in one run.

    python -m loadtests.privacy_bench [--out-dir loadtests/results] [--quick]

Against the upstream simulator (TTFT 50 ms, 20 ms/token, 64 tokens), rounds alternate so
every side sees the same machine noise: direct to the simulator; the façade with the audit
trail off; with it on (the default); and with the backend declared `openai` under `redact`,
sent a ~1 KB clinical note full of identifiers (detection, placeholders, restoration of
every streamed chunk). Writes privacy.json and privacy.md."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from loadtests import servers
from loadtests.bench import redis_server
from loadtests.evaluate_identifiers import latency, load, score
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, SIMULATOR, STREAM_SECONDS
from serving.privacy.detector import shared_detector
from serving.settings import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "serving" / "privacy" / "corpus"
NOTE = (
    "Patient Rosalind Okafor (MRN 00482913), DOB 03/14/1957, seen on 2026-11-02 by Dr. Alan Cho. "
    "Lives at 42 Elm Street, Apt 3B, Springfield, MA 01103; call 617-555-0134 or rokafor@example.org. "
    "History of Graves disease on methimazole 10 mg daily and Parkinson's disease on carbidopa-levodopa. "
    "Her daughter Maria Okafor (phone 617-555-0199) reports two weeks of palpitations, weight loss and "
    "tremor. Medicare member ID: 1EG4-TE5-MK73. Referring provider NPI 1234567893. Please summarise "
    "the visit and list the questions to ask at follow-up."
)


_notes = itertools.count()


def _new_note(body: dict[str, Any]) -> dict[str, Any]:
    """The note with another MRN and phone: a text the detector's memory has not seen."""
    number = next(_notes)
    text = NOTE.replace("00482913", f"{number:08d}").replace("617-555-0134", f"617-555-{number % 10000:04d}")
    return {**body, "messages": [{"role": "user", "content": text}]}


def detection() -> dict[str, Any]:
    detector = shared_detector()
    out: dict[str, Any] = {"latency": [], "accuracy": {}}
    heldout = load(CORPUS / "phi_notes_heldout.jsonl")
    for size in (1024, 8192, 32768):
        out["latency"].append(latency(detector, heldout, size, rounds=60))
    out["hostile"] = []
    for unit in ("Aaa-", "Aaa ", "1 "):
        text = "Mr. " + unit * (262_144 // len(unit))  # the most text screened for one request
        started = time.perf_counter()
        detector.find_uncached(text)
        out["hostile"].append(
            {"text": f"Mr. {unit!r} x {262_144 // len(unit)}", "ms": round((time.perf_counter() - started) * 1000)}
        )
    for name in ("phi_notes.jsonl", "phi_notes_heldout.jsonl"):
        out["accuracy"][name] = score(detector, load(CORPUS / name)).table()
    return out


async def ttft(workdir: Path, redis_url: str, levels: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows = []
    with (
        servers.simulator(workdir, **SIMULATOR) as sim,
        servers.facade(sim.base_url, "sim", workdir, redis_url, audit=False) as no_audit,
        servers.facade(sim.base_url, "sim", workdir, redis_url) as audited,
        servers.facade(sim.base_url, "sim", workdir, redis_url, kind="openai", data_policy="redact") as redacting,
    ):
        note = {"messages": [{"role": "user", "content": NOTE}], "stream": True}
        sides = [
            ("direct", sim.base_url, "sim", BODY, None),
            ("audit off", no_audit.base_url, "bench", BODY, no_audit.pid),
            ("audit on", audited.base_url, "bench", BODY, audited.pid),
            ("direct, 1 KB note", sim.base_url, "sim", note, None),
            ("redact + audit, 1 KB note", redacting.base_url, "bench", note, redacting.pid),
            ("redact + audit, a new 1 KB note each time", redacting.base_url, "bench", note, redacting.pid),
        ]
        for streams, per_worker in levels:
            results = {label: PhaseResult(label, streams) for label, *_ in sides}
            for _ in range(2):
                for label, base_url, model, body, pid in sides:
                    vary = _new_note if label.endswith("each time") else None
                    phase = await run_phase(
                        label,
                        base_url + "/chat/completions",
                        {**body, "model": model},
                        concurrency=streams,
                        per_worker=per_worker,
                        stagger_s=STREAM_SECONDS,
                        cpu_pid=pid,
                        vary=vary,
                    )
                    results[label].add(phase)
            direct, direct_note = results["direct"], results["direct, 1 KB note"]
            rows.append(
                {
                    "streams": streams,
                    "audit off": compare(direct, results["audit off"]),
                    "audit on": compare(direct, results["audit on"]),
                    "redact + audit, 1 KB note": compare(direct_note, results["redact + audit, 1 KB note"]),
                    "redact + audit, a new 1 KB note each time": compare(
                        direct_note, results["redact + audit, a new 1 KB note each time"]
                    ),
                }
            )
            print(f"{streams} streams done", flush=True)
    return rows


def render(result: dict[str, Any]) -> str:
    lines = ["# Patient-data protection: what it costs", "", "## PHI detection time (held-out corpus text)", ""]
    lines += ["| prompt | p50 | p99 |", "|---|---|---|"]
    for row in result["detection"]["latency"]:
        lines.append(f"| {row['bytes'] // 1024} KB | {row['p50_ms']} ms | {row['p99_ms']} ms |")
    lines += [
        "",
        "Hostile text at the screening cap (256 K characters): "
        + ", ".join(f"{row['text']}: {row['ms']} ms" for row in result["detection"]["hostile"]),
    ]
    for name, table in result["detection"]["accuracy"].items():
        lines += [
            "",
            f"## Detection accuracy: {name}",
            "",
            "| type | labelled | recall | precision |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r['type']} | {r['labelled']} | {r['recall']:.3f} | {r['precision']:.3f} |" for r in table]
    lines += ["", "## Added time to first token against the simulator (one run, rounds alternating)", ""]
    lines += [
        "| streams | side | added TTFT p50 | added TTFT p99 | throughput vs direct | errors |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["ttft"]:
        for side in ("audit off", "audit on", "redact + audit, 1 KB note", "redact + audit, a new 1 KB note each time"):
            c = row[side]
            lines.append(
                f"| {row['streams']} | {side} | {c['added_ttft_p50_ms']} ms | {c['added_ttft_p99_ms']} ms | "
                f"{c['throughput_ratio']} | {c['facade']['errors']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.privacy_bench", description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "loadtests" / "results")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one level, few requests")
    args = parser.parse_args(argv)
    levels = [(10, 1)] if args.quick else [(10, 6), (100, 3)]
    result: dict[str, Any] = {"detection": detection()}
    with tempfile.TemporaryDirectory(prefix="pearcare-privacy-bench-") as tmp:
        workdir = Path(tmp)
        with redis_server(workdir) as redis_url:
            result["ttft"] = asyncio.run(ttft(workdir, redis_url, levels))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "privacy.json").write_text(json.dumps(result, indent=2))
    (args.out_dir / "privacy.md").write_text(render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
