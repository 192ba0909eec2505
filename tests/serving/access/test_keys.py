"""Key records in the store: only a hash of the secret kept, create / get / list / update / revoke."""

from __future__ import annotations

import pytest

from serving.access.keys import KeyNotFound, KeyRecord, KeyStore, hash_key, new_key_id, record_key
from serving.store.connection import KEY_INDEX, decode
from tests.support.keys import Connect


async def test_a_key_is_stored_under_its_hash_never_its_secret(connect: Connect) -> None:
    redis = connect()
    record, secret = await KeyStore(redis).create(KeyRecord(id="key_a", name="clinic", models=["medgemma"], rpm=5))
    assert secret.startswith("sk-pc-") and record.created_at > 0
    stored = decode(await redis.hgetall(record_key(hash_key(secret))))
    assert stored["id"] == "key_a" and stored["models"] == "medgemma" and stored["rpm"] == "5"
    assert secret not in str(stored) and decode(await redis.hgetall(KEY_INDEX)) == {"key_a": hash_key(secret)}


async def test_get_list_update_revoke(connect: Connect) -> None:
    store = KeyStore(connect())
    await store.create(KeyRecord(id="key_b", name="b", created_at=2))
    await store.create(KeyRecord(id="key_a", name="a", created_at=1))
    assert [r.id for r in await store.list()] == ["key_a", "key_b"]  # oldest first
    updated = await store.update("key_a", rpm=9, models=["gpt-5", "medgemma"])
    assert (await store.get("key_a")) == updated and updated.rpm == 9
    assert (await store.revoke("key_b")).disabled and (await store.get("key_b")).disabled
    with pytest.raises(ValueError, match="cannot update"):
        await store.update("key_a", id="key_x")
    with pytest.raises(KeyNotFound):
        await store.get("key_missing")
    with pytest.raises(KeyNotFound):
        await store.revoke("key_missing")


def test_ids_and_hashes() -> None:
    assert new_key_id().startswith("key_") and new_key_id() != new_key_id()
    assert hash_key("sk-a") == hash_key("sk-a") != hash_key("sk-b") and len(hash_key("x")) == 64
    assert KeyRecord(id="k", name="n", models=["a", "b"]).to_redis()["models"] == "a,b"


@pytest.mark.parametrize("models", [[], [""], [" a"], ["a,b"], ["*", "a"]])
async def test_an_empty_or_malformed_model_grant_is_refused_not_unrestricted(
    connect: Connect, models: list[str]
) -> None:
    store = KeyStore(connect())
    with pytest.raises(ValueError, match="models"):
        await store.create(KeyRecord(id="key_x", name="x", models=models))
    await store.create(KeyRecord(id="key_y", name="y", models=["medgemma"]))
    with pytest.raises(ValueError, match="models"):
        await store.update("key_y", models=models)
    assert (await store.get("key_y")).models == ["medgemma"]


async def test_deleting_a_record_leaves_an_index_entry_that_names_another(connect: Connect) -> None:
    redis = connect()
    store = KeyStore(redis)
    _, old = await store.create(KeyRecord(id="static-clinic", name="clinic"))
    _, new = await store.create(KeyRecord(id="static-clinic", name="clinic"))  # rotated meanwhile
    await store.delete("static-clinic", hash_key(old))
    assert decode(await redis.hgetall(KEY_INDEX)) == {"static-clinic": hash_key(new)}
    assert await store.get_by_hash(hash_key(old)) is None


async def test_installing_a_config_key_keeps_a_revocation(connect: Connect) -> None:
    store = KeyStore(connect())
    secret = "sk-static-0123456789abcdefghij"
    await store.install(KeyRecord(id="static-c", name="c", rpm=1), secret)
    created = (await store.get("static-c")).created_at
    await store.revoke("static-c")
    await store.install(KeyRecord(id="static-c", name="c", rpm=2), secret)
    record = await store.get("static-c")
    assert record.disabled and record.rpm == 2 and record.created_at == created


async def test_a_record_with_empty_fields_is_read_with_their_defaults(connect: Connect) -> None:
    """An empty name (the CLI accepts one) stays a name; an empty list, count or choice, or one a
    record of an older release lacks, takes its default: such a key can still be listed and revoked."""
    redis = connect()
    store = KeyStore(redis)
    _, secret = await store.create(KeyRecord(id="key_e", name=""))
    await redis.hset(record_key(hash_key(secret)), mapping={"rpm": "", "priority": "", "models": ""})
    await redis.hdel(record_key(hash_key(secret)), "response_cache", "allow_store")
    (listed,) = await store.list()
    assert listed.public()["name"] == "" and listed.rpm == 0 and listed.priority == "interactive"
    assert listed.models == ["*"] and listed.allow_store == [] and listed.response_cache is False
    assert (await store.revoke("key_e")).disabled is True
