"""Identifiers that a text's structure names rather than its words: the speakers of a chat
("Priya: ...", "[05.04.24, 08:15] Наташа: ...", "Rob [10:44]: ...") and the people it
@mentions, the cells of a pasted table under a header that says what they hold ("id,name,dob,
zip,site"), and scanned forms whose letters and digits an OCR pass swapped ("D0B: O7/l9/l931",
"PATlENT"): `ocr_shadow` reads those as they were meant, at the same offsets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.recognizers import RegexRecognizer, rule

# ---- chats ----

_STAMP_BEFORE = (
    r"(?:\[[^\]\n]{4,32}\]\s*"  # [05.04.24, 08:15]  [10:42]
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?\s+-\s+"  # 09/04/2024, 21:14 -
    r"|\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?\s+-\s+)"  # 21:06 - Tunde:
)
# "08:12 Faith:": a time alone before a name is a chat's only when a speaker comes back (a
# chart's "06:00 Obs:" is not)
_TIME_BEFORE = r"\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?[ \t]+"
_STAMP_AFTER = (  # Rob [10:44]:  Dariush 08:14  [Kostas] 06:20:
    r"(?:\s*\[\d{1,2}:\d{2}(?:\s?[ap]m)?\]|\]?\s+\d{1,2}:\d{2}(?:\s?[ap]m)?)"
)
_SPEAKER = (  # one line: never across a newline; a handle ("kwabena_m") or "[Kostas]"
    r"(?:\p{L}[\p{L}'’.\-]*(?:_[\p{L}\d]+)*(?:[ \t]\p{L}[\p{L}'’.\-]*){0,2}|(?<=\[)\p{L}[\p{L}'’\-]*(?=\]))"
)
_SPEAKER_LINE = regex.compile(
    rf"(?m)^[ \t]*(?:(?P<stamp>{_STAMP_BEFORE})|(?P<time>{_TIME_BEFORE}))?"
    rf"\[?(?P<id>{_SPEAKER})(?P<after>{_STAMP_AFTER})?"
    r"(?:[ \t]*\([^)\n]{1,24}\))?[ \t]*(?::[ \t]|:$|(?<=\d)[ \t]*$)"
)
# Words before a colon that are a form's labels or a transcript's roles, never a speaker's name.
_NOT_SPEAKERS = frozenset(
    {"name", "patient", "pt", "address", "addr", "dob", "phone", "tel", "mobile", "email", "subject", "from", "to"}
    | {"cc", "re", "date", "sent", "caller", "agent", "nurse", "doctor", "dr", "operator", "note", "notes", "plan"}
    | {"dx", "hx", "rx", "bp", "hr", "rr", "temp", "age", "sex", "gender", "ward", "bed", "room", "nhs", "mrn", "id"}
    | {"ssn", "ref", "time", "tues", "mon", "wed", "thurs", "fri", "sat", "sun", "am", "pm", "user", "system"}
    | {"assistant", "bot", "me", "you", "q", "a", "question", "answer", "summary", "impression", "findings"}
    | {"history", "exam", "assessment", "diagnosis", "medications", "allergies", "result", "results", "comment"}
    | {"comments", "reason", "indication", "procedure", "technique", "conclusion", "recommendation", "attachment"}
    | {"http", "https", "tip", "update", "edit", "ps", "nb", "fyi", "action", "status", "outcome", "follow"}
    | {"mum", "dad", "parent", "gp", "physio", "dentist", "pharmacist", "midwife", "paramedic", "emt", "rn"}
    | {"clinician", "provider", "support", "host", "moderator", "pharmacy", "reception", "receptionist", "staff"}
    | {"obs", "meds", "fluids", "intake", "output", "review", "round", "handover", "pain", "care", "bloods", "labs"}
    | {"iv", "diet", "mobility", "wound", "hygiene", "sleep", "mood", "visitors", "family", "called", "spoke", "seen"}
    | {"interpreter", "translator", "mother", "father", "baby", "child", "claimant", "registration", "study"}
    | {"interviewer", "participant", "respondent", "officer", "advocate", "social", "worker", "int", "resp"}
)
_MENTION = regex.compile(r"(?<![\w@.])@(?P<id>\p{L}[\p{L}\d_.\-]{0,30}\p{L}|\p{L})(?![\w@])")
_NOT_MENTIONED = frozenset({"all", "here", "channel", "everyone", "team", "oncall", "on-call", "channel."})


class ChatSpeakerRecognizer(EntityRecognizer):
    """A chat line's speaker: with a timestamp before or after the name, or a name that starts
    two or more lines ("Priya: ..." ... "Priya: ..."); a form's labels and a transcript's roles
    are no speakers."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["NAME"], name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        if ":" not in text and "\n" not in text:
            return []
        lines = [m for m in _SPEAKER_LINE.finditer(text) if m.group("id").split()[0].lower() not in _NOT_SPEAKERS]
        starts = Counter(m.group("id") for m in lines)
        # A chat: a speaker who starts two lines, or lines stamped with a time; then every
        # speaker's line counts ("Aroha: thanks" between two of Wiremu's).
        chat = any(count >= 2 for count in starts.values())
        return [
            RecognizerResult("NAME", *m.span("id"), 0.75)
            for m in lines
            if (chat or m.group("stamp") or m.group("after")) and not m.group("id").isdigit()
        ]


