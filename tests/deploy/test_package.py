"""The installed package carries what its code reads beside itself. The API image installs the
project without -e (Dockerfile.api): a file missing from the wheel is missing in production, while
every test here, on the editable install, still finds it in the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("serving", "orchestrator", "loadtests")


def test_the_wheel_holds_every_data_file_the_code_reads(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    # Data beside the runtime code: rules, concepts, case sets, Lua scripts, name lists (not docs).
    data = {
        path.relative_to(REPO_ROOT).as_posix()
        for package in ("serving", "orchestrator")
        for path in (REPO_ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in path.parts
    }
    assert "orchestrator/safety/red_flags.yaml" in data and "serving/store/admit.lua" in data
    assert data - packaged == set()
