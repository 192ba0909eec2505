"""Config-file keys as store records, and their re-creation when the store came back empty."""

from __future__ import annotations

from serving.access.keys import KeyStore, hash_key
from serving.access.static_keys import StaticKeys
from serving.settings import StaticKey
from tests.support.keys import Connect

SECRET = "sk-static-0123456789abcdefghij"


async def test_install_and_reinstall_after_the_store_was_emptied(connect: Connect) -> None:
    redis = connect()
    keys = KeyStore(redis)
    static = StaticKeys(keys, [StaticKey(key=SECRET, name="clinic", models=["medgemma"], rpm=3)])
    await static.install()
    record = await keys.get("static-clinic")
    assert (record.name, record.models, record.rpm) == ("clinic", ["medgemma"], 3)
    await redis.flushall()
    assert not await static.reinstall(hash_key("sk-someone-else-0123456789"))
    assert await static.reinstall(hash_key(SECRET))
    assert (await keys.get("static-clinic")).rpm == 3