# A name written twice, in Latin letters and in its own script, one in brackets after the other:
# "Fatma El-Sayed (فاطمة السيد)", "山田 花子 (Yamada Hanako)", "Md. Rahim Uddin (রহিম উদ্দিন)".
_OWN_SCRIPT = (
    r"[\p{Han}\p{Hangul}\p{Hiragana}\p{Katakana}\p{Arabic}\p{Hebrew}\p{Devanagari}\p{Bengali}\p{Cyrillic}"
    r"\p{Greek}\p{Thai}\p{M}]"
)
_LATIN_WORD = r"\p{Lu}[\p{Ll}\p{M}'’]++(?:-\p{Lu}?[\p{Ll}\p{M}'’]++)*+"
_LATIN_NAME = rf"{_LATIN_WORD}\.?(?:[ ](?:{_LATIN_WORD}|al|el|bin|binti|van|de|da|del|la)){{1,4}}"
_SCRIPT_WORDS = rf"(?!\p{{M}}){_OWN_SCRIPT}++(?:[ ]{_OWN_SCRIPT}++){{0,4}}"  # a letter first, not a mark alone
_BILINGUAL_NAME = regex.compile(
    rf"(?P<latin>{_LATIN_NAME})[ ]?\((?P<script>{_SCRIPT_WORDS})\)"
    # (a run of the script is tried from its first letter only: from every letter it was quadratic)
    rf"|(?<!{_OWN_SCRIPT})(?P<script2>{_SCRIPT_WORDS})[ ]?\((?P<latin2>{_LATIN_NAME})\)"
)


_COMMON_FOR_A_NAME = 3.5  # wordfreq's Zipf: "Diabetes", "Internal" are words; "Fatma", "Hanako" are not


class BilingualNameRecognizer(EntityRecognizer):
    """A person named in Latin letters and in their own script, one in brackets: both are the
    name. Two words or more on the Latin side ("心内科 (Cardiology)" is no one)."""

    def __init__(self, clinical: frozenset[str] = frozenset()) -> None:
        super().__init__(supported_entities=["NAME"], name=type(self).__name__, supported_language="en")
        self._clinical = clinical

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        if "(" not in text or text.isascii():
            return []
        results = []
        for match in _BILINGUAL_NAME.finditer(text):
            latin = (match.group("latin") or match.group("latin2")).lower().replace(".", "").split()
            if any(word in self._clinical or zipf_frequency(word, "en") >= _COMMON_FOR_A_NAME for word in latin):
                continue  # "糖尿病 (Diabetes Mellitus)", "пневмония (Community Acquired Pneumonia)"
            for group in ("latin", "script", "latin2", "script2"):
                if match.group(group):
                    results.append(RecognizerResult("NAME", *match.span(group), 0.7))
        return results


class MentionRecognizer(RegexRecognizer):
    """ "@Tomasz can you...", "@mo": the person a chat message addresses."""

    entity = "NAME"
    rules = (rule(_MENTION.pattern, 0.75, 0),)

    def accept(self, text: str, start: int, end: int) -> bool:
        return text[start:end].lower() not in _NOT_MENTIONED


# ---- tables ----

_DELIMITERS = ("\t", ",", "|", ";")
_HEADER_TYPES: dict[str, str] = {}
for _type, _names in {
    "NAME": "name patient patient_name pt_name first first_name firstname given given_name forename last last_name"
    " lastname surname family_name attending provider physician doctor clinician nurse contact nok next_of_kin"
    " referrer consultant resident carer caregiver guardian parent mother father investigator interviewer"
    " signed_by entered_by",
    "DATE": "dob date birth birthdate date_of_birth birth_date adm admitted admission discharge discharged dod"
    " visit visit_date appt appointment seen",
    "ZIP": "zip zipcode zip_code postcode post_code postal postal_code fsa pin pincode eircode",
    "ADDRESS": "city town site clinic hospital address street suburb county facility location home residence"
    " village district neighbourhood neighborhood practice school employer",
    "MRN": "mrn hosp_no hospital_no hosp_number chart chart_no record record_no urn ur nhi uhid file_no",
    "ID": "id subject participant study_id pid subject_id patient_id pt_id case case_no member employee",
    "PHONE": "phone tel telephone mobile cell cell_phone contact_no phone_no",
    "EMAIL": "email e_mail",
    "SSN": "ssn sin nin national_id",
    "AGE": "age",
}.items():
    for _name in _names.split():
        _HEADER_TYPES[_name] = _type
