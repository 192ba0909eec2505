"""The National Provider Identifier's shape (CMS): ten digits, the first 1 or 2, the last a Luhn
check digit over "80840" and the first nine. One definition for the provider directory and the
façade's identifier detection."""

from __future__ import annotations


def npi_check_digit(first_nine: str) -> str:
    """Luhn over 80840 + the first nine digits (the NPI standard)."""
    total = 0
    for index, digit in enumerate(int(d) for d in reversed("80840" + first_nine)):
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi[0] in "12" and npi_check_digit(npi[:9]) == npi[9]
