"""ICD-10-CM and CPT/HCPCS validation: model-proposed codes are never trusted as given.

ICD-10-CM comes from `simple-icd-10-cm` (the FY2026 code set). A code that is not in the set is
repaired — its nearest valid ancestor, or a full-text search over official descriptions with the
model's own wording — or dropped. Every returned code carries its official description.

CPT is AMA-copyrighted: we check the format, and an allowlist with our own plain labels; codes
outside it are `unverified`, not invalid. HCPCS Level II is public CMS data (format only here).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import Literal

import simple_icd_10_cm as icd

IcdStatus = Literal["valid", "repaired"]

_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")  # U codes too (U07.1, U09.9)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "of",
        "or",
        "the",
        "with",
        "without",
        "to",
        "in",
        "on",
        "for",
        "by",
        "as",
        "at",
        "from",
        "not",
        "other",
        "unspecified",
    )
)


@dataclass(frozen=True, slots=True)
class IcdCode:
    code: str
    description: str  # the code set's, never the model's
    billable: bool  # a leaf of the code set; categories and subcategories are not billable
    status: IcdStatus
    proposed: str  # what the model wrote


def normalise_icd(text: str) -> str:
    code = text.strip().upper().replace(" ", "")
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


class IcdCodeSet:
    """The FY2026 ICD-10-CM set with a full-text index over descriptions and inclusion terms.

    Loading the package costs ~2 s and ~200 MB: build one per process and pass it in."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE VIRTUAL TABLE codes USING fts5(code UNINDEXED, text)")
        rows = []
        for code in icd.get_all_codes(True):
            if not icd.is_leaf(code):
                continue
            terms = " ".join(icd.get_inclusion_term(code))
            rows.append((code, f"{icd.get_description(code)} {terms}"))
        self._db.executemany("INSERT INTO codes VALUES (?, ?)", rows)
        self.size = len(rows)

    @staticmethod
    def is_valid(code: str) -> bool:
        return bool(_ICD_SHAPE.match(code)) and icd.is_valid_item(code)

    @staticmethod
    def describe(code: str) -> str:
        return str(icd.get_description(code))

    def search(self, text: str, limit: int = 5) -> list[str]:
        """Billable codes whose official wording best matches free text (BM25)."""
        words = sorted(_content_words(text))
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in words[:12])
        with self._lock:
            rows = self._db.execute(
                "SELECT code FROM codes WHERE codes MATCH ? ORDER BY bm25(codes) LIMIT ?", (query, limit)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def check(self, proposed: str, wording: str = "") -> IcdCode | None:
        """The code as it stands if valid; else repaired, or None when nothing fits (the caller
        drops it). Repairs, in order: a descendant of the nearest valid ancestor that matches the
        model's wording; that ancestor, if the wording agrees with it; the best match for the
        wording anywhere in the code set. Without wording, only the ancestor."""
        code = normalise_icd(proposed)
        if self.is_valid(code):
            return self._make(code, "valid", proposed)
        ancestor = self._nearest_valid_ancestor(code)
        if not wording.strip():
            return self._make(ancestor, "repaired", proposed) if ancestor else None
        matches = self.search(wording, 50)
        if ancestor:
            under = [match for match in matches if icd.is_descendant(match, ancestor)]
            if under:
                return self._make(under[0], "repaired", proposed)
            if _content_words(wording) & _content_words(self.describe(ancestor)):
                return self._make(ancestor, "repaired", proposed)
        # Anywhere in the code set: only a match that shares at least two words with the
        # model's wording; one stray word ("left") is no basis for a diagnosis code.
        words = _content_words(wording)
        for match in matches[:5]:
            if len(words & _content_words(self.describe(match))) >= 2:
                return self._make(match, "repaired", proposed)
        return None

    def _nearest_valid_ancestor(self, code: str) -> str | None:
        candidate = code.rstrip(".")
        while len(candidate.replace(".", "")) > 3:
            candidate = candidate[:-1].rstrip(".")
            if self.is_valid(candidate):
                return candidate
        return None

    def _make(self, code: str, status: IcdStatus, proposed: str) -> IcdCode:
        return IcdCode(code, self.describe(code), bool(icd.is_leaf(code)), status, proposed)


# --- CPT / HCPCS -------------------------------------------------------------------------

CptStatus = Literal["verified", "unverified", "invalid", "mismatch"]
CPT_TRADEMARK = "CPT® is a registered trademark of the American Medical Association."

_CPT_FORMATS = {
    "cpt_category_i": re.compile(r"^\d{5}$"),
    "cpt_category_ii": re.compile(r"^\d{4}F$"),
    "cpt_category_iii": re.compile(r"^\d{4}T$"),
    "cpt_pla": re.compile(r"^\d{4}U$"),
    "hcpcs_level_ii": re.compile(r"^[A-CEGHJ-MP-V]\d{4}$"),
}

# Our own plain labels, not AMA descriptors.
_ALLOWLIST: dict[str, str] = {
    **{f"9920{n}": f"Office visit, new patient, level {n}" for n in (2, 3, 4, 5)},
    **{f"9921{n}": f"Office visit, established patient, level {n}" for n in (1, 2, 3, 4, 5)},
    **{f"9928{n}": f"Emergency department visit, level {n}" for n in (1, 2, 3, 4, 5)},
    **{f"980{n:02d}": f"Telemedicine visit (audio-video or audio-only), code {n}" for n in range(16)},
    "98016": "Brief virtual check-in",
}
_DELETED = {
    "99201": "deleted in 2021",
    "99441": "deleted in 2025",
    "99442": "deleted in 2025",
    "99443": "deleted in 2025",
}


@dataclass(frozen=True, slots=True)
class CptCode:
    code: str
    kind: str | None
    status: CptStatus
    label: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class VisitContext:
    """What an E/M code must agree with."""

    new_patient: bool
    telehealth: bool
    emergency: bool


def _em_family(code: str) -> tuple[str, bool | None] | None:
    """(setting, new patient?) of an E/M code we know; None for any other code."""
    if code.startswith("9920"):
        return "office", True
    if code.startswith("9921"):
        return "office", False
    if code.startswith("9928"):
        return "emergency department", None
    if code.startswith("980") and code[3:].isdigit() and int(code[3:]) <= 15:
        number = int(code[3:])  # 98000-98003, 98008-98011 new; 98004-98007, 98012-98015 established
        return "telehealth", number % 8 < 4
    return None


def visit_mismatch(code: str, visit: VisitContext) -> str | None:
    """Why an E/M code does not fit the visit, or None."""
    family = _em_family(code)
    if family is None:
        return None
    setting, new_patient = family
    if setting == "emergency department" and visit.telehealth:
        return "an emergency department code for a telehealth visit"
    if setting == "emergency department" and not visit.emergency:
        return "an emergency department code, but no emergency was found"
    # An office code for a telehealth visit is not flagged: several payers (Medicare among them)
    # bill telehealth with 99202-99215 and a modifier or place of service.
    if setting == "telehealth" and not visit.telehealth:
        return "a telehealth code for a visit that is not telehealth"
    if new_patient is not None and new_patient != visit.new_patient:
        wanted = "new" if visit.new_patient else "established"
        return f"a code for {'a new' if new_patient else 'an established'} patient, but the patient is {wanted}"
    return None


def check_cpt(proposed: str, visit: VisitContext | None = None) -> CptCode:
    code = proposed.strip().upper()
    kind = next((name for name, shape in _CPT_FORMATS.items() if shape.match(code)), None)
    if kind is None:
        return CptCode(code, None, "invalid", None, "not a CPT or HCPCS Level II code format")
    if code in _DELETED:
        return CptCode(code, kind, "invalid", None, _DELETED[code])
    if code in _ALLOWLIST:
        mismatch = visit_mismatch(code, visit) if visit is not None else None
        if mismatch is not None:  # a real code for another kind of visit: flagged, never verified
            return CptCode(code, kind, "mismatch", _ALLOWLIST[code], mismatch)
        return CptCode(code, kind, "verified", _ALLOWLIST[code])
    return CptCode(code, kind, "unverified", None, "valid format, outside our allowlist")


def office_visit_code(*, new_patient: bool, level: int) -> str:
    """The E/M office visit code for a patient type and a level (2-5; established also 1)."""
    lowest = 2 if new_patient else 1
    level = max(lowest, min(5, level))
    return f"992{0 if new_patient else 1}{level}"