_DATE_SUFFIXES = ("_date", "_dt", "date", "_dob")
_ID_SUFFIXES = ("_id", "_no", "_number")  # not a bare "id" ending: "covid", "paid", "fluid"
# whose name a "..._name" column holds: a person's (not a vaccine's, a procedure's or a hospital's)
_PERSON_NAME_PREFIXES = frozenset(
    {"full", "pt_full", "patient_full", "pt", "patient", "first", "last", "given", "family", "middle", "maiden"}
    | {"guardian", "parent", "mother", "father", "contact", "emergency_contact", "nok", "next_of_kin", "carer"}
    | {"caregiver", "spouse", "partner", "member", "subscriber", "insured", "employee", "decedent", "child"}
    | {"provider", "doctor", "physician", "nurse", "clinician", "referrer", "prescriber", "investigator"}
)


def _header_type(cell: str) -> str | None:
    key = regex.sub(r"[\s\-/.#]+", "_", cell.strip().strip("\"'").lower()).strip("_")
    if key in _HEADER_TYPES:
        return _HEADER_TYPES[key]
    if key.endswith(_DATE_SUFFIXES):
        return "DATE"
    if key.endswith("name") and key[: -len("name")].rstrip("_") in _PERSON_NAME_PREFIXES:
        return "NAME"  # "full_name", "pt_fullname", "guardian_name" (after blind set 17); not "vaccine_name"
    if key.endswith(_ID_SUFFIXES) and len(key) <= 16:
        return "ID"
    return None


def _split(line: str, delimiter: str) -> list[str]:
    """A line's cells; a quoted cell keeps its delimiters ("Begay, Tsosie")."""
    if '"' not in line:
        return line.split(delimiter)
    cell = regex.escape(delimiter)
    return [m.group() for m in regex.finditer(rf'(?:^|(?<={cell}))(?:\s*"(?:[^"]|"")*"\s*|[^{cell}]*)', line)]


def _cells(line: str, delimiter: str, offset: int) -> list[tuple[int, int]]:
    spans, start = [], 0
    for part in _split(line, delimiter):
        end = start + len(part)
        stripped = part.strip().strip("\"'")
        at = start + part.find(stripped) if stripped else start
        spans.append((offset + at, offset + at + len(stripped)))
        start = end + len(delimiter)
    return spans


class TableRecognizer(EntityRecognizer):
    """The cells of a pasted table (CSV, TSV, pipes) under a header that names what they hold:
    two or more identifier columns in a header of three or more, then the rows with as many
    cells. An age cell counts over 89 only; a cell without a letter or digit counts nowhere."""

    def __init__(self) -> None:
        entities = sorted(set(_HEADER_TYPES.values()))
        super().__init__(supported_entities=entities, name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        if "\n" not in text:
            return []
        results: list[Any] = []
        lines, offset = [], 0
        for line in text.split("\n"):
            lines.append((line, offset))
            offset += len(line) + 1
        header: tuple[str, list[str | None]] | None = None
        for line, start in lines:
            if header is not None:
                delimiter, types = header
                if len(_split(line, delimiter)) == len(types):
                    for kind, (s, e) in zip(types, _cells(line, delimiter, start), strict=True):
                        if kind and s < e and _fits(kind, text[s:e]):
                            results.append(RecognizerResult(kind, s, e, 0.8))
                    continue
                header = None
            header = _header(line)
        return results


def _header(line: str) -> tuple[str, list[str | None]] | None:
    for delimiter in _DELIMITERS:
        cells = _split(line, delimiter)
        if len(cells) < 3:
            continue
        types = [_header_type(cell) for cell in cells]
        if sum(kind is not None for kind in types) >= 2:
            return delimiter, types
    return None


def _fits(kind: str, value: str) -> bool:
    if not regex.search(r"[\p{L}\d]", value):
        return False
    if kind == "AGE":
        return value.isdigit() and int(value) > 89
    if kind in ("DATE", "PHONE", "ZIP", "MRN", "SSN"):
        return any(c.isdigit() for c in value) or kind == "ZIP"
    # a room of a home under "Location" ("bedroom", "en-suite") is no place: a town is capitalised
    return not (kind == "ADDRESS" and value[:1].islower() and not any(c.isdigit() for c in value))


# ---- scanned forms ----
