"""Build the red-flag rules' compiled modules (compiled.py says how they are used).

    python -m orchestrator.safety.compile_rules [BUILD_DIR]   # make compiled (make run does it)

Needs mypy (mypyc) and a C compiler: the dev install and the image's build stage have both."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from orchestrator.safety.compiled import (
    COMPILED_MODULES,
    DEFAULT_BUILD,
    PACKAGE_DIR,
    STAMP,
    build_loads,
    stamp_of,
)


def build(out: Path) -> None:
    """Compile the rules' modules into `out` (setuptools and mypyc, a C compiler on the machine)."""
    stamp = out / STAMP
    wanted = stamp_of()
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted and build_loads(out):
        print(f"{out}: compiled rules are current")
        return
    from mypyc.build import mypycify
    from setuptools import setup  # type: ignore[import-untyped]

    if out.exists():
        shutil.rmtree(out)  # no module of an earlier build left to shadow its source, and no stamp

    sources = [str(PACKAGE_DIR / f"{name}.py") for name in COMPILED_MODULES]
    with tempfile.TemporaryDirectory() as work:
        previous = os.getcwd()
        os.chdir(work)  # not the checkout: setuptools would read its pyproject.toml
        try:
            setup(
                name="pearcare-compiled-rules",
                ext_modules=mypycify(sources, opt_level="3", target_dir=f"{work}/c"),
                script_args=["--quiet", "build_ext", "--build-lib", str(out), "--build-temp", f"{work}/o"],
            )
        finally:
            os.chdir(previous)
    stamp.write_text(json.dumps(wanted, indent=1) + "\n")
    print(f"{out}: compiled {', '.join(COMPILED_MODULES)}")


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_BUILD)
