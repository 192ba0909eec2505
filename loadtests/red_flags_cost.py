"""The red-flag rules' cost per message: p50 and p99 of one assessment of 2 KB (the issue's
target: under 2 ms p99) and 8 KB slices of the development vignettes, after a warm-up, and the
growth from 16 KB to 64 KB of a hostile text (linear: about four times); then the same slices
through the emergency screen a consultation starts with (the rules and the learned reading,
which reads what no rule fired on), and the learned reading's training time.

    python -m loadtests.red_flags_cost [--rounds 300]   # the build the package uses: compiled
                                       # after `make compiled`, Python with
                                       # PEARCARE_COMPILED_RULES=off (it prints which)
    python -m loadtests.red_flags_cost --builds     # both builds in subprocesses, interleaved,
                                       # three runs each, the median
    python -m loadtests.red_flags_cost --baseline /tmp/old   # against another checkout
                                       # (git worktree add /tmp/old <commit>): both in
                                       # subprocesses, interleaved, three runs each, the median,
                                       # on the same slices of this checkout's case sets
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from loadtests.evaluate_red_flags import DEVELOPMENT_SETS
from orchestrator.safety import compiled
from orchestrator.safety.red_flags import RedFlagRules
from orchestrator.safety.screen import EmergencyScreen


def percentiles(rules: RedFlagRules | EmergencyScreen, corpus: str, size: int, rounds: int) -> tuple[float, float]:
    samples = []
    for index in range(rounds):
        offset = (index * 997) % max(1, len(corpus) - size)
        text = corpus[offset : offset + size]
        started = time.perf_counter()
        rules.assess(text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


# One checkout's rules on a corpus file, in a subprocess with that checkout first on the path
# (the baseline may predate this file, so the measurement travels as code).
_MEASURE = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import orchestrator
if not orchestrator.__file__.startswith(sys.argv[1]):
    sys.exit(f"no orchestrator package in {sys.argv[1]} (found {orchestrator.__file__})")
from orchestrator.safety.red_flags import RedFlagRules
rules = RedFlagRules.load()
rules.assess("warm up: chest pain")
import gc
gc.collect()
gc.freeze()
corpus, rounds, found = open(sys.argv[2]).read(), int(sys.argv[3]), {}
for size in (2048, 8192):
    samples = []
    for index in range(rounds):
        offset = (index * 997) % max(1, len(corpus) - size)
        started = time.perf_counter()
        rules.assess(corpus[offset : offset + size])
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    found[size] = (statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))])
print(json.dumps(found))
"""
_HERE = Path(__file__).resolve().parent.parent


def compare(baseline: Path, corpus: str, rounds: int, runs: int = 3) -> None:
    """p50 and p99 of another checkout's rules and this one's, interleaved runs, the median: both
    as Python (a baseline worktree has no compiled build of its own; --builds compares builds)."""
    environment = {**os.environ, compiled.SETTING: "off"}
    interleaved({"baseline": (baseline, environment), "this checkout": (_HERE, environment)}, corpus, rounds, runs)


def compare_builds(corpus: str, rounds: int, runs: int = 3) -> None:
    """This checkout's rules compiled (its current build) and as Python, interleaved runs."""
    if compiled.build_in_use(os.environ.get(compiled.SETTING)) is None:
        sys.exit("no current compiled build of these rules: make compiled")
    python = {**os.environ, compiled.SETTING: "off"}
    interleaved({"compiled": (_HERE, dict(os.environ)), "python": (_HERE, python)}, corpus, rounds, runs)


def interleaved(contenders: dict[str, tuple[Path, dict[str, str]]], corpus: str, rounds: int, runs: int) -> None:
    measured: dict[str, list[dict[str, list[float]]]] = {name: [] for name in contenders}
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as file:
        file.write(corpus)
        file.flush()
        for _ in range(runs):
            for name, (root, environment) in contenders.items():
                command = [sys.executable, "-c", _MEASURE, str(root), file.name, str(rounds)]
                # run from this checkout: a cwd outside it would leave coverage without its config
                done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=_HERE, env=environment)
                measured[name].append(json.loads(done.stdout))
    for name, results in measured.items():
        for size in ("2048", "8192"):
            p50 = statistics.median(result[size][0] for result in results)
            p99 = statistics.median(result[size][1] for result in results)
            print(f"{name}: {int(size) // 1024} KB p50 {p50:.2f} ms, p99 {p99:.2f} ms (median of {runs} runs)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure against")
    parser.add_argument("--builds", action="store_true", help="the compiled build against Python")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        corpus = " ".join(c["symptoms"] for path in DEVELOPMENT_SETS for c in yaml.safe_load(path.read_text()))
        compare(args.baseline.resolve(), corpus, args.rounds)
        return
    if args.builds:
        corpus = " ".join(c["symptoms"] for path in DEVELOPMENT_SETS for c in yaml.safe_load(path.read_text()))
        compare_builds(corpus, args.rounds)
        return
    started = time.perf_counter()
    rules = RedFlagRules.load()
    rules.assess("warm up: chest pain")  # loads wordfreq's table
    print(f"rules run as: {compiled.active()} ({compiled.SETTING}={os.environ.get(compiled.SETTING, '')!r})")
    print(f"load + first message: {(time.perf_counter() - started) * 1000:.0f} ms")
    # As the façade runs them: its start-up objects (these tables among them) leave the GC's
    # generations (serving/app.py), so a full collection does not walk them mid-message.
    gc.collect()
    gc.freeze()
    corpus = " ".join(case["symptoms"] for path in DEVELOPMENT_SETS for case in yaml.safe_load(path.read_text()))
    for size in (2048, 8192):
        p50, p99 = percentiles(rules, corpus, size, args.rounds)
        print(f"{size // 1024} KB: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    unit = "no chest pain, not breathless, how would I know, my dad had a stroke in 2019, "
    small, large = (unit * (n // len(unit)) for n in (16384, 65536))
    times = []
    for text in (small, large):
        best = float("inf")
        for _ in range(3):  # the best of three: one run of a 64 KB text is one sample of the noise
            started = time.perf_counter()
            rules.assess(text)
            best = min(best, time.perf_counter() - started)
        times.append(best)
    print(f"hostile text 16 KB -> 64 KB: {times[1] / times[0]:.1f}x the time (linear: ~4x)")
    from orchestrator.safety.learned import cached_learned

    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        screen = EmergencyScreen(rules, cached_learned(cache_dir=Path(cache)))
        print(f"learned reading: cases read and trained in {(time.perf_counter() - started) * 1000:.0f} ms")
        started = time.perf_counter()
        cached_learned(cache_dir=Path(cache))
        print(f"learned reading: loaded from its cache in {(time.perf_counter() - started) * 1000:.0f} ms")
    for size in (2048, 8192):
        p50, p99 = percentiles(screen, corpus, size, args.rounds)
        print(f"rules and learned reading, {size // 1024} KB: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    # Routine messages only, one at a time as written: where the reading runs (no rule fires).
    routine = [
        c["symptoms"] for path in DEVELOPMENT_SETS for c in yaml.safe_load(path.read_text()) if not c["red_flags"]
    ]
    for name, reader in (("rules", rules), ("rules and learned reading", screen)):
        samples = []
        for index in range(args.rounds):
            started = time.perf_counter()
            reader.assess(routine[index % len(routine)])
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        print(f"{name}, one routine message: p50 {statistics.median(samples):.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
