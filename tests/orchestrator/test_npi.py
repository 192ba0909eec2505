"""The NPI's shape: ten digits, first 1 or 2, a Luhn check digit over 80840 + the first nine."""

from __future__ import annotations

from orchestrator.npi import npi_check_digit, npi_is_valid


def test_the_check_digit_and_the_shape() -> None:
    assert npi_check_digit("123456789") == "3"  # CMS's worked example: 1234567893
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")  # wrong check digit
    assert not npi_is_valid("3234567893")  # an NPI begins with 1 or 2
    assert not npi_is_valid("12345") and not npi_is_valid("12345678x3")  # short; not all digits
