"""${VAR} references in the config file: substituted after parsing, an unset one marked MISSING."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The config file is unreadable or invalid; the message says where."""


class _Missing:
    """Marks a value whose ${VAR} was unset: a disabled backend or key, not a crash."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def substitute_env(node: Any, env: Mapping[str, str]) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string of a parsed YAML tree.

    Done after parsing, so a secret's characters can never change the YAML's structure.
    A string referring to an unset variable with no default becomes MISSING.
    """
    if isinstance(node, dict):
        return {key: substitute_env(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute_env(value, env) for value in node]
    if not isinstance(node, str) or "${" not in node:
        return node
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or value == "":
            if default is None:
                missing = True
                return ""
            return default
        return value

    result = _ENV_REF.sub(replace, node)
    return MISSING if missing else result
