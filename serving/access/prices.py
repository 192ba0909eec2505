"""What a request costs, in nano-dollars (integers: a budget's counters are exact, and a month of
a busy clinic stays far below 2^53), from the backends' prices (serving/settings/pricing.py).

Admission charges the worst case up front: the prompt's estimate at the dearest input price and
the whole token cap at the dearest output price among the backends an alias may fall back to.
Settlement charges what the backend that answered really used: uncached input, cached input and
output (reasoning tokens are part of output)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from serving.settings import BackendConfig
from serving.settings.pricing import NANOS_PER_DOLLAR


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """Nano-dollars per token."""

    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0

    def cost(self, prompt: int, completion: int, cached: int = 0) -> int:
        cached = min(max(cached, 0), prompt)
        return round((prompt - cached) * self.input + cached * self.cached_input + completion * self.output)


FREE = TokenPrices()


class PriceList:
    """Every backend's prices, and each alias's worst case over its backends."""

    def __init__(self, backends: Mapping[str, BackendConfig], aliases: Mapping[str, list[str]]) -> None:
        self._by_backend = {
            name: TokenPrices(*config.pricing.per_token()) if config.pricing is not None else FREE
            for name, config in backends.items()
        }
        self._worst: dict[str, TokenPrices] = {}
        for alias, names in aliases.items():
            prices = [self._by_backend[name] for name in names if name in self._by_backend] or [FREE]
            self._worst[alias] = TokenPrices(
                max(p.input for p in prices), max(p.cached_input for p in prices), max(p.output for p in prices)
            )
        self.priced = any(prices is not FREE for prices in self._by_backend.values())
        # Our own vLLM streams a token an event: a stream cut short is counted exactly.
        self._exact = frozenset(name for name, config in backends.items() if config.kind == "vllm")

    def worst_case(self, alias: str, prompt_estimate: int, cap: int) -> int:
        """The most a request for `alias` may cost: its prompt uncached, its whole cap written."""
        return self._worst.get(alias, FREE).cost(prompt_estimate, cap)

    def counts_exactly(self, backend: str | None) -> bool:
        return backend in self._exact

    def of_backend(self, backend: str | None) -> TokenPrices:
        return self._by_backend.get(backend or "", FREE)

    def cost(self, backend: str | None, prompt: int, completion: int, cached: int = 0) -> int:
        return self.of_backend(backend).cost(prompt, completion, cached)


def dollars(nanos: int) -> float:
    return nanos / NANOS_PER_DOLLAR


def nanos(usd: float) -> int:
    return round(usd * NANOS_PER_DOLLAR)
