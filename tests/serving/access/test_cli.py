"""`python -m serving keys ...` against a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
import yaml

from serving.access.cli import main
from serving.audit.chain import verify
from serving.audit.trail import STREAM
from tests.conftest import RedisServer
from tests.support.stack import facade_config, refused_url, vllm_backend


@pytest.fixture
def config_file(tmp_path: Path, redis_server: RedisServer) -> Path:
    path = tmp_path / "serving.yaml"
    config = facade_config(
        {"b": vllm_backend(refused_url(), "m")}, {"medgemma": ["b"]}, {"redis_url": redis_server.url}
    )
    path.write_text(yaml.safe_dump(config))
    return path


def run(config_file: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["--config", str(config_file), *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_create_update_revoke(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        config_file, capsys, "create", "--name", "clinic", "--models", "medgemma", "--max-in-flight", "4"
    )
    created = json.loads(out)
    assert status == 0 and created["key"].startswith("sk-pc-") and created["max_in_flight"] == 4
    status, out, _ = run(config_file, capsys, "update", created["id"], "--rpm", "7", "--models", "medgemma,gpt-5")
    assert status == 0 and json.loads(out)["models"] == ["medgemma", "gpt-5"]
    status, out, _ = run(config_file, capsys, "revoke", created["id"])
    assert status == 0 and json.loads(out)["disabled"] is True
    status, out, _ = run(config_file, capsys, "list")
    assert created["key"] not in out and created["id"] in out
    status, out, _ = run(config_file, capsys, "update", created["id"], "--allow-phi", "b", "--allow-images", "")
    assert status == 0 and json.loads(out)["allow_phi"] == ["b"] and json.loads(out)["allow_images"] == []
    status, out, _ = run(config_file, capsys, "update", created["id"], "--allow-store", "b", "--response-cache", "on")
    assert status == 0 and json.loads(out)["allow_store"] == ["b"] and json.loads(out)["response_cache"] is True
    status, out, _ = run(config_file, capsys, "show", created["id"])
    assert json.loads(out)["response_cache"] is True  # kept in the store, read back


def test_the_clis_actions_join_the_audit_trail(
    config_file: Path, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(config_file, capsys, "create", "--name", "clinic")
    key_id = json.loads(out)["id"]
    run(config_file, capsys, "revoke", key_id)
    trail = redis.Redis.from_url(redis_server.url).xrange(STREAM)
    records = [json.loads(fields[b"r"]) for _, fields in trail]
    assert [(r["action"], r["target"], r["key_name"]) for r in records] == [
        ("key.created", key_id, "cli"),
        ("key.revoked", key_id, "cli"),
    ]
    assert verify([(str(r["seq"]), r) for r in records]).ok
    assert not any(r.get("key") for r in records)  # never the secret


@pytest.mark.parametrize("models", [",", "", " , ", "medgemma,,gpt-5", "medgemma,"])
def test_an_empty_model_list_is_an_error_not_all_models(
    config_file: Path, capsys: pytest.CaptureFixture[str], models: str
) -> None:
    status, out, err = run(config_file, capsys, "create", "--name", "x", "--models", models)
    assert status == 1 and "models" in err and out == ""


def test_config_keys_are_changed_in_the_config(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(config_file, capsys, "update", "static-test", "--rpm", "1")
    assert status == 1 and "config file" in err
    status, _, err = run(config_file, capsys, "show", "key_missing")
    assert status == 1 and "no key with id key_missing" in err
