"""The red-flag rules' cost per message: p50 and p99 of one assessment of 2 KB (the issue's
target: under 2 ms p99) and 8 KB slices of the development vignettes, after a warm-up, and the
growth from 16 KB to 64 KB of a hostile text (linear: about four times).

    python -m loadtests.red_flags_cost [--rounds 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import yaml

from orchestrator.evaluate import DEVELOPMENT_SETS
from orchestrator.safety.red_flags import RedFlagRules


def percentiles(rules: RedFlagRules, corpus: str, size: int, rounds: int) -> tuple[float, float]:
    samples = []
    for index in range(rounds):
        offset = (index * 997) % max(1, len(corpus) - size)
        text = corpus[offset : offset + size]
        started = time.perf_counter()
        rules.assess(text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rules = RedFlagRules.load()
    rules.assess("warm up: chest pain")  # loads wordfreq's table
    print(f"load + first message: {(time.perf_counter() - started) * 1000:.0f} ms")
    corpus = " ".join(case["symptoms"] for path in DEVELOPMENT_SETS for case in yaml.safe_load(path.read_text()))
    for size in (2048, 8192):
        p50, p99 = percentiles(rules, corpus, size, args.rounds)
        print(f"{size // 1024} KB: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    unit = "no chest pain, not breathless, how would I know, my dad had a stroke in 2019, "
    small, large = (unit * (n // len(unit)) for n in (16384, 65536))
    times = []
    for text in (small, large):
        started = time.perf_counter()
        rules.assess(text)
        times.append(time.perf_counter() - started)
    print(f"hostile text 16 KB -> 64 KB: {times[1] / times[0]:.1f}x the time (linear: ~4x)")


if __name__ == "__main__":
    main()
