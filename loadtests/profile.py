"""Where a process spends its CPU under load: py-spy samples it from outside (no code change, no
restart) while the load runs, and the collapsed stacks are summed into self and inclusive
shares per function."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

TOP = 12


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def profile_during(pid: int, out: Path, load: Awaitable[Any], *, seconds: float) -> dict[str, Any] | None:
    """Sample `pid` for `seconds` while `load` runs; None when py-spy is missing or may not
    attach (ptrace not permitted)."""
    binary = py_spy()
    if binary is None:
        await load
        return None
    spy = await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nolineno",
        "--nonblocking",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await load
    _, stderr = await spy.communicate()
    collapsed = _read(out) if spy.returncode == 0 else None
    if collapsed is None:
        print(f"py-spy failed: {stderr.decode(errors='replace')[-300:]}", flush=True)
        return None
    return summarise(collapsed)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def summarise(collapsed: str, top: int = TOP) -> dict[str, Any]:
    """Collapsed stacks (`frame;frame;leaf count` per line) → the functions with the most
    samples at the top of the stack (self) and on it anywhere (inclusive), as % of samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def shares(counter: Counter[str], keep: int) -> list[dict[str, Any]]:
        return [{"function": name, "percent": round(100 * n / total, 1)} for name, n in counter.most_common(keep)]

    # Our code on the stack; the entry point (on every stack) says nothing.
    ours = Counter({name: n for name, n in inclusive.items() if "serving/" in name and "__main__" not in name})
    return {"samples": total, "self": shares(own, top), "inclusive_serving": shares(ours, top)}


def _short(frame: str) -> str:
    """`send (/x/site-packages/uvicorn/protocols/http/h11_impl.py)` → `send (uvicorn/protocols/http/h11_impl.py)`."""
    name, _, location = frame.partition(" (")
    location = location.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in location:
            location = location.split(marker, 1)[1]
            break
    if "/serving/" in location:
        location = "serving/" + location.split("/serving/", 1)[1]
    return f"{name} ({location})" if location else name
