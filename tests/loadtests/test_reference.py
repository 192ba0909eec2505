"""The reference gateway's setup (loadtests/reference.py), without installing it: the pinned
release, the refusal of the compromised one, and a config that points LiteLLM at the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests import reference
from loadtests.measure import KEY


def test_the_compromised_release_is_never_installed(tmp_path: Path) -> None:
    assert reference.LITELLM_VERSION == "1.106.2"
    with pytest.raises(ValueError, match="compromised"):
        reference.install_litellm(tmp_path / "venv", version="1.107.0")
    assert not (tmp_path / "venv").exists()  # refused before anything was made


def test_the_config_points_the_bench_alias_at_the_upstream() -> None:
    config = reference.litellm_config("http://127.0.0.1:9/v1", "sim")
    (model,) = config["model_list"]
    assert model["model_name"] == "bench"
    assert model["litellm_params"]["model"] == "openai/sim" and model["litellm_params"]["api_base"].endswith("/v1")
    assert config["general_settings"] == {"master_key": KEY}  # the bench key works, no database
