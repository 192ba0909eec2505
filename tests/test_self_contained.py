"""The repository works from a clone with nothing beside it: no tracked file reads a sibling
folder (the workplace's `shared/` is there on developer machines and CI, not on a user's)."""

from __future__ import annotations

import re
import subprocess

from serving.settings import REPO_ROOT

# Built from parts so this file does not match itself.
_SIBLING = "shared"
_OUTSIDE_REFERENCE = re.compile(
    r"\.\./" + _SIBLING + r"\b"  # the sibling folder by a relative path
    r"|parent\s*/\s*[\"']" + _SIBLING + r"[\"']"  # or joined onto a parent path
)


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout.split(
        b"\0"
    )
    files = {}
    for name in filter(None, names):
        path = REPO_ROOT / name.decode()
        if not path.is_file():
            continue  # deleted in the work tree
        try:
            files[name.decode()] = path.read_text()
        except UnicodeDecodeError:
            continue
    return files


def references_outside(text: str) -> list[str]:
    return [match.group(0) for match in _OUTSIDE_REFERENCE.finditer(text)]


def test_the_check_finds_references_to_a_sibling_folder() -> None:
    assert references_outside('spec = REPO_ROOT.parent / "' + _SIBLING + '" / "specs"')
    assert references_outside("see ../" + _SIBLING + "/DOMAIN.md")
    assert not references_outside("a shared store; sharedmemory; tests/deploy/specs")


def test_no_tracked_file_refers_to_a_folder_outside_the_repository() -> None:
    files = tracked_text_files()
    assert "pyproject.toml" in files  # the listing worked
    offenders = {name: refs for name, text in files.items() if (refs := references_outside(text))}
    assert offenders == {}
