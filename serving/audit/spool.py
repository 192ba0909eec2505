"""Audit records waiting on local disk while the store is down: JSON Lines, one file per
process, bounded in bytes, fsynced per batch.

A process holds an exclusive lock on its own file, and on every file it has claimed, for as
long as it lives: ownership is the lock, never a PID (a restarted container is PID 1 again,
and a dead process's PID may belong to another live one). A file nobody holds a lock on is
an orphan, whatever its name: it is claimed by locking it and renaming it to this process's
nonce (atomic: one claimant wins), and replayed with this process's own, oldest first. A
process that starts finds its predecessor's files unlocked and replays them at once. Replay is at least once: a crash
between the store's write and the file's rewrite sends a batch twice, never zero times;
records carry an id. The directory must belong to this user and be private (0700): records
found there are chained into the trail."""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO

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
        self._nonce = uuid.uuid4().hex[:12]  # this process's files, whatever its PID
        self._path = directory / f"audit-{self._nonce}.jsonl"
        # Locked before it takes its name: a peer listing the directory never sees it unlocked.
        hidden = directory / f".opening-{self._nonce}"
        self._file = hidden.open("ab")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(hidden, self._path)
        self._held: dict[Path, BinaryIO] = {}  # claimed files, locked while this process lives
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
        paths = [*self._directory.glob("audit-*.jsonl"), *self._directory.glob("claimed-*.jsonl")]
        return [p for p in paths if p != self._path and p not in self._held]

    def has_orphans(self) -> bool:
        return any(self._claimable(path) for path in self._others())

    def pending(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """Batches to replay, oldest file first: orphans (claimed now) and this process's own."""
        found = []
        for path in sorted(self._others(), key=_age):
            claimed = self._claim(path)
            if claimed is not None:
                found.append((claimed, _read(claimed)))
        for path in sorted(self._held, key=_age):
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
        held = self._held.pop(path, None)
        if not data:
            path.unlink(missing_ok=True)
            if held is not None:
                held.close()
            return
        # The rewrite is a new file: lock it before it takes the name, so no other process can
        # claim it in between (the old file's lock goes with the old file).
        temporary = path.with_suffix(".tmp")
        handle = temporary.open("wb")
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        os.replace(temporary, path)
        self._held[path] = handle
        if held is not None:
            held.close()

    def close(self) -> None:
        empty = self.bytes == 0
        self._file.close()
        for handle in self._held.values():  # unsent claimed records: the next process's orphans
            handle.close()
        self._held.clear()
        if empty:
            self._path.unlink(missing_ok=True)

    def _claimable(self, path: Path) -> bool:
        try:
            with path.open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its owner is alive: not ours
                return True
        except (BlockingIOError, FileNotFoundError):
            return False

    def _claim(self, path: Path) -> Path | None:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        return self._take(path, handle)

    def _take(self, path: Path, handle: BinaryIO) -> Path | None:
        """Lock what `handle` opened and, if it is still the file under `path`, rename it ours."""
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process ends
        except BlockingIOError:
            handle.close()
            return None  # its writer or claimant is alive
        if not _same_file(handle, path):  # its owner rewrote it (a new, locked file) since we opened it
            handle.close()
            return None
        claimed = self._directory / f"claimed-{self._nonce}-{uuid.uuid4().hex[:8]}.jsonl"
        try:
            os.rename(path, claimed)  # atomic: another process renaming it first wins
        except FileNotFoundError:
            handle.close()
            return None
        self._held[claimed] = handle
        return claimed


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


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
