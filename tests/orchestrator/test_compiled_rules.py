"""The compiled build of the red-flag rules (what `make run` and the image run: orchestrator/
safety/compiled.py) is the same rules: built fresh, the safety tests pass on it, and every case
set's verdicts are the Python build's, case for case."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.safety import compiled

pytestmark = pytest.mark.compiled
ROOT = Path(__file__).resolve().parents[2]
# The rules' own tests (concepts, context, facts, rules, growth); the verdicts of every case set
# are compared below, so the evaluation's and the façade's tests are not run a second time (CI time).
SAFETY_TESTS = ["tests/orchestrator/test_red_flags.py", "tests/orchestrator/test_escalation.py"]
# Every case set's rules-only verdicts (development and blind), and which build gave them.
VERDICTS = """
import json
from loadtests.evaluate_red_flags import BLIND_SETS, DEVELOPMENT_SETS, rules_escalate
from orchestrator.safety import compiled
from orchestrator.safety.case_sets import read_cases
from orchestrator.safety.red_flags import default_rules
rules = default_rules()
verdicts = {}
for path in (*DEVELOPMENT_SETS, *BLIND_SETS):
    verdicts[path.name] = [
        [rules_escalate(case, rules), [flag.rule for flag in rules.assess(case["symptoms"]).red_flags]]
        for case in read_cases(path)
    ]
print(json.dumps({"build": compiled.active(), "verdicts": verdicts}))
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled-rules")
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.safety.compile_rules", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _with(setting: str) -> dict[str, str]:
    return {**os.environ, compiled.SETTING: setting}


def test_every_case_sets_verdicts_are_the_python_builds(build: Path) -> None:
    found = {}
    for name, setting in (("python", "off"), ("compiled", str(build))):
        done = subprocess.run(
            [sys.executable, "-c", VERDICTS], capture_output=True, text=True, timeout=900, cwd=ROOT, env=_with(setting)
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found[name] = json.loads(done.stdout)
    assert found["python"]["build"] == "python"
    assert found["compiled"]["build"] == "compiled"
    python, built = found["python"]["verdicts"], found["compiled"]["verdicts"]
    assert sum(len(cases) for cases in python.values()) > 1000  # every set was read
    assert built == python


# The suite's conftest (which sets the build the tests import) first, then the rules' tests in the
# same process, after a check that the modules came from the build.
ON_THE_BUILD = """
import sys
import pytest
import tests.conftest
from orchestrator.safety import compiled
if compiled.active() != "compiled":
    sys.exit("the rules were not imported from the build")
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--no-cov", *sys.argv[1:]]))
"""


def test_the_safety_tests_pass_on_the_compiled_build(build: Path) -> None:
    environment = {**_with("off"), "PEARCARE_TEST_RULES_BUILD": str(build)}
    command = [sys.executable, "-c", ON_THE_BUILD, *SAFETY_TESTS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


def test_a_build_of_other_sources_is_not_used(build: Path, tmp_path: Path) -> None:
    """A rule edited after a build runs as Python until the next build, never as the stale copy."""
    assert compiled.build_in_use(str(build)) == build
    assert compiled.build_in_use("off") is None
    assert compiled.build_in_use(str(tmp_path)) is None  # no build there
    edited = tmp_path / "package"
    edited.mkdir()
    for name in compiled.COMPILED_MODULES:
        (edited / f"{name}.py").write_bytes((compiled.PACKAGE_DIR / f"{name}.py").read_bytes())
    assert compiled.build_in_use(str(build), edited) == build
    (edited / "context.py").write_text((edited / "context.py").read_text() + "\n# an edit\n")
    assert compiled.build_in_use(str(build), edited) is None


def test_a_build_that_cannot_load_is_not_used(build: Path, tmp_path: Path) -> None:
    """A copy without its shared library (or one this machine's C library cannot load) would fail
    the first import: the rules run as Python instead of the façade failing to start."""
    copy = tmp_path / "copy"
    shutil.copytree(build, copy)
    for shared in copy.glob("*__mypyc*"):
        shared.unlink()
    assert compiled.build_in_use(str(copy)) is None
    done = subprocess.run(
        [sys.executable, "-c", "from orchestrator.safety import compiled; print(compiled.active())"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_with(str(copy)),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "python"
