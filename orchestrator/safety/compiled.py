"""The red-flag rules compiled to C with mypyc (the modules below, unchanged): about twice as fast
as the same code run by the interpreter (python -m loadtests.red_flags_cost, both builds), and the
only way found to keep a 2 KB message under 2 ms at p99 (the pure-Python passes had run out).

    python -m orchestrator.safety.compile_rules [BUILD_DIR]   # make compiled; make run does it

A build records the SHA-256 of the sources it was made from. The package uses a build only when
those are the sources beside it (a rule edited after a build runs as Python until the next one,
never as a stale compiled copy), and only where the environment allows it:
PEARCARE_COMPILED_RULES=off runs the rules as Python (the tests do, for coverage; one test runs
the safety tests and every case set against a fresh build), a path names another build
(the image's), unset means the checkout's own build/compiled-rules. The modules are the same
code either way; tests/orchestrator/test_compiled_rules.py checks the verdicts are too."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

# The hot path of one assessment; assessment.py (pydantic) and the rest stay Python.
COMPILED_MODULES = (
    "lexicon",
    "concepts",
    "negation_cues",
    "question_cues",
    "time_cues",
    "clauses",
    "marks",
    "questions",
    "dating",
    "context",
    "facts",
    "red_flags",
)
SETTING = "PEARCARE_COMPILED_RULES"
PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_BUILD = PACKAGE_DIR.parent.parent / "build" / "compiled-rules"
STAMP = "sources.json"
_OFF = frozenset({"off", "0", "false", "no", "python"})


def source_digests(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    return {name: hashlib.sha256((package_dir / f"{name}.py").read_bytes()).hexdigest() for name in COMPILED_MODULES}


def stamp_of(package_dir: Path = PACKAGE_DIR) -> dict[str, object]:
    """What a build of these sources for this interpreter records (compile_rules writes it)."""
    return {"python": sys.implementation.cache_tag, "sources": source_digests(package_dir)}


def build_in_use(setting: str | None, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The build to import the rules from, or None for Python: one whose recorded sources are
    these, at the setting's path (or the default), unless the setting is off."""
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    build = Path(setting) if setting else DEFAULT_BUILD
    try:
        recorded = json.loads((build / STAMP).read_text())
    except (OSError, ValueError):
        if setting:  # a build named but not there (a typo, an image without it): said, not silent
            logger.warning("no compiled red-flag rules at %s: running them as Python", build)
        return None  # no build there (a plain install): Python
    if recorded != stamp_of(package_dir):
        logger.warning("compiled red-flag rules at %s are not of these sources: running them as Python", build)
        return None
    if not build_loads(build):
        logger.warning("compiled red-flag rules at %s do not load here: running them as Python", build)
        return None
    return build


def build_loads(build: Path) -> bool:
    """Every module's extension is there, and the build's shared library loads in this process (a
    copy without it, or one linked against a newer C library, would fail the first import)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    package = build / "orchestrator" / "safety"
    if not all((package / f"{name}{suffix}").is_file() for name in COMPILED_MODULES):
        return False
    shared = sorted(build.glob(f"*__mypyc{suffix}"))
    if len(shared) != 1:
        return False
    name = shared[0].name[: -len(suffix)]
    if name in sys.modules:
        return True
    try:
        spec = importlib.util.spec_from_file_location(name, shared[0])
        if spec is None or spec.loader is None:
            return False
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):
        return False
    sys.modules[name] = module
    return True


def package_path(package_path: list[str]) -> list[str]:
    """orchestrator.safety's __path__, a current build's modules first (their extension modules
    shadow the .py files; every other module is found in the package as before)."""
    build = build_in_use(os.environ.get(SETTING))
    if build is None:
        return package_path
    if str(build) not in sys.path:
        sys.path.append(str(build))  # mypyc's shared library of the build is a top-level module
    return [str(build / "orchestrator" / "safety"), *package_path]


def active() -> str:
    """ "compiled" when the rules' modules were imported from a build, else "python"."""
    from orchestrator.safety import context

    return "compiled" if Path(context.__file__ or "").suffix in (".so", ".pyd") else "python"
