"""People named by what stands beside them rather than by the name lists (after blind set 13):

- a professional credential after the name: "Hiroshi Tanabe, MD, PhD", "M. Bell RN",
  "Rhys Llewellyn BDS", "Laura Whitcombe NP";
- a staff role in capitals before it, from a list: "CPN Dominic Frost", "PCW Gurjeet Kaur";
- a form's role label that ends in "by" or names a role: "Checked by: Tapas Mondal",
  "Certifier: Desmond LeBlanc", "Account holder: Okonjo, Chidinma", "Dependent: MAKAYLA CARTER";
- a title as other languages write it: "Dra. Rocío Barrientos Gil", "Dre Anh Truong",
  "dott.ssa Chiara Fontanesi", "Dña. Inmaculada Soto", "Herrn Dr. med. Klaus Wendtland";
- a patient's own label at a line's or column's start: "Patient: Said bin Hamood Al-Busaidi";
- a relation or a staff role in brackets after the name ("Venkatesh Iyer (husband)", "Nwosu,
  Chinonso (RN)"), an e-mail's display name ("Lindqvist Anna <anna@...>"), a chat export's
  speaker, a DICOM person name and a log's patient key (after blind sets 16 and 17).

Each keeps the run's words while they can be a name: never a clinical or common word unless the
name lists know it, never a word with a digit. Every pattern is possessive or bounded."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.places import RELATIVE_WORDS, places

_COMMON_ENGLISH = 3.5  # wordfreq's Zipf scale: at or above, a word most readers would know
# Words of a label, never of a name ("IP No.", "PRC Lic. No.", "MC No:")
_LABEL_WORDS = frozenset({"no", "nr", "nro", "num", "id", "lic", "reg", "ref", "tel", "fax", "dob", "mrn"})
_LABEL_WORDS |= {"her", "his", "nil", "nbm"}
# Job titles: "Examined by: ED Registrar", "Reviewed by Staff Nurse RN" name no one
_LABEL_WORDS |= {
    *("registrar", "sonographer", "dietitian", "dietician", "physiotherapist", "physio", "nurse", "triage"),
    *("staff", "charge", "consultant", "surgeon", "physician", "therapist", "technician", "technologist"),
    *("radiographer", "pharmacist", "paramedic", "midwife", "doctor", "resident", "intern", "fellow"),
    *("attending", "specialist", "assistant", "worker", "coordinator", "officer", "team", "duty", "senior"),
}
# A form's next labels after a name on its line ("Patient: Ann Lee DOB ...", "Sex F", "Age 91")
_FORM_WORDS = frozenset({"age", "sex", "gender", "dob", "born", "ward", "bed", "room", "unit", "nhs", "hospital"})

# A word of a name: capitalised (any script, inner capitals and hyphens: "LeBlanc", "Holloway-Price",
# "O'Sullivan"), all capitals ("CARTER"), or an initial ("M.", "M.J.").
_WORD = r"(?:\p{Lu}\.(?:\p{Lu}\.)*+|\p{Lu}[\p{L}\p{M}'’]*+(?:-\p{Lu}[\p{L}\p{M}'’]*+)*+(?!\d))"  # ("SpO2": no word)
_PARTICLE = r"(?:van|von|de|der|den|del|della|di|da|dos|das|du|la|le|bin|binti|binte|bint|ibn|ap|al|el)"
# (a form's "Last, First" too: "Account holder: Okonjo, Chidinma")
_RUN = rf"(?P<id>{_WORD}(?:(?:,[ ]|[ ](?:{_PARTICLE}[ ])*+){_WORD}){{0,3}}+)"

# Credentials a clinician writes after their name. Not "OD" (the right eye), "PT", "OT", "PA"
# (Pennsylvania) or "DO" alone in mixed case: they mean other things as often.
_CREDENTIAL = (
    r"(?:M\.?D\.?|D\.O\.|DO(?=,)|RN|R\.N\.|NP|PA-C|Ph\.?D\.?|BDS|MBBS|MBChB|MBBCh|MRCP|MRCGP|FRCS|FRCP|FRACP|FRCPC|"
    r"FAAD|FACP|FACC|FACS|FAAP|DNP|CNM|CRNA|LPN|LVN|LCSW|LMFT|PharmD|RPh|DDS|DMD|DPM|DPT|APRN|FNP(?:-[BC]{1,2})?|"
    r"ANP|RGN|RMN|RSCN|MSW|CCC-SLP|RDN|IBCLC|EMT(?:-P)?|NRP|MPH|MSc|BSc\s?\(Hons\)|DNB|MS\s?\(Ortho\))"
)
_NOT_CREDENTIAL = rf"(?!{_CREDENTIAL}(?![\p{{L}}-]))"  # the run stops before its credential ("M. Bell RN")
_CREDENTIALED = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'’.-])"
    rf"(?P<id>{_NOT_CREDENTIAL}{_WORD}(?:[ ](?:{_PARTICLE}[ ])*+{_NOT_CREDENTIAL}{_WORD}){{0,3}}+)"
    rf",?[ ]{_CREDENTIAL}(?![\p{{L}}-])"
)

# A staff role in capitals before a name ("CPN Dominic Frost", "PCW Gurjeet Kaur"): a list, since
# any capitals before an eponym's two words ("OGD Mallory Weiss", "EEG Lennox Gastaut") are a test
_STAFF_ROLES = (
    r"CPN|PCW|CHV|CHW|CHEW|AMHP|SW|HCA|RGN|RMN|SN|SCN|OT|SLT|HCW|CSW|SCA|KW|AHP|ANP|APN|CNM|LPN|LVN|CNA|PCT|"
    r"BHW|ASHA|ANM|HEW|VHT|EMT|FY1|FY2|SHO|SpR|RMO|HO|MO|TL|NIC|NP|PA|GP|RAN|CHA|HV|CHN|DN|CMW|RM"
)
_ROLE_BEFORE = regex.compile(rf"(?<![\p{{L}}-])(?:{_STAFF_ROLES})[ ]{_RUN}")

# A form's label for a person: "<verb>ed by:", or a role noun, then a colon.
_ROLE_LABEL = regex.compile(
    r"(?i:\b(?:(?:checked|raised|found|certified|examined|reviewed|performed|authori[sz]ed|completed|prepared|"
    r"approved|collected|received|witnessed|escorted|transported|assessed|triaged|interpreted|supervised|"
    r"countersigned|discharged|admitted|booked|entered|amended|logged)\s+by|certifier|director|service\s+user|"
    # (not "Assistant:", "CNS:", "Anaesthesia:", "Responsable:": a chat's model, a system, a drug, a service)
    r"account\s+holder|card\s?holder|policy\s?holder|dependent|dependant|treatment\s+supporter|customer|"
    r"anaesthetist|anesthesiologist|interpreting|interpreter|m[ée]dico\s+responsable|"
    r"superviseure?|scrub\s+nurse|first\s+assist|mo|ho|sho|fy[12]|st[1-8]|keyworker|"
    r"clinician|assessor|nurse\s+completing|(?:actioned|transcribed|typed|scribed)\s+by|"
    # (blind set 16: "Attendant: Venkatesh Iyer", "Neurologist: I.A. Smirnov", "Case manager: Meron
    # Girma", "Investigateur principal: Pr Hélène Fauchier-Roux", "Enfermera de triage: Yuliana Montoya")
    r"attendant|\p{L}{3,16}olog(?:ist|ue|o|a)|case\s+manager|health\s+practitioner|"
    r"investigat(?:eur|or)\s+principal|principal\s+investigator|enfermer[oa](?:\s+de\s+triage)?|m[ée]dico))"
    r"[ ]?[:\-–][ ]{0,3}+"
    rf"(?:(?i:dr|dra|dre|prof|pr|mr|mrs|ms|miss|sr|sra)\.?[ ])?{_RUN}"
)

# Titles as other languages write them: Spanish and Portuguese Dra./Dña./Sra., French Dre, Italian
# dott./dott.ssa/dr.ssa/sig.ra, German "Dr. med.", Dutch dhr./mevr., Polish pan/pani, Malay Encik/Puan.
_TITLE = regex.compile(
    r"(?<![\p{L}.])(?i:dra|dre|dña|doña|dott(?:\.ssa|ssa)?|dr\.ssa|sig\.ra|sig|sra|srta|dhr|mevr|"
    r"pani|pan|encik|puan|cik|tuan|bpk|bapak|ibu|sayın|herrn|frau|dr\.?[ ]med(?:\.[ ]?dent)?|"
    r"bà|ông|bro|sis)\.?[ ]"  # (after blind set 17: Vietnamese "bà Lê Thị Hạnh", "Bro. Earl Combs")
    r"(?:(?i:dr|prof)\.?[ ](?:(?i:med)\.[ ])?)?" + _RUN
)

# A patient's own label at a line's or column's start, then the name to the column's end: there a
# word is the name's unless it is clinical or a label ("Patient: Said bin Hamood Al-Busaidi",
# "Pt: Chen, Wei-Ling", "Name, Vorname des Versicherten: Bauer, Maximilian Josef", "Patient :
# M. Karim BENSALEM"), even a word English has ("Said").
_PATIENT_LABEL = regex.compile(
    r"(?:(?<=^|\n)[ \t]{0,8}+|(?<=[ ]{2}|\t))"  # (bounded: a run of spaces is not rescanned from each)
    r"(?i:patient(?:\s+name)?|pt(?:\s+name)?|name|full\s+name|resident|client|service\s+user|usager|"
    r"paciente|patiente?|nom|nombre|nome|name,\s*vorname(?:\s+des\s+versicherten)?|versicherte[rn]?|"
    # (blind set 16: Portuguese, Norwegian, Dutch, Italian, Polish, Czech, Finnish, Hungarian)
    r"utente|pasient|pati[ëe]nt|paziente|pacjent(?:ka)?|pacient(?:ka)?|potilas|beteg)"
    r"[ \t]?:[ \t]{0,3}+(?:(?i:m|mme|mr|mrs|ms|miss|mx|dr|sr|sra|herr|frau|dhr|mevr)\.?[ ])?"
    rf"(?P<id>{_WORD}(?:(?:,[ ]|[ ](?:{_PARTICLE}[ ])*+){_WORD}){{0,4}}+)"
)


# A person's relation to the patient in brackets after their name: "Venkatesh Iyer (husband)",
# "Haruto (grandson", "Kemi Adeyemi (sister, NOK)".
_RELATION_AFTER = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'’.-])(?P<id>{_WORD}(?:(?:,[ ]|[ ](?:{_PARTICLE}[ ])*+){_WORD}){{0,3}}+)[ ]?\("
    rf"(?i:{RELATIVE_WORDS}|grandparent|parent|mother-in-law|father-in-law|neighbou?r|friend|carer|caregiver|"
    # (the relation alone: not "Metformin (son manages it)")
    r"nok|next\s+of\s+kin|interpreter)(?:[),/;]|$)"
)
# Staff in brackets after their name (after blind set 17: "Mercy Chebet (nurse)", "Nwosu, Chinonso
# (RN)"): a full or listed name only, since a drug or a task comes before one as often
# ("Enoxaparin (nurse) administered", "Obs (HCA) 4 hourly").
_STAFF_AFTER = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'’.-])(?P<id>{_WORD}(?:(?:,[ ]|[ ](?:{_PARTICLE}[ ])*+){_WORD}){{1,3}}+)[ ]?\("
    r"(?i:nurse|midwife|physio|doctor|gp|rn|rph|hca|pharmacist|chw)(?:[),/;]|$)"
)
# The name an e-mail is sent under: "Från: Lindqvist Anna <anna.lindqvist@...>", "Karim El-Sayed <k...@...>"
_DISPLAY_NAME = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'’.-])(?P<id>{_WORD}(?:[ ,]{{1,2}}(?:{_PARTICLE}[ ])*+{_WORD}){{0,3}}+)[ ]?<[\w.+-]{{1,64}}@"
)
# A person's name as systems write it: a DICOM person name ("PN [ABERNATHY^WINIFRED^ROSE]"), a
# log's patient key ("patient=\"Brennan, Hope\"", "patient_name='Ana Ruiz'"; not a "name=" of any
# element: "<medication name=\"Lisinopril\">") (after blind set 17).
_SYSTEM_NAME = regex.compile(
    r"(?:\bPN[ ]+\[(?P<dicom>[^\]\^\n]{1,40}\^[^\]\n]{0,60})\]|"
    r"\b(?i:patient|pt|patient_name|pt_name|full_name|patient_full_name)=[\"'](?P<logged>[^\"'\n]{2,60})[\"'])"
)
# A chat export's speaker: "[18/05/2025, 19:52] Jhoanna 🌸: guys", "18/05/2025, 19:52 - Ama Mensah: ok"
_CHAT_SPEAKER = regex.compile(
    r"(?:^|(?<=\n))(?:\[\d{1,2}/\d{1,2}/\d{2,4},?[ ]\d{1,2}:\d{2}(?::\d{2})?(?:[ ]?[APap][Mm])?\][ ]|"
    r"\d{1,2}/\d{1,2}/\d{2,4},?[ ]\d{1,2}:\d{2}(?:[ ]?[APap][Mm])?[ ][-–][ ])"
    rf"(?P<id>{_WORD}(?:[ ]{_WORD}){{0,3}}+)(?=[^:\n]{{0,12}}:)"
)


class PeopleByRoleRecognizer(EntityRecognizer):
    """Names beside a credential, a role or a title (this module's docstring)."""

    entity = "NAME"

    def __init__(
        self, common: frozenset[str], clinical: frozenset[str], first_names: frozenset[str], surnames: frozenset[str]
    ) -> None:
        super().__init__(supported_entities=[self.entity], name="PeopleByRoleRecognizer", supported_language="en")
        self._common = common
        self._clinical = clinical
        self._known = first_names | surnames

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for pattern, score, from_end in (
            (_CREDENTIALED, 0.8, True),
            (_ROLE_BEFORE, 0.7, False),
            (_ROLE_LABEL, 0.8, False),
            (_TITLE, 0.85, False),
        ):
            for match in pattern.finditer(text):
                span = self._name(text, match.start("id"), match.group("id"), from_end=from_end)
                if span is not None and pattern is _ROLE_LABEL and not self._full_or_listed(text[span[0] : span[1]]):
                    continue  # "Dependent: Oedema", "Assessor: Tachycardia": one word the lists don't know
                if span is not None and from_end and _a_place(text, span):
                    continue  # "Silver Spring, MD 20910": a town in Maryland
                if span is not None:
                    results.append(RecognizerResult(self.entity, span[0], span[1], score))
        for pattern in (_RELATION_AFTER, _DISPLAY_NAME, _STAFF_AFTER):
            for match in pattern.finditer(text):
                listed_only = pattern is _STAFF_AFTER
                span = self._name(text, match.start("id"), match.group("id"), from_end=True, listed_only=listed_only)
                if span is None or _a_place(text, span):
                    continue
                if pattern is _STAFF_AFTER and not self._full_or_listed(text[span[0] : span[1]]):
                    continue
                if regex.fullmatch(r"\p{L}+(?:ed|ing)", text[span[0] : span[1]]):
                    continue  # a verb before a relation: "Telephoned (friend)"
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.75))
        for match in _SYSTEM_NAME.finditer(text):
            group = "dicom" if match.group("dicom") else "logged"
            value = match.group(group).rstrip("^ ")
            words = [w for w in regex.split(r"[\^ ,]+", value) if w]
            if not any(c.isdigit() for c in value) and any(self._could_be_a_name(w) for w in words):
                results.append(RecognizerResult(self.entity, match.start(group), match.start(group) + len(value), 0.8))
        for match in _CHAT_SPEAKER.finditer(text):
            span = self._name(text, match.start("id"), match.group("id"), from_end=False)
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.8))
        for match in _PATIENT_LABEL.finditer(text):
            span = self._labelled(match.start("id"), match.group("id"))
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.85))
        return results

    def _labelled(self, start: int, run: str) -> tuple[int, int] | None:
        """After a patient's label: the run's words up to the first clinical or label word, a name
        when one of them reads as a name's ("Said bin Hamood Al-Busaidi"; not "Stable overnight")."""
        pieces = [(m.start(), m.end()) for m in regex.finditer(r"[^\s,]+", run)]
        kept: list[tuple[int, int]] = []
        for begin, end in pieces:
            bare = run[begin:end].strip(".").lower()
            if bare in self._clinical or bare in _LABEL_WORDS or bare in _FORM_WORDS:
                break
            kept.append((begin, end))
        while kept and regex.fullmatch(_PARTICLE, run[kept[-1][0] : kept[-1][1]]):
            kept.pop()
        words = [run[b:e] for b, e in kept if not regex.fullmatch(_PARTICLE, run[b:e])]
        named = [w for w in words if self._could_be_a_name(w) and not regex.fullmatch(r"(?:\p{Lu}\.)+|\p{Lu}", w)]
        if not named or (len(words) == 1 and words[0].strip(".").lower() in self._common):
            return None
        return start + kept[0][0], start + kept[-1][1]

    def _name(
        self, text: str, start: int, run: str, *, from_end: bool, listed_only: bool = True
    ) -> tuple[int, int] | None:
        """The words of `run` that can be a name: its end (a credential follows the name) or its
        start (a label or title precedes it), up to the first word that cannot."""
        pieces = [(m.start(), m.end()) for m in regex.finditer(r"[^\s,]+", run)]
        if (
            not from_end
            and len(pieces) > 1
            and regex.fullmatch(r"\p{Lu}{2,5}", run[pieces[0][0] : pieces[0][1]])
            and run[pieces[1][0] : pieces[1][1]][1:2].islower()
        ):
            pieces = pieces[1:]  # a role in capitals before the name: "PCW Gurjeet Kaur"
        if not from_end:  # "Last, First" has its comma after the first word: "Qureshi, CNIC" is no name
            for index in range(2, len(pieces)):
                if "," in run[pieces[index - 1][1] : pieces[index][0]]:
                    pieces = pieces[:index]
                    break
        ordered = list(reversed(pieces)) if from_end else pieces
        kept: list[tuple[int, int]] = []
        for begin, end in ordered:
            word = run[begin:end]
            if regex.fullmatch(_PARTICLE, word) and kept:
                kept.append((begin, end))
                continue
            if not self._could_be_a_name(word):
                break
            kept.append((begin, end))
        while kept and regex.fullmatch(_PARTICLE, run[kept[-1][0] : kept[-1][1]]):
            kept.pop()  # a run ends on a name, never on "de"
        if not from_end:
            while kept and regex.fullmatch(r"\p{Lu}{1,3}", run[kept[-1][0] : kept[-1][1]]):
                kept.pop()  # a name ends on its surname: "Killip I" is a class, "Smith II" a count
        words = [run[b:e] for b, e in kept]
        if not words or all(regex.fullmatch(r"(?:\p{Lu}\.)+|\p{Lu}", w) for w in words):
            return None  # initials alone ("RT / JM") say too little
        # "Triage RN": one word before a credential is a name only if the lists know it; before a
        # relation ("Haruto (grandson)") one the lists don't know will do if English lacks it
        lone_unlisted = from_end and len(words) == 1 and words[0].strip(".").lower() not in self._known
        if lone_unlisted and (listed_only or zipf_frequency(words[0].lower(), "en") >= _COMMON_ENGLISH):
            return None
        first, last = min(b for b, _ in kept), max(e for _, e in kept)
        return start + first, start + last

    def _full_or_listed(self, found: str) -> bool:
        words = [w for w in regex.split(r"[ ,]+", found) if w and not regex.fullmatch(_PARTICLE, w)]
        return len(words) >= 2 or any(w.strip(".").lower() in self._known for w in words)

    def _could_be_a_name(self, word: str) -> bool:
        if regex.fullmatch(r"(?:\p{Lu}\.)+|\p{Lu}", word):
            return True  # an initial ("M.", "T Achebe")
        bare = word.strip(".,'’").lower()
        if not bare or any(ch.isdigit() for ch in bare) or bare in self._clinical or bare in _LABEL_WORDS:
            return False
        if "-" in bare.strip("-") and word[:1].isupper():  # "Mary-Kate", "Kaur-Whitlam": each part
            parts = [part for part in bare.split("-") if part]
            return all(part in self._known or part not in self._common for part in parts)
        if bare in self._known:
            return True
        if bare in self._common:
            return False
        return not bare.isascii() or zipf_frequency(bare, "en") < _COMMON_ENGLISH


_STATE_ZIP = regex.compile(r"^,?[ ]\S+[ ]+\d{5}\b")


def _a_place(text: str, span: tuple[int, int]) -> bool:
    """A town before a state's abbreviation, not a clinician before a credential."""
    return text[span[0] : span[1]] in places() or bool(_STATE_ZIP.match(text[span[1] : span[1] + 16]))
