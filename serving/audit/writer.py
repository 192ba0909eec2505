"""Audit records off the hot path: requests hand a record over (a list append), a background
task appends batches to the trail, a graceful stop flushes what is left.

While the store is down, batches go to the on-disk spool and are replayed, oldest first,
when it answers again. When the spool is full too, `accepting` turns false and new API
requests are refused (503 audit_unavailable): nothing that is served goes unaudited. A
record waits in memory for at most one flush interval (200 ms by default); a crash within
it loses those records, which the README states."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from serving.audit.spool import Spool
from serving.audit.trail import AuditTrail, ChainContended
from serving.background import stop_task
from serving.observability.metrics import Metrics
from serving.settings import AuditConfig
from serving.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)
# Why a flush did not reach the store: it is down, the spool's disk failed, or another writer won.
_UNWRITTEN: tuple[type[Exception], ...] = (*STORE_ERRORS, OSError, ChainContended)

FLUSH_GRACE_SECONDS = 10.0  # a flush's store calls time out well within this


class AuditWriter:
    def __init__(self, trail: AuditTrail, config: AuditConfig, metrics: Metrics) -> None:
        self._trail = trail
        self._config = config
        self._metrics = metrics
        self._queue: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._spool: Spool | None = None
        self._flushing = asyncio.Lock()
        self._stopping = False
        self._replay_due = False  # spool files to replay (ours, or left by a process that died)
        self._disk_failed = False
        self._last_trim = 0.0
        self._last_head_log = 0.0
        self.store_down = False

    @property
    def accepting(self) -> bool:
        if self._disk_failed:
            return False
        return self._spool is None or not (self.store_down and self._spool.full)

    def record(self, record: dict[str, Any]) -> None:
        self._queue.append(record)
        if len(self._queue) >= self._config.batch_size:
            self._wake.set()

    def start(self) -> None:
        self._spool = Spool(self._config.spool_dir, max_bytes=self._config.spool_max_bytes)
        self._replay_due = self._spool.has_orphans()
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Let the writer finish its flush (never cut one short: its batch would be lost),
        then flush what is left, to the store or the spool."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        # A flush in progress ends within the store's own timeouts; past that, a hung writer
        # must not hold shutdown: the flush below takes over its queue (or spools it).
        await stop_task(task, name="audit-writer", grace=FLUSH_GRACE_SECONDS)
        try:
            async with asyncio.timeout(FLUSH_GRACE_SECONDS):
                await self.flush()
        except TimeoutError:
            log.error(
                "audit: the final flush did not finish in time; records may be lost", extra={"queued": len(self._queue)}
            )
        if self._spool is not None:
            self._spool.close()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.flush_interval_seconds)
            self._wake.clear()
            try:
                await self.flush()
                if not self._stopping:
                    await self._maintain()
            except STORE_ERRORS as exc:  # the next flush finds out and spools
                log.warning("audit: maintenance skipped", extra={"error_type": type(exc).__name__})
            except Exception:  # the writer must outlive any one failure
                log.exception("audit writer: flush failed")

    async def flush(self) -> None:
        """Spooled records first (they are older), then the queue; on failure, to the spool."""
        async with self._flushing:
            batch, self._queue = self._queue, []
            behind = self._spool is not None and (self.store_down or self._replay_due or self._spool.bytes > 0)
            if behind and not await self._replay():
                await self._to_spool(batch)
                return
            if not batch:
                return
            try:
                await self._trail.append(batch)
            except asyncio.CancelledError:
                self._queue[:0] = batch  # cut short (a stop past its grace): the final flush takes it
                raise
            except _UNWRITTEN as exc:
                self._store_failed(exc)
                await self._to_spool(batch)
                return
            self._metrics.audit_records.labels("stored").inc(len(batch))

    async def _replay(self) -> bool:
        assert self._spool is not None
        spool = self._spool
        try:
            if self.store_down:
                await self._trail.ping()  # before reading any file: is it back?
            for path, records in await asyncio.to_thread(spool.pending):
                sent = 0
                try:
                    for start in range(0, len(records), self._config.batch_size):
                        await self._trail.append(records[start : start + self._config.batch_size])
                        sent = start + self._config.batch_size
                finally:
                    await asyncio.to_thread(spool.keep, path, records[sent:])  # never resend a stored batch
                self._metrics.audit_records.labels("replayed").inc(min(sent, len(records)))
                if records:
                    log.info("audit: spooled records replayed", extra={"records": len(records)})
        except _UNWRITTEN as exc:
            self._store_failed(exc)
            return False
        self._metrics.audit_spooled_bytes.set(spool.bytes)
        if self.store_down:
            log.info("audit: the store is back")
        self.store_down = self._replay_due = False
        return True

    async def _to_spool(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        if self._spool is None:  # never started (a test's app without lifespan): nowhere to keep them
            self._metrics.audit_records.labels("dropped").inc(len(batch))
            return
        try:
            await asyncio.to_thread(self._spool.write, batch)
        except OSError as exc:
            # The disk refused too: keep them in memory and serve nothing more until it works.
            log.error("audit: the spool can't be written", extra={"error_type": type(exc).__name__})
            self._queue[:0] = batch
            self._disk_failed = True
            return
        self._disk_failed = False
        self._metrics.audit_records.labels("spooled").inc(len(batch))
        self._metrics.audit_spooled_bytes.set(self._spool.bytes)

    def _store_failed(self, exc: BaseException) -> None:
        if not self.store_down:
            log.error("audit: the store is unavailable, spooling to disk", extra={"error_type": type(exc).__name__})
        self.store_down = True

    async def _maintain(self) -> None:
        """Hourly retention trim, and the chain's head in the log every ten minutes: a copy
        outside the store, against which a rewritten chain would not match."""
        now = time.time()
        if self.store_down:
            return
        if now - self._last_head_log >= 600:
            seq, digest = await self._trail.head()
            log.info("audit chain head", extra={"audit_seq": seq, "audit_hash": digest})
            self._last_head_log = now
        if self._config.retention_days and now - self._last_trim >= 3600:
            removed = await self._trail.trim_before(int((now - self._config.retention_days * 86400) * 1000))
            if removed:
                log.info("audit: records past retention removed", extra={"records": removed})
            self._last_trim = now
