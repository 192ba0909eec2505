"""What a request costs: published per-million prices, a GPU-hour turned into per-token prices,
the worst case admission reserves, and the config's checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.access.prices import PriceList, TokenPrices, dollars, nanos
from serving.settings import BackendConfig
from serving.settings.pricing import Pricing

GPT5 = {"input_per_million": 1.25, "cached_input_per_million": 0.125, "output_per_million": 10.0}


def backend(**pricing: float) -> BackendConfig:
    return BackendConfig(kind="openai", base_url="https://api.example/v1", model="m", pricing=pricing or None)


def test_published_prices_per_token_and_a_requests_cost() -> None:
    prices = TokenPrices(*Pricing(**GPT5).per_token())
    assert (prices.input, prices.cached_input, prices.output) == (1250, 125, 10_000)  # nano-dollars a token
    # 1,000 prompt tokens of which 400 cached, 500 output (reasoning included): $0.00575
    assert prices.cost(1000, 500, cached=400) == 600 * 1250 + 400 * 125 + 500 * 10_000 == 5_800_000
    assert dollars(prices.cost(1000, 500, cached=400)) == pytest.approx(0.0058)
    assert prices.cost(10, 0, cached=50) == 10 * 125  # never more cached than prompt


def test_a_gpu_hour_becomes_per_token_prices() -> None:
    # $2.50 an hour, 10,000 prompt and 1,000 output tokens a second at full batch
    pricing = Pricing(gpu_hour=2.5, input_tokens_per_second=10_000, output_tokens_per_second=1_000)
    per_input, per_cached, per_output = pricing.per_token()
    assert per_output == pytest.approx(2.5e9 / 3600 / 1000)  # ~694 nano-dollars a token
    assert per_input == per_cached == pytest.approx(2.5e9 / 3600 / 10_000)
    assert TokenPrices(*pricing.per_token()).cost(3600 * 10_000, 0) == nanos(2.5)  # an hour of prefill: $2.50


def test_the_worst_case_is_the_dearest_backend_of_the_alias() -> None:
    prices = PriceList(
        {"cheap": backend(input_per_million=1, output_per_million=2), "dear": backend(**GPT5), "free": backend()},
        {"fallback": ["cheap", "dear"], "local": ["free"]},
    )
    assert prices.worst_case("fallback", 100, 50) == 100 * 1250 + 50 * 10_000
    assert prices.worst_case("local", 100, 50) == 0 and prices.worst_case("unknown", 100, 50) == 0
    assert prices.cost("cheap", 100, 50) == 100 * 1000 + 50 * 2000
    assert prices.cost(None, 100, 50) == 0 and prices.priced


@pytest.mark.parametrize(
    "pricing",
    [
        {"input_per_million": 1},  # no output price
        {"gpu_hour": 2},  # no throughput
        {"input_per_million": 1, "output_per_million": 2, "gpu_hour": 2},  # both ways
        {"input_per_million": -1, "output_per_million": 2},
        {"input_per_million": 1, "output_per_million": 2, "per_token": 3},  # unknown field
    ],
)
def test_a_pricing_that_says_too_little_or_too_much_is_refused(pricing: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        backend(**pricing)
