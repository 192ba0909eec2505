"""The model aliases the façade serves, and which of them a caller may see and use."""

from __future__ import annotations

from collections.abc import Iterable

from serving.access.limits import Grant
from serving.errors import ModelNotFound


class ModelCatalog:
    def __init__(self, generation_aliases: Iterable[str], *, consultation_alias: str | None) -> None:
        self._generation = list(generation_aliases)
        self._known = frozenset(self._generation)
        self._consultation = consultation_alias

    def serves(self, model: str) -> bool:
        """A generation alias (chat, completions, embeddings) of the config."""
        return model in self._known

    def resolve(self, allowed: frozenset[str] | None, model: str) -> str:
        """The alias a caller asked for, given the aliases its key may use (None: all); unknown
        and forbidden look the same (no leak)."""
        if model not in self._known or (allowed is not None and model not in allowed):
            raise ModelNotFound(model)
        return model

    def visible(self, grant: Grant) -> list[str]:
        aliases = [alias for alias in self._generation if grant.may_use(alias)]
        if self._consultation is not None and grant.may_use(self._consultation):
            aliases.append(self._consultation)
        return aliases
