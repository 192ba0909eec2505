"""The worker's settings: the endpoint key joins the config's static keys, vLLM is started only
when a model is named, and the config's local-vllm backend is pointed at it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serving.serverless.settings import WorkerSettings, vllm_env
from serving.settings import DEFAULT_CONFIG, ConfigError
from tests.support.stack import facade_config, vllm_backend

KEY = "sk-endpoint-0123456789abcdefghijk"


def config_file(tmp_path: Path, **extra: object) -> Path:
    config = facade_config({"sim": vllm_backend("http://127.0.0.1:9/v1", "m")}, {"medgemma": ["sim"]})
    config.update(extra)
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_endpoint_key_is_a_static_key_with_its_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEARCARE_CONFIG_PATH", str(config_file(tmp_path)))
    monkeypatch.setenv("PEARCARE_RUNPOD_ENDPOINT_KEY", KEY)
    monkeypatch.setenv("PEARCARE_RUNPOD_ENDPOINT_TPM", "5000")
    config = WorkerSettings().serving_config({})
    endpoint = next(key for key in config.keys if key.name == "endpoint")
    assert (endpoint.key, endpoint.tpm, endpoint.rpm, endpoint.models) == (KEY, 5000, 0, ["*"])
    assert {key.name for key in config.keys} == {"test", "limited", "endpoint"}


def test_without_an_endpoint_key_the_config_is_as_written(tmp_path: Path) -> None:
    settings = WorkerSettings(PEARCARE_CONFIG_PATH=config_file(tmp_path))
    assert {key.name for key in settings.serving_config({}).keys} == {"test", "limited"}


def test_a_config_key_named_endpoint_is_refused(tmp_path: Path) -> None:
    keys = [{"key": "sk-other-0123456789abcdefghijkl", "name": "endpoint"}]
    settings = WorkerSettings(PEARCARE_CONFIG_PATH=config_file(tmp_path, keys=keys), endpoint_key=KEY)
    with pytest.raises(ConfigError, match="endpoint"):
        settings.serving_config({})


def test_a_short_endpoint_key_is_refused() -> None:
    with pytest.raises(ValueError, match="endpoint_key"):
        WorkerSettings(endpoint_key="short")


def test_vllm_is_started_only_for_a_named_model_and_the_config_finds_it() -> None:
    assert WorkerSettings().vllm_server() is None
    settings = WorkerSettings(
        vllm_model="/models/baked",
        vllm_args='--max-model-len 8192 --structured-outputs-config \'{"backend": "xgrammar"}\'',
        vllm_chat_template=Path("/app/configs/vllm/gemma3_tools.jinja"),
    )
    server = settings.vllm_server()
    assert server is not None and server.api_key and len(server.api_key) >= 32
    command = server.command()
    assert command[command.index("--model") + 1] == "/models/baked"
    assert command[command.index("--served-model-name") + 1] == "medgemma"
    assert command[command.index("--structured-outputs-config") + 1] == '{"backend": "xgrammar"}'
    assert command[command.index("--chat-template") + 1] == "/app/configs/vllm/gemma3_tools.jinja"
    assert not any(server.api_key in argument for argument in command)  # the environment carries it
    env = vllm_env(server)
    shipped = WorkerSettings(PEARCARE_CONFIG_PATH=DEFAULT_CONFIG).serving_config(env)
    backend = shipped.backends["local-vllm"]
    assert (backend.base_url, backend.api_key, backend.model) == (server.base_url, server.api_key, "medgemma")


@pytest.mark.parametrize(
    ("argv", "env", "one_job"),
    [
        (["w", "--test_input", "{}"], {}, True),
        (["w", "--test_input={}"], {"RUNPOD_WEBHOOK_GET_JOB": "https://api.runpod.ai/job-take/x"}, True),
        (["w"], {}, True),  # off RunPod, the SDK runs test_input.json once
        (["w"], {"RUNPOD_WEBHOOK_GET_JOB": "https://api.runpod.ai/job-take/x"}, False),
        (["w", "--rp_serve_api"], {}, False),
        (["w"], {"RUNPOD_REALTIME_PORT": "8000"}, False),
    ],
)
def test_the_handler_kind_follows_how_the_sdk_will_run_it(
    argv: list[str], env: dict[str, str], one_job: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.serverless.runpod_worker import _runs_one_local_job

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _runs_one_local_job(argv, WorkerSettings()) is one_job
