"""The audit spool's ownership of files (#26 item 2): a lock, never a PID. A process that
restarts with the PID of its predecessor, or a dead process whose PID now belongs to another
live one, must not strand records: they never joined the chain, so verify would not notice."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import orjson

from serving.audit.spool import Spool


def spool_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir(mode=0o700)
    return directory


def leftover(directory: Path, name: str, *ids: str) -> Path:
    path = directory / name
    path.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in ids))
    return path


def replayed(spool: Spool) -> list[str]:
    return [record["id"] for _, records in spool.pending() for record in records]


def test_a_claimed_file_left_under_this_processs_own_pid_is_replayed_at_start(tmp_path: Path) -> None:
    """A container restarts as PID 1 again: its predecessor's claimed file carries the same PID."""
    directory = spool_dir(tmp_path)
    leftover(directory, f"claimed-{os.getpid()}-0a0a0a0a.jsonl", "r1", "r2")
    spool = Spool(directory, max_bytes=1 << 20)
    try:
        assert spool.has_orphans()
        assert replayed(spool) == ["r1", "r2"]
    finally:
        spool.close()


def test_a_claimed_file_whose_pid_another_live_process_now_has_is_claimed(tmp_path: Path) -> None:
    directory = spool_dir(tmp_path)
    leftover(directory, f"claimed-{os.getppid()}-0b0b0b0b.jsonl", "r3")  # the PID of a live process
    spool = Spool(directory, max_bytes=1 << 20)
    try:
        assert spool.has_orphans() and replayed(spool) == ["r3"]
    finally:
        spool.close()


def test_a_file_its_owner_still_holds_is_left_alone(tmp_path: Path) -> None:
    directory = spool_dir(tmp_path)
    path = leftover(directory, "audit-0c0c0c0c0c0c.jsonl", "r4")
    with path.open("rb") as owner:
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer is alive
        spool = Spool(directory, max_bytes=1 << 20)
        try:
            assert not spool.has_orphans() and replayed(spool) == []
        finally:
            spool.close()
    assert path.exists()


def test_claimed_records_stay_with_their_claimant_until_it_ends_then_go_to_the_next(tmp_path: Path) -> None:
    directory = spool_dir(tmp_path)
    leftover(directory, "audit-0d0d0d0d0d0d.jsonl", "r5", "r6")
    first = Spool(directory, max_bytes=1 << 20)
    batches = first.pending()
    assert [r["id"] for _, records in batches for r in records] == ["r5", "r6"]
    claimed, _ = batches[0]
    first.keep(claimed, [{"id": "r6"}])  # r5 sent, r6 not yet: the rewrite stays locked
    second = Spool(directory, max_bytes=1 << 20)
    try:
        assert not second.has_orphans() and replayed(second) == []
        first.close()  # the claimant ends with r6 unsent
        assert second.has_orphans() and replayed(second) == ["r6"]
    finally:
        second.close()


def test_replay_reads_every_leftover_oldest_first_and_skips_a_torn_line(tmp_path: Path) -> None:
    directory = spool_dir(tmp_path)
    older = leftover(directory, "audit-0e0e0e0e0e0e.jsonl", "a1", "a2")
    os.utime(older, (1, 1))  # written long before the other
    newer = directory / "claimed-0f0f0f0f0f0f-00000000.jsonl"
    newer.write_bytes(
        orjson.dumps({"id": "b1"}) + b"\n" + b'{"id": "b2", "torn' + b"\n" + orjson.dumps({"id": "b3"}) + b"\n"
    )
    spool = Spool(directory, max_bytes=1 << 20)
    try:
        spool.write([{"id": "own"}])
        assert replayed(spool) == ["a1", "a2", "b1", "b3", "own"]  # a crash mid-line loses that line only
    finally:
        spool.close()


def test_a_file_rewritten_by_its_owner_after_a_claimant_opened_it_is_not_taken(tmp_path: Path) -> None:
    """The claimant opens the name, its owner rewrites the file (os.replace: a new, locked inode)
    and lets the old one go; the claimant's lock then holds a dead inode and must not rename
    the owner's live file."""
    directory = spool_dir(tmp_path)
    leftover(directory, "audit-111111111111.jsonl", "q1", "q2")
    owner = Spool(directory, max_bytes=1 << 20)
    claimed, _ = owner.pending()[0]
    stale = claimed.open("rb")  # what a claimant opened before the rewrite
    owner.keep(claimed, [{"id": "q2"}])  # the rewrite: a new file under the name, locked; the old let go
    other = Spool(directory, max_bytes=1 << 20)
    try:
        assert other._take(claimed, stale) is None  # its lock on the dead inode takes nothing
        assert claimed.exists() and replayed(other) == []
    finally:
        other.close()
    owner.close()
