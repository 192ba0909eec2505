"""Config-file keys across instances and restarts, against a real Redis: revocation sticks,
rotation and removal take effect on every instance, old instances do not bring keys back."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RedisServer
from tests.support.stack import facade, facade_config, refused_url, vllm_backend

ADMIN_KEY = "admin-0123456789abcdefghijklmnop"
FIRST = "sk-clinic-first-0123456789abcdef"
ROTATED = "sk-clinic-rotated-0123456789abcd"


def config(redis_url: str, clinic_secret: str | None) -> dict[str, Any]:
    base = facade_config(
        {"b": vllm_backend(refused_url(), "m")},
        {"medgemma": ["b"]},
        store={"redis_url": redis_url, "admin_key": ADMIN_KEY},
    )
    if clinic_secret is not None:
        base["keys"].append({"key": clinic_secret, "name": "clinic", "models": ["medgemma"], "rpm": 100})
    return base


def models_status(root: str, secret: str) -> int:
    return httpx.get(root + "/v1/models", headers={"authorization": f"Bearer {secret}"}).status_code


def admin(root: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, root + path, headers={"authorization": f"Bearer {ADMIN_KEY}"}, **kwargs)


def test_revocation_sticks_across_restarts_and_only_revocation_is_allowed(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with facade(tmp_path, config(redis_server.url, FIRST)) as first:
        assert models_status(first.root_url, FIRST) == 200
        changed = admin(first.root_url, "PATCH", "/admin/keys/static-clinic", json={"rpm": 5})
        assert changed.status_code == 409 and changed.json()["error"]["code"] == "key_managed_by_config"
        assert admin(first.root_url, "DELETE", "/admin/keys/static-clinic").json()["disabled"] is True
        assert models_status(first.root_url, FIRST) == 401
    with facade(tmp_path, config(redis_server.url, FIRST)) as restarted:  # a new pod, same config
        assert models_status(restarted.root_url, FIRST) == 401, "a restart must not undo a revocation"
        enabled = admin(restarted.root_url, "PATCH", "/admin/keys/static-clinic", json={"disabled": False})
        assert enabled.status_code == 200
        assert models_status(restarted.root_url, FIRST) == 200


def test_rotation_and_removal_reach_every_instance(tmp_path: Path, redis_server: RedisServer) -> None:
    with ExitStack() as running:
        old = running.enter_context(facade(tmp_path, config(redis_server.url, FIRST)))
        assert models_status(old.root_url, FIRST) == 200
        rotated = running.enter_context(facade(tmp_path, config(redis_server.url, ROTATED)))
        for root in (old.root_url, rotated.root_url):  # the old instance still has FIRST in its config
            assert models_status(root, FIRST) == 401
            assert models_status(root, ROTATED) == 200
        listed = admin(rotated.root_url, "GET", "/admin/keys").json()["data"]
        assert [row["id"] for row in listed if row["id"] == "static-clinic"] == ["static-clinic"]

        removed = running.enter_context(facade(tmp_path, config(redis_server.url, None)))
        for root in (old.root_url, rotated.root_url, removed.root_url):
            assert models_status(root, ROTATED) == 401
            assert models_status(root, FIRST) == 401
        listed = admin(removed.root_url, "GET", "/admin/keys").json()["data"]
        assert "static-clinic" not in {row["id"] for row in listed}


def test_a_store_that_lost_everything_gets_the_config_keys_back(tmp_path: Path, redis_server: RedisServer) -> None:
    with facade(tmp_path, config(redis_server.url, FIRST)) as running:
        redis_server.stop()
        redis_server.start()  # no persistence: empty
        assert models_status(running.root_url, FIRST) == 200
