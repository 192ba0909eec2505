"""Keys from the config file, kept in the store as ordinary records (id static-NAME).

The config file owns them: at start the store is reconciled with it. A key removed from the
file, or rotated to a new secret, stops working (its record is deleted, on every instance at
once since they share the store). A static key revoked through the admin API or the CLI stays
revoked across restarts until it is re-enabled there; its limits and models come from the file.
"""

from __future__ import annotations

import logging

from serving.access.keys import STATIC_PREFIX, KeyRecord, KeyStore, hash_key
from serving.settings import StaticKey

log = logging.getLogger(__name__)


class StaticKeys:
    def __init__(self, keys: KeyStore, static: list[StaticKey]) -> None:
        self._keys = keys
        self._by_hash = {
            hash_key(key.key): (
                KeyRecord(
                    id=f"{STATIC_PREFIX}{key.name}",
                    name=key.name,
                    models=key.models,
                    rpm=key.rpm,
                    tpm=key.tpm,
                    daily_tokens=key.daily_tokens,
                    max_in_flight=key.max_in_flight,
                ),
                key.key,
            )
            for key in static
        }

    def owns(self, key_id: str) -> bool:
        return key_id.startswith(STATIC_PREFIX)

    async def install(self) -> None:
        """Reconcile the store with the config file's keys."""
        for key_hash in await self._keys.record_hashes():
            if key_hash in self._by_hash:
                continue
            record = await self._keys.get_by_hash(key_hash)
            if record is not None and self.owns(record.id):  # removed from the file, or rotated
                await self._keys.delete(record.id, key_hash)
                log.warning("static key removed from the store: not in the config", extra={"key_id": record.id})
        for key_hash, (record, secret) in self._by_hash.items():
            existing = await self._keys.get_by_hash(key_hash)
            if existing is not None:  # keep what the admin API decided, and when it was made
                record.disabled, record.created_at = existing.disabled, existing.created_at
            await self._keys.create(record, secret=secret)

    async def reinstall(self, key_hash: str) -> bool:
        """Re-create one config-file key, only when the store lost everything (a Redis without
        persistence came back empty); never a key the store forgot on purpose."""
        entry = self._by_hash.get(key_hash)
        if entry is None or not await self._keys.store_is_empty():
            return False
        await self.install()
        return True
