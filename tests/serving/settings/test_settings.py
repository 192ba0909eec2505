from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from serving.settings import DEFAULT_CONFIG, MISSING, ConfigError, Settings, load_config, substitute_env

CONFIG = """
server: {port: "${PORT:-8123}"}
backends:
  local: {kind: vllm, base_url: "${VLLM_URL:-http://127.0.0.1:8011/v1/}", model: m}
  openai: {kind: openai, base_url: https://api.openai.com/v1, api_key: "${OPENAI_API_KEY}", model: gpt-5}
models:
  medgemma: [local]
  gpt-5: [openai, local]
  openai-only: [openai]
keys:
  - {key: "${DEV_API_KEY}", models: ["*"]}
"""


BACKEND = "backends: {b: {kind: vllm, base_url: 'http://127.0.0.1:1/v1', model: m}}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serving.yaml"
    path.write_text(text)
    return path


def test_substitution_defaults_and_missing() -> None:
    env = {"SET": "value", "EMPTY": ""}
    assert substitute_env("${SET}", env) == "value"
    assert substitute_env("a-${SET}-b", env) == "a-value-b"
    assert substitute_env("${UNSET:-fallback}", env) == "fallback"
    assert substitute_env("${EMPTY:-fallback}", env) == "fallback"
    assert substitute_env("${UNSET}", env) is MISSING
    assert substitute_env({"k": ["${SET}", 3]}, env) == {"k": ["value", 3]}


def test_secret_cannot_change_yaml_structure(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG), {"DEV_API_KEY": "sk-x\n  - {key: injected}00000000000"})
    assert len(config.keys) == 1


def test_missing_secret_disables_backend_and_alias(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config(write(tmp_path, CONFIG), {})
    assert set(config.backends) == {"local"}
    assert config.models == {"medgemma": ["local"], "gpt-5": ["local"]}
    assert config.keys == []
    messages = [r.getMessage() for r in caplog.records]
    assert "backend disabled: its api_key is unset" in messages
    assert "model alias disabled: none of its backends is enabled" in messages


def test_values_resolved(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-real", "DEV_API_KEY": "sk-dev-0123456789abcdefghij", "PORT": "9001"}
    config = load_config(write(tmp_path, CONFIG), env)
    assert config.server.port == 9001
    assert config.backends["local"].base_url == "http://127.0.0.1:8011/v1"  # trailing slash stripped
    assert config.backends["openai"].api_key == "sk-real"
    assert config.models["gpt-5"] == ["openai", "local"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("backends: [", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("backends: {}\nmodels: {a: [nope]}", "unknown backend"),
        ("backends: {b: {kind: vllm, base_url: ftp://x, model: m}}\nmodels: {}", "base_url"),
        ("backends: {b: {kind: tgi, base_url: http://x, model: m}}\nmodels: {}", "kind"),
        ("backends: {}\nmodels: {}\nsurprise: 1", "surprise"),
        (f"{BACKEND}\nmodels: {{a: []}}", "models.a: lists no backend"),
        (f"{BACKEND}\nmodels: {{a: [b]}}\nkeys: [{{key: short}}]", "at least 20 characters"),
        (
            f"{BACKEND}\nmodels: {{a: [b]}}\nconsultation: {{stages: {{intake: a, icd: a, cpt: a, summary: nope}}}}",
            "unknown model alias",
        ),
        (f"{BACKEND}\nmodels: {{a: [b]}}\nconsultation: {{stages: {{intake: a}}}}", "name exactly the stages"),
        (f"{BACKEND}\nmodels: {{a: [b]}}\nstore: {{admin_key: short}}", "admin_key"),
        (f"{BACKEND}\nmodels: {{a: [b]}}\nkeys: [{{key: {'k' * 24}, allow_store: [nope]}}]", "allow_store"),
        (f"{BACKEND}\nmodels: {{a: [b]}}\nimages: {{tokens_per_image: -1}}", "tokens_per_image"),
        (f"{BACKEND}\nmodels: {{a: [b]}}\ncache: {{ttl_seconds: 0}}", "ttl_seconds"),
    ],
)
def test_invalid_configs_say_where(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text), {})


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml", {})


def test_shipped_config_loads_without_any_secret() -> None:
    config = load_config(DEFAULT_CONFIG, {})
    assert "openai" not in config.backends  # no OPENAI_API_KEY: disabled, not a crash
    assert config.models["gpt-5"] == ["local-vllm"]
    assert config.backends["local-vllm"].message_format == "gemma3"


def test_settings_override_host_and_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "backends: {}\nmodels: {}")
    config = Settings(config_path=path, host="0.0.0.0", port=9999).load()
    assert (config.server.host, config.server.port) == ("0.0.0.0", 9999)


def test_consultation_providers_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    text = f"{BACKEND}\nmodels: {{a: [b]}}\nconsultation: {{stages: {{intake: a, icd: a, cpt: a, summary: a}}}}"
    config = load_config(write(tmp_path, text), {})
    assert config.consultation is not None
    assert config.consultation.providers_file == tmp_path / "providers.json"
    absolute = text.replace("summary: a}", "summary: a}, providers_file: /srv/providers.json")
    located = load_config(write(tmp_path, absolute), {}).consultation
    assert located is not None and located.providers_file == Path("/srv/providers.json")


def test_several_workers_need_a_shared_store(tmp_path: Path) -> None:
    path = write(tmp_path, f"{BACKEND}\nmodels: {{a: [b]}}\nserver: {{workers: 2}}")
    with pytest.raises(ConfigError, match="each worker would enforce its own limits"):
        Settings(config_path=path).load()
    with pytest.raises(ConfigError, match="REDIS_URL"):  # from the command line too
        Settings(config_path=write(tmp_path, f"{BACKEND}\nmodels: {{a: [b]}}"), workers=4).load()
    shared = write(
        tmp_path, f"{BACKEND}\nmodels: {{a: [b]}}\nserver: {{workers: 2}}\nstore: {{redis_url: 'redis://:pw@x'}}"
    )
    assert Settings(config_path=shared).load().server.workers == 2


def test_a_bad_config_exits_with_status_2_and_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, f"{BACKEND}\nmodels: {{a: [nope]}}")
    result = subprocess.run(
        [sys.executable, "-m", "serving", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown backend(s) ['nope']" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "allowed", "accepted"),
    [
        ("redis://127.0.0.1:6379/0", False, False),
        ("rediss://redis.example:6380/0", False, False),
        ("redis://:s3cret@127.0.0.1:6379/0", False, True),
        ("rediss://facade:s3cret@redis.example:6380/0", False, True),
        ("redis://127.0.0.1:6379/0", True, True),
    ],
)
def test_a_store_without_credentials_is_refused_unless_allowed(
    tmp_path: Path, url: str, allowed: bool, accepted: bool
) -> None:
    store = f"{{redis_url: '{url}', allow_unauthenticated_store: {str(allowed).lower()}}}"
    text = f"{BACKEND}\nmodels: {{a: [b]}}\nstore: {store}"
    if accepted:
        assert load_config(write(tmp_path, text), {}).store.redis_url == url
    else:
        with pytest.raises(ConfigError, match="no credentials"):
            load_config(write(tmp_path, text), {})
