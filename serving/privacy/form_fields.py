"""What a form's fields and a chat's lines hold: a nickname in quotes beside a name and a chat
line's speaker, the place a label names ("Hospital: ...", "Employer: ..."), an address line
after its label, and a facility named in Chinese, Japanese, Korean or Vietnamese."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.forms import _RARE_FOR_A_WORD
from serving.privacy.recognizers import RegexRecognizer, rule


# A nickname in quotes beside a name ("Guadalupe Ramírez ('Lupita')", "goes by 'Maa Akua'",
# "known as 'Dare'"), and a name at the start of a chat line ("[14:03] Catriona:").
class NicknameAndSpeakerRecognizer(RegexRecognizer):
    entity = "NAME"
    rules = (
        rule(r"\(\s*['\"“‘](?P<id>\p{Lu}[\p{L}'’ -]{1,24}?)['\"”’]\s*\)", 0.7, 0),
        rule(r"(?i:goes\s+by|known\s+as|called|roepnaam|nickname)\s+['\"“‘](?P<id>[\p{L}'’ -]{2,24}?)['\"”’]", 0.75, 0),
        rule(
            r"(?i:resident|patient|pt|name|client|usager|patiente|paciente|participant)\s*:\s*['\"“‘]"
            r"(?P<id>\p{Lu}[\p{L}'’ -]{1,24}?)['\"”’]",
            0.75,
            0,
        ),
        rule(r"(?m:^)\s*\[?\d{1,2}:\d{2}\]?\s+(?P<id>\p{Lu}[\p{L}'’-]+(?:\s\p{Lu}[\p{L}'’-]+){0,2}):", 0.7, 0),
    )

    def __init__(self, common: frozenset[str]) -> None:
        super().__init__()
        self._not_names = common | _ROLES

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].split()
        if len(words) == 1 and text[end : end + 1] == ":":  # a chat line's speaker: "[10:02] Patient:" is a role
            return words[0].lower() not in self._not_names
        return words[0].lower() not in _ROLES


_ROLES = frozenset(
    {"patient", "pt", "caller", "agent", "nurse", "doctor", "dr", "operator", "parent", "mum", "dad", "gp", "me", "you"}
)


_PLACE_PARTICLES = frozenset(
    {"of", "de", "la", "del", "the", "and", "&", "for", "y", "e", "di", "du", "des", "on", "upon"}
)


class LabelledPlaceRecognizer(RegexRecognizer):
    """The place a form's label names, whatever its words: "Hospital: Amrita Institute of
    Medical Sciences", "Facility: The Queen's Medical Center", "Employer: Maple Leaf Foods"
    (to the line's end, a comma, a bracket or a column's gap)."""

    entity = "ADDRESS"

    def __init__(self, clinical: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._clinical = clinical

    rules = (
        rule(
            r"(?m:^[ \t]*+|(?<![ \t])[ \t]{2,}+)"
            r"(?i:hospital|facility|clinic|employer|school|venue|institution|practice|"
            r"surgery|care[ ]home|nursing[ ]home|pharmacy|club|workplace|place[ ]of[ ]work|treating[ ]hospital|"
            r"residence|domicilio|adres|adresse|adresa|endere[çc]o|direcci[óo]n|"
            # after blind set 14: a form's town and an ambulance's agency (not its destination: "Dest: AMU")
            r"city|town|village|suburb|county|district|municipality|agency|"
            r"住所|住址|주소|[đd][ịi]a[ ]ch[ỉi])"
            r"[ \t]*:[ \t]*(?P<id>(?-i:\p{Lu})[^\n,()\t]*?)(?=[ \t]*(?:$|\n|,|\(|\t|[ ]{2}))",
            0.7,
            0,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        raw = text[start:end].split()
        words = [word.lower() for word in raw]
        if words[0] in ("yes", "no", "none", "not", "n/a", "na", "unknown", "see", "as", "same", "tbc", "other"):
            return False  # "Hospital: Yes", "Clinic: see below"
        if any(word[:1].islower() and word not in _PLACE_PARTICLES for word in raw[1:]):
            return False  # "Surgery: Laparoscopic cholecystectomy", "Clinic: Cardiology follow up"
        if words[0] in self._clinical or all(zipf_frequency(w, "en") >= 4.0 or w.isdigit() for w in words):
            return False  # "School: Year 10"
        return len(words) > 1 or zipf_frequency(words[0], "en") < _RARE_FOR_A_WORD


_TRAILING_ZIP = regex.compile(r"[ ,]*+(?:\d{5}(?:-\d{4})?|(?-i:[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}))$")


class AddressLineRecognizer(RegexRecognizer):
    """A home address after its label, commas and numbers included, to the line's end, a
    column's gap or the phone label that follows: "Address: 3901 Calle del Sol, Las Cruces NM",
    "Adresse : 8 rue des Ajoncs, 44600 Saint-Nazaire", "住址：北京市朝阳区望京西园三区312号楼",
    "العنوان: حي الفيصلية، شارع الأمير نايف، الدمام". Bounded: 150 characters at most."""

    entity = "ADDRESS"
    rules = (
        rule(
            r"(?:(?i:\b(?:home[ ]|postal[ ]|mailing[ ]|residential[ ]|permanent[ ]|current[ ])?"
            r"(?:address|addr|adresse|anschrift|wohnort|wohnadresse|adres|adresa|adresă|adress|endere[çc]o|morada|"
            r"direcci[óo]n|domicilio|indirizzo|residenza|διεύθυνση|адрес|adresi|[đd][ịi]a[ ]ch[ỉi]|alamat|"
            r"tirahan)\b)|住址|住所|地址|주소|पता|ठेगाना|ที่อยู่|العنوان|כתובת|آدرس|ঠিকানা|پتہ)"
            r"[ \t]*[:：][ \t]*(?P<id>[^\s:：][^\n\t]{2,150}?)"
            # the line's end, a column's gap, a sentence's end ("... PA 57486. Started metformin";
            # not an abbreviation's stop: "14 Mt. Vernon road"), or the phone label after it
            r"(?=[ \t]*(?:(?m:$)|\t|[ ]{2}|[;|][ ]|(?<=\d)\.(?:[ ]|$)|(?<=\p{Ll}{3})\.[ ]++\p{Lu}\p{Ll}*+[ ]++\p{Ll}|"
            r"[.,;]?[ ]*(?i:tel|phone|ph|telefon|t[ée]l|tel[ée]fono|"
            r"telem[óo]vel|mobile|mob|cell|contact|email|e-mail|dob|pin)\b))",
            0.75,
            0,
        ),
    )

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        """A trailing US ZIP or UK postcode is left to the ZIP recognizer: the line is the
        address before it."""
        results = super().analyze(text, entities, nlp_artifacts)
        for result in results:
            trailing = _TRAILING_ZIP.search(text, result.start, result.end)
            if trailing is not None and trailing.start() > result.start:
                result.end = trailing.start()
        return results

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].lower().split()
        if any(ch.isdigit() for ch in text[start:end]) or any(not w.isascii() for w in words):
            return True  # "No. 12, Adeola Odeku Street"
        if words[0].strip(".,") in ("yes", "no", "none", "not", "n/a", "na", "unknown", "see", "as", "same", "nfa"):
            return False  # "Address: see above", "Address: NFA"
        return len(words) > 1 and not all(zipf_frequency(w.strip(".,"), "en") >= 4.0 for w in words)


class CjkFacilityRecognizer(RegexRecognizer):
    """A hospital or clinic named in Chinese, Japanese or Korean, or in Vietnamese: "北京协和医院",
    "東京大学医学部附属病院", "さくら内科クリニック", "서울대학교병원", "Bệnh viện Chợ Rẫy"."""

    entity = "ADDRESS"
    rules = (
        rule(
            r"(?P<id>[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー]{2,24}(?:病院|医院|醫院|병원|의원|クリニック|诊所|診療所|卫生院))",
            0.75,
            0,
        ),
        rule(r"(?P<id>(?:Bệnh|BỆNH)[ ](?:viện|VIỆN)(?:[ ]\p{Lu}[\p{L}]*){1,4})", 0.75, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        # "他胸痛需要去医院吗" (he has chest pain, must he go to hospital?): a sentence, not a name
        return not any(c in _CJK_SENTENCE_WORDS for c in text[start:end])


_CJK_SENTENCE_WORDS = frozenset("去到在送住需要吗了我他她你们的是")
