"""Audit records waiting on local disk while the store is down: JSON Lines, one file per
process, bounded in bytes, fsynced per batch.

A process holds an exclusive lock on its own file for as long as it lives; at start-up and
on each replay it also takes over the files of processes that died with records unsent (a
file whose lock it can take). Replay is at least once: records carry an id, and a crash
between the store's write and the file's truncation sends a batch twice, never zero times."""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
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

    def pending(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """Every spooled batch this process may replay: its own file, and orphans."""
        found = []
        for path in sorted(self._directory.glob("audit-*.jsonl")):
            if path == self._path:
                self._file.flush()
                records = _read(path)
            else:
                records = self._orphan(path)
            if records:
                found.append((path, records))
        return found

    def sent(self, path: Path) -> None:
        """The records of `path` are in the store: forget them."""
        if path == self._path:
            self._file.truncate(0)
            self._file.seek(0)
            self.bytes = 0
            return
        path.unlink(missing_ok=True)

    def close(self) -> None:
        empty = self.bytes == 0
        self._file.close()
        if empty:
            self._path.unlink(missing_ok=True)

    def _orphan(self, path: Path) -> list[dict[str, Any]]:
        try:
            with path.open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer is alive: not ours
                records = _read(path)
        except BlockingIOError:
            return []
        except FileNotFoundError:
            return []
        if not records:
            path.unlink(missing_ok=True)
        return records


def _read(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_bytes().splitlines():
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            log.error("audit spool: skipped a torn line", extra={"spool": path.name})
    return records
