"""Audit records waiting on local disk while the store is down: JSON Lines, one file per
process, bounded in bytes, fsynced per batch.

A process holds an exclusive lock on its own file for as long as it lives. The files of a
process that died with records unsent are claimed by renaming them (atomic: one claimant
wins) and replayed with this process's own, oldest first. Replay is at least once: a crash
between the store's write and the file's rewrite sends a batch twice, never zero times;
records carry an id. The directory must belong to this user and be private (0700): records
found there are chained into the trail."""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


class SpoolDirectoryUnsafe(RuntimeError):
    pass


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = directory.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise SpoolDirectoryUnsafe(
                f"audit.spool_dir {directory} must belong to this user and be private (chmod 700): "
                "records found there join the audit trail"
            )
        self._path = directory / f"audit-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._file = self._path.open("ab")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.bytes = 0

    @property
    def full(self) -> bool:
        return self.bytes >= self._max_bytes

    def write(self, records: list[dict[str, Any]]) -> None:
        data = b"".join(orjson.dumps(record) + b"\n" for record in records)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.bytes += len(data)

    def _others(self) -> list[Path]:
        mine = f"claimed-{os.getpid()}-"
        paths = [*self._directory.glob("audit-*.jsonl"), *self._directory.glob("claimed-*.jsonl")]
        return [p for p in paths if p != self._path and not p.name.startswith(mine)]

    def has_orphans(self) -> bool:
        return any(self._claimable(path) for path in self._others())

    def pending(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """Batches to replay, oldest file first: orphans (claimed now) and this process's own."""
        found = []
        for path in sorted(self._others(), key=_age):
            claimed = self._claim(path)
            if claimed is not None:
                found.append((claimed, _read(claimed)))
        for path in sorted(self._directory.glob(f"claimed-{os.getpid()}-*.jsonl"), key=_age):
            if path not in {p for p, _ in found}:
                found.append((path, _read(path)))
        if self.bytes:
            self._file.flush()
            found.append((self._path, _read(self._path)))
        return found

    def keep(self, path: Path, unsent: list[dict[str, Any]]) -> None:
        """Rewrite `path` with what is still unsent (nothing: remove it, or empty our own)."""
        data = b"".join(orjson.dumps(record) + b"\n" for record in unsent)
        if path == self._path:
            self._file.truncate(0)
            self._file.seek(0)
            self.bytes = 0
            if data:
                self._file.write(data)
                self._file.flush()
                os.fsync(self._file.fileno())
                self.bytes = len(data)
            return
        if not data:
            path.unlink(missing_ok=True)
            return
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def close(self) -> None:
        empty = self.bytes == 0
        self._file.close()
        if empty:
            self._path.unlink(missing_ok=True)

    def _claimable(self, path: Path) -> bool:
        if path.name.startswith("claimed-") and _alive(int(path.name.split("-")[1])):
            return False  # another live process is replaying it
        try:
            with path.open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer is alive: not ours
                return True
        except (BlockingIOError, FileNotFoundError):
            return False

    def _claim(self, path: Path) -> Path | None:
        if not self._claimable(path):
            return None
        claimed = self._directory / f"claimed-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        try:
            os.rename(path, claimed)  # atomic: another process renaming it first wins
        except FileNotFoundError:
            return None
        return claimed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _read(path: Path) -> list[dict[str, Any]]:
    records = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            log.error("audit spool: skipped a torn line", extra={"spool": path.name})
    return records
