"""Identifiers a label announces from a little further away (after blind set 14):

- national identity numbers by their label in the countries' own words (Aadhaar, PESEL, QID,
  CURP, CPF, NIR / "sécurité sociale", BSN, Personnummer, NRIC, CNIC, Emirates ID, Iqama, codice
  fiscale, "ID number"), with up to a few words between the label and the value ("Aadhaar (ABHA
  linking) : 6738 2210 4597", "PESEL if you need it for age: 80061712843"): type SSN;
- a number that prose says is someone's ("my employee id on it which is TR-40417", "my script
  number is 2KXW7G4QPR8T2M1HD3", "su número de afiliación del IMSS es 43896012284"): type ID.

The value holds four digits or more, and is no date, dose or reading. Every gap is bounded."""

from __future__ import annotations

from serving.privacy.labelled import LabelledRecognizer
from serving.privacy.recognizers import rule

# "(ABHA linking) :", " if you need it for age:" (lazy and bounded; never across a sentence: "DNR/DNI.
# Daughter Jane 07700 ...")
_GAP = r"[^\d\n.]{0,32}?"
# digits in groups ("6738 2210 4597", "1 72 12 93 066 118 42", "384.551.902-17"), or letters and
# digits ("BNCGPP28T48G999K", "GOMJ870421HJCNRS08")
_NUMBER = r"(?P<id>\d(?:[\d]|[ .-](?=\d)){7,24}+|[A-Z0-9]{8,20}+(?<=\d[A-Z0-9]*))"
_NATIONAL = (
    r"aadhaa?r|pesel|qid|curp|cpf|nir|s[ée]curit[ée]\s+sociale|bsn|personnummer|nric|fin\s+no|cnic|"
    r"emirates\s+id|iqama|codice\s+fiscale|dni|nie|rut|cédula|cedula|id\s+number|national\s+id|"
    r"identity\s+(?:card|number)|身份证号?|주민등록번호"
)
_PROSE_NUMBER = (  # (not a bare "no": "No fever today and the platelet count is 150000")
    r"(?:id|number|n[úu]mero|numero|expediente|p[óo]liza|afiliaci[óo]n|policy|account|member|script|token|"
    r"reference|ref)"
)


class NationalIdRecognizer(LabelledRecognizer):
    entity = "SSN"
    rules = (rule(rf"\b(?:{_NATIONAL})\b{_GAP}{_NUMBER}(?![\w/])", 0.8),)

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        digits = sum(ch.isdigit() for ch in value)
        # eight digits, or six with letters ("S8812345D", "X1234567L", "BNCGPP28T48G999K")
        enough = digits >= 8 or (digits >= 6 and any(ch.isalpha() for ch in value))
        return enough and super().accept(text, start, end)


class NumberInProseRecognizer(LabelledRecognizer):
    entity = "ID"
    rules = (
        rule(
            rf"\b{_PROSE_NUMBER}\b[^\n.?!]{{0,40}}?\b(?:is|was|es|é|est|ist)[ :]+"
            r"(?P<id>(?=[A-Z0-9-]{4,30}\b)[A-Z0-9]+(?:-[A-Z0-9]+)*+)",
            0.75,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        if not any(ch.isalpha() for ch in value) and (len(value) < 8 or "-" in value):
            return False  # a count or a range in prose ("platelets es 150000", "range is 4000-11000")
        return sum(ch.isdigit() for ch in value) >= 4 and super().accept(text, start, end)
