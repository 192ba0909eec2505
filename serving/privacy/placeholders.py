"""The placeholders identifiers become: [TYPE_N], one type per kind of HIPAA identifier. Kept
apart from the detector so that restoring a response imports nothing heavy."""

from __future__ import annotations

import re

TYPES = (
    "ACCOUNT",
    "ADDRESS",
    "AGE",
    "DATE",
    "DEVICE",
    "EMAIL",
    "HEALTH_PLAN",
    "ID",
    "IP",
    "LICENSE",
    "MRN",
    "NAME",
    "NPI",
    "PHONE",
    "SSN",
    "URL",
    "VEHICLE",
    "ZIP",
)
# Up to nine digits: a request holds at most 256 K characters to screen, far fewer identifiers.
MAX_DIGITS = 9
PLACEHOLDER = re.compile(r"\[(" + "|".join(TYPES) + r")_(\d{1," + str(MAX_DIGITS) + r"})\]")
LONGEST_PLACEHOLDER = max(len(kind) for kind in TYPES) + len("[_]") + MAX_DIGITS


def could_begin_placeholder(tail: str) -> bool:
    """Whether `tail` (from a "[" to the end of the text so far) may be the start of a
    placeholder that the next chunk completes."""
    if len(tail) >= LONGEST_PLACEHOLDER or "]" in tail:
        return False
    body = tail[1:]
    for kind in TYPES:
        prefix = kind + "_"
        if prefix.startswith(body):
            return True
        if body.startswith(prefix) and body[len(prefix) :].isdigit() and len(body) - len(prefix) < MAX_DIGITS:
            return True
    return False
