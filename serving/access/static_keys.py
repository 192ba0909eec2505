"""Keys from the config file, kept in the store as ordinary records (id static-NAME).

The config file owns them: at start the store is reconciled with it. A key removed from the
file, or rotated to a new secret, stops working (its record is deleted, on every instance at
once since they share the store). A static key revoked through the admin API or the CLI stays
revoked across restarts until it is re-enabled there; its limits and models come from the file.
Limitation: while instances with an older file still run, one of them that restarts reconciles
the store with *its* file; finish a rotation's rollout (or restart the new instances after it).
"""

from __future__ import annotations

import asyncio
import logging

from serving.access.keys import STATIC_PREFIX, KeyRecord, KeyStore, hash_key
from serving.access.tenants import TenantStore
from serving.background import stop_task
from serving.settings import StaticKey
from serving.settings.tenants import StaticTenant
from serving.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)


class StaticKeys:
    def __init__(
        self,
        keys: KeyStore,
        static: list[StaticKey],
        tenants: TenantStore | None = None,
        static_tenants: list[StaticTenant] | None = None,
    ) -> None:
        self._keys = keys
        self._tenants = tenants
        self._static_tenants = static_tenants or []
        self._by_hash = {
            hash_key(key.key): (
                KeyRecord(id=f"{STATIC_PREFIX}{key.name}", **key.model_dump(exclude={"key"})),
                key.key,
            )
            for key in static
        }
        self._reinstalling = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self, retry_seconds: float = 5.0) -> None:
        """Reconcile now; while the store is unreachable, keep retrying in the background."""
        try:
            await self.install()
            return
        except STORE_ERRORS as exc:
            log.error("could not reconcile config keys; retrying", extra={"error_type": type(exc).__name__})

        async def reconcile() -> None:
            while True:
                await asyncio.sleep(retry_seconds)
                try:
                    await self.install()
                    log.info("config keys reconciled")
                    return
                except STORE_ERRORS as exc:
                    log.error("could not reconcile config keys; retrying", extra={"error_type": type(exc).__name__})

        self._task = asyncio.get_running_loop().create_task(reconcile())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await stop_task(task, name="static-keys-reconcile")

    def owns(self, key_id: str) -> bool:
        return key_id.startswith(STATIC_PREFIX)

    async def install(self) -> None:
        """Reconcile the store with the config file's tenants (written, never removed) and keys."""
        if self._tenants is not None:
            for tenant in self._static_tenants:
                await self._tenants.install(tenant)
        for key_hash in await self._keys.record_hashes():
            if key_hash in self._by_hash:
                continue
            record = await self._keys.get_by_hash(key_hash)
            if record is not None and self.owns(record.id):  # removed from the file, or rotated
                await self._keys.delete(record.id, key_hash)
                log.warning("static key removed from the store: not in the config", extra={"key_id": record.id})
        for record, secret in self._by_hash.values():
            await self._keys.install(record, secret)

    async def reinstall(self, key_hash: str) -> bool:
        """Re-create one config-file key, only when the store lost everything (a Redis without
        persistence came back empty); never a key the store forgot on purpose."""
        if key_hash not in self._by_hash:
            return False
        async with self._reinstalling:  # one re-creation at a time, however many requests ask
            if not await self._keys.store_is_empty():
                return await self._keys.get_by_hash(key_hash) is not None  # done meanwhile: look again
            await self.install()
            return True
