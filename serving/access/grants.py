"""What a key may use: the one check of a model grant, shared by the config file, the admin API,
the CLI and the key store (no imports of its own, so configuration can use it)."""

from __future__ import annotations


def check_models(models: list[str]) -> list[str]:
    """A key's model grant: one or more aliases, or ["*"] for all. An empty list or an empty
    name is a mistake, never "all models"."""
    if not models:
        raise ValueError("models must name at least one model alias, or * for all")
    for model in models:
        if not model or model != model.strip() or "," in model:
            raise ValueError(f"models: {model!r} is not a model alias")
    if "*" in models and len(models) > 1:
        raise ValueError("models: * (all models) cannot be combined with named aliases")
    return models
