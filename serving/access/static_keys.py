"""Keys from the config file, kept in the store as ordinary records (id static-NAME)."""

from __future__ import annotations

from serving.access.keys import KeyRecord, KeyStore, hash_key
from serving.settings import StaticKey


class StaticKeys:
    def __init__(self, keys: KeyStore, static: list[StaticKey]) -> None:
        self._keys = keys
        self._by_hash = {
            hash_key(key.key): (
                KeyRecord(
                    id=f"static-{key.name}",
                    name=key.name,
                    models=key.models,
                    rpm=key.rpm,
                    tpm=key.tpm,
                    daily_tokens=key.daily_tokens,
                ),
                key.key,
            )
            for key in static
        }

    async def install(self) -> None:
        for record, secret in self._by_hash.values():
            await self._keys.create(record, secret=secret)

    async def reinstall(self, key_hash: str) -> bool:
        """Re-create one config-file key (a Redis without persistence came back empty)."""
        entry = self._by_hash.get(key_hash)
        if entry is None:
            return False
        await self._keys.create(entry[0], secret=entry[1])
        return True
