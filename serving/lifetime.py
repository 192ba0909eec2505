"""Child processes that end with their parent: a test run or launcher killed with SIGKILL
(no finaliser runs) must not leave a vLLM engine or a façade behind. Linux's parent-death
signal does it in the kernel; elsewhere nothing is set and stop() remains the only way. stop() ends a process group
we started, and nothing else."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """A Popen preexec_fn: SIGTERM this child when the thread that started it dies (the child
    stops as on any SIGTERM: vLLM takes its engine processes down with it)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group we started (never anything by name), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
