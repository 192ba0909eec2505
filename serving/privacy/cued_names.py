"""Names in the positions notes put them (#30): after a label or a strong cue, whatever their case
or letters ("Pt: Ōkubo Haruka", "re: marcus lee", "daughter Ngozi"), and "LAST, FIRST" in
capitals."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.name_words import _HONORIFICS, _NAME_PARTICLES, _STOP_AFTER_CUE, _common_elsewhere
from serving.privacy.places import _COMMON_ENGLISH, _LOWER_NAME_ZIPF

# A name after a label or a strong cue, whatever its case or letters: "Pt: Ōkubo Haruka",
# "Name: baker, holly", "re: marcus lee", "Patient frank o'malley", "daughter Ngozi".
# A word (with combining marks: Thai and Devanagari vowel signs), an initial or two ("А.В."), a
# nickname in quotes ("Dami")
_NAME_WORD = r"(?:\p{L}[\p{L}\p{M}'’]*+(?:-\p{L}[\p{L}\p{M}'’]*+)?|\p{Lu}\.(?:\p{Lu}\.)?|[\"“]\p{L}[\p{L}'’]*+[\"”])"
# Relatives as other languages name them, and people beside a patient (after blind set 16: "su
# marido Andrés", "Hennes dotter Pernilla", "Genitori: Stefano Colombo", "partnerką Martą", "aide
# Kerline"): a person comes next.
_OTHER_RELATIVES = (
    r"marido|primo|herman[oa]|irm[ãa]o?|companheir[oa]|sobrin[oa]|abuel[oa]|cu[ñn]ad[oa]|suegr[oa]|"
    r"novi[oa]|pareja|vecin[oa]|vizinh[oa]|marito|moglie|figli[oa]|fratello|sorella|genitori|nonn[oa]|"
    r"cugin[oa]|mari|[ée]pouse|fr[èe]re|s(?:œ|oe)ur|ehemann|ehefrau|bruder|mutter|vater|enkel(?:in)?|oma|opa|"
    r"vrouw|dochter|zoon|broer|moeder|vader|dotter|datter|s[øo]nn|hustru|syster|s[øo]ster|bror|sambo|kone|"
    r"barnebarn|mormor|farmor|morfar|farfar|partnerk[aąi]|m[ąa][żz]|siostra|matka|ojciec|babcia|dziadek|"
    r"wnuk|wnuczka|annesi|babas[ıi]|karde[şs]i|kokum|mushum|gogo|ambuya|sekuru|aunty|aide|attendant|"
    # after blind set 17: "Sonen Anders", "Conjoint Jean-Philippe", "son of Wong Chi Keung"
    r"sonen|dottern|hustrun|maken|conjointe?|(?:son|daughter|wife|husband|widow|child)\s+of"
)
_LABEL_CUE = (
    r"(?:patient|pt|name|re|client|resident|member|insured|subscriber|guarantor|surgeon|ordering|referring|"
    r"surname|forename|given\s+names?|given|first\s+name|last\s+name|family\s+name|nok|next\s+of\s+kin|"
    r"attender|emt|rn|w/o|s/o|d/o|taken\s+by|visited|requests|asked\s+for|emerg(?:ency)?\s+contact|"
    r"referred\s+by|referrer|provider|"
    r"requested\s+by|reported\s+by|phoned\s+to|dictated\s+by|signed|attending|consultant|gp|midwife|"
    r"staff\s+nurse|nurse|carer|key\s+worker|social\s+worker|physio|registrar|counsell?or|doctor|dr|"
    r"daughter|son|wife|husband|mum|mam|mom|mother|dad|father|brother|sister|niece|nephew|grandson|"
    r"granddaughter|grandma|grandmother|grandad|grandfather|gran|nan|nana|aunt|auntie|uncle|cousin|partner|"
    r"parents?|guardian|friend|neighbou?r|fianc[eé]e?|boyfriend|girlfriend|carer|cc|attn|mama|papa|baby|"
    r"child|kid|toddler|its|it['’]s|i['’]m|im|i\s+am|this\s+is|thanks|thx|regards|cheers|caller|manager|"
    r"adjuster|approved\s+by|seen\s+by|spoke\s+(?:w/|with|to)|pediatrician|paediatrician|optometrist|"
    r"dentist|therapist|coordinator|chaplain|interpreter|translator|mr|mrs|ms|miss|mx|prof|rev|sr|"
    r"hi|hello|hey|hiya|hola|bonjour|dear|morning|evening|call\s+me|known\s+as|naam|name['’]s|"
    r"handed\s+over\s+(?:to|by)|grandpa|grandad|granny|lola|lolo|ouma|oupa|moko|mokopuna|tita|tito|"
    r"flatmate|housemate|roommate|stepmum|stepmom|stepdad|bestie|mate|fiance|"
    r"tech|technician|driver|worker|injured\s+person|athlete|student|pupil|participant|deceased|falecido|"
    r"proband|informant|investigator(?:\s+signature)?|accessed\s+by|pick(?:ed)?\s*up\s+by|"
    r"counsell?ed\s+by|scribe|waris|contato|sibling|physician|priest|anaesthetist|anesthetist|scrub|"
    r"prescriber|pharmacist|sonographer|radiographer|witness|verified\s+by|herrn|frau|m[ãa]e|pai|"
    r"pathologist|crew|transcribed\s+by|woman|patiente|cuidador[a]?|demand[ée]\s+par|ordynator|c[óo]rka|syn|"
    r"[żz]ona|esposa|esposo|nuera|yerno|hija|hijo|madre|padre|fille|fils|m[èe]re|p[èe]re|tochter|sohn|o[ğg]lu|"
    r"k[ıi]z[ıi]|refakat[çc]i|hasta\s+ad[ıi]\s+soyad[ıi]|h[ọo]\s+t[êe]n(?:\s+ng[ưu][ờo]i\s+b[ệe]nh)?|"
    r"b[áa]c\s+s[ĩi](?:\s+[đd]i[ềe]u\s+tr[ịi])?|ng[ưu][ờo]i\s+nh[àa]|"
    r"患者氏名|氏名|姓名|联系人|主治医师|医师|担当医|환자명|주치의|보호자|성명|"
    r"paziente|pati[ëe]nt|huisarts|echtgenote|echtgenoot|anh[öo]rig|suami|isteri|pakar|"
    # blind set 10: patient and name labels as other languages write them
    r"paciente|pacient|patientin|hasta|acompa[ñn]ante|acompanhante|famille|nipote|betreft|pflegekraft|"
    r"children|foreman|professor|decedent|employee|claimant|beneficiary|veteran|applicant|child\s+\d|환자|"
    r"ф\.?и\.?о\.?|пациент|врач|лечащий\s+врач|ασθενής|ονοματεπώνυμο|"
    r"اسم\s+المريض|الاسم|الطبيب\s+المعالج|المرافق|نام\s+بیمار|پزشک|همراه|"
    r"שם\s+המטופל|רופא\s+מטפל|בת\s+משפחה|"
    r"रोगी\s+का\s+नाम|बिरामीको\s+नाम|नाम|ชื่อผู้ป่วย|ชื่อ|ผู้ติดต่อ|แพทย์|"
    r"家属|医生|醫師|紹介先|紹介元|의뢰의사|담당의|"
    # a letter's closing, then its writer
    r"yours\s+faithfully|yours\s+sincerely|sincerely|with\s+respect|best\s+wishes|kind\s+regards|merci|"
    r"saludos|atentamente|cordialement|grazie|obrigad[oa]|pozdrawiam|met\s+vriendelijke\s+groet|groeten)"
)
# Cues that say a person comes next (family, greetings): there a capitalised word is a name even
# when it is also an English word ("Daughter Mere", "partner Sky", "Hi Autumn"), and a lower-case
# one is when the name lists know it or English does not ("my sister grace", "daughter ngozi").
_SELF_CUE = regex.compile(r"(?i:\b(?:its|it['’]s|im|i['’]m|i\s+am|this\s+is)\W{0,3}$)")
_PERSON_CUE = regex.compile(
    r"(?i:daughter|son|wife|husband|mum|mam|mom|mother|dad|father|brother|sister|niece|nephew|grandson|"
    r"granddaughter|grandma|grandmother|grandad|grandfather|grandpa|gran|granny|nan|nana|aunt|auntie|uncle|"
    r"cousin|partner|friend|neighbou?r|fianc[eé]e?|boyfriend|girlfriend|mama|papa|lola|lolo|ouma|oupa|moko|"
    r"mokopuna|flatmate|housemate|roommate|stepmum|stepmom|stepdad|hi|hello|hey|hiya|hola|bonjour|dear|"
    r"call\s+me|known\s+as|naam|name\s+is|name['’]s|this\s+is|its|it['’]s|i['’]m|im|i\s+am|children)\W{0,3}$"
)
# A relative as other languages name them, then the name with no colon between ("su marido Andrés",
# "Hennes dotter Pernilla"): after a colon a family history's diagnosis comes as often ("Mutter:
# Hypertonie", "Matka: Cukrzyca"), and German capitalises it.
_RELATIVE_ELSEWHERE = regex.compile(
    rf"(?i:\b(?:{_OTHER_RELATIVES})\b)[ ]{{1,2}}+(?P<id>{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,3}})"
)
_CUED_NAME = regex.compile(
    rf"(?i:\b{_LABEL_CUE}\b)(?:['’]s)?+\s{{0,3}}+[:：|,(!–—-]?+\s{{0,3}}+"
    rf"(?P<id>{_NAME_WORD}(?:(?:,\s?|[ ]){_NAME_WORD}){{0,5}})"  # one space: two or more end a column
)
_AND_NAME = regex.compile(r"\s+(?:and|&)\s+(?P<name>\p{Lu}\p{Ll}[\p{L}'’-]*+)")
_NAME_LABEL_BEFORE = regex.compile(
    r"(?i:patient|pt|name|re|for|client|resident|member|patiente|paciente)\W{0,3}$|[—:|(]\s*$|"
    r"(?i:bed|room|rm|bay|cubicle|cot)\s*\d+\w?\s*[-:]?\s*$|(?:^|\n)\s*(?:\d+[.):]\s*)?$"
)
# What follows a patient's name in a list: an age and sex, an age in brackets, a date of birth.
_AGE_SEX_AFTER = regex.compile(r"^\s*(?:\(\d{1,3}\)|,?\s*\d{1,3}\s?(?:[MF]|yo|y/o|yrs?)\b|,?\s*(?i:dob|d\.o\.b))")
_CAPS_LAST_FIRST = regex.compile(
    r"(?<![\w'’-])(?P<id>\p{Lu}[\p{Lu}'’-]++(?:\s\p{Lu}[\p{Lu}'’-]++)?,\s*\p{Lu}[\p{L}'’-]++(?:\s\p{Lu}[\p{L}'’-]*+)?)"
    r"(?![\w'’-])"
)


class CuedNameRecognizer(EntityRecognizer):
    """Names after a label or a strong cue, and "LAST, FIRST" in capitals; each word is kept
    while it is not a common or clinical word (the medical allowlist and not_names.txt)."""

    entity = "NAME"

    def __init__(
        self, common: frozenset[str], clinical: frozenset[str], first_names: frozenset[str], surnames: frozenset[str]
    ) -> None:
        super().__init__(supported_entities=[self.entity], name="CuedNameRecognizer", supported_language="en")
        self._stop = common | clinical | _STOP_AFTER_CUE
        self._clinical = clinical | _STOP_AFTER_CUE
        self._first_names = first_names
        self._surnames = surnames

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for match in _CUED_NAME.finditer(text, overlapped=True):  # "Pt states husband Vikram"
            cue = text[match.start() : match.start("id")]
            # "Daughter Mere", "Hi Autumn": after family words and greetings; not "I'm Sorry", "Its Really"
            person = bool(_PERSON_CUE.search(cue)) and not _SELF_CUE.search(cue)
            span = self._name_span(text, match.start("id"), match.group("id"), person=person)
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.8))
            after = _AND_NAME.match(text, span[1]) if span is not None else None  # "Parents Lucía and Andrés"
            if after is not None and after.group("name").lower() not in self._stop:
                results.append(RecognizerResult(self.entity, after.start("name"), after.end("name"), 0.75))
        for match in _RELATIVE_ELSEWHERE.finditer(text):
            span = self._name_span(text, match.start("id"), match.group("id"))
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.75))
        for match in _CAPS_LAST_FIRST.finditer(text):
            words = [w.strip(",").lower() for w in match.group("id").split()]
            words = [w for w in words if w not in self._stop] if words[-1] in self._stop else words
            if len(words) < 2 or any(w in self._clinical for w in words):
                continue
            # ("FALL, SYNCOPE", "MIN, SWEATY": an EMS note's capitals; the "first name" is an English word)
            first_is_word = words[1] not in self._first_names and zipf_frequency(words[1], "en") >= _COMMON_ENGLISH
            listed = (words[0] in self._surnames and not first_is_word) or words[1] in self._first_names
            labelled = bool(_NAME_LABEL_BEFORE.search(text[max(0, match.start() - 24) : match.start()])) or bool(
                _AGE_SEX_AFTER.match(text[match.end() : match.end() + 16])
            )
            if listed or labelled:
                end = match.start("id") + len(" ".join(match.group("id").split()[: len(words)]))
                results.append(RecognizerResult(self.entity, match.start("id"), end, 0.75))
        return results

    def _name_span(self, text: str, start: int, run: str, *, person: bool = False) -> tuple[int, int] | None:
        """The run's leading words that can be a name: stop at the first common or clinical word."""
        end = start
        position = start
        kept = 0
        pieces = list(regex.finditer(r"\S+", run))
        for index, piece in enumerate(pieces):
            word = piece.group().strip(',;:.()"“”').lower()
            following = pieces[index + 1].group() if index + 1 < len(pieces) else ""
            if kept and word in _NAME_PARTICLES and following[:1].isupper():
                continue  # "Luuk de Vries", "Siti Nurhaliza binti Abdullah", "Dafydd ap Rhys"
            bare = word.replace("'", "").replace("’", "")
            glued = text[start + piece.end() : start + piece.end() + 1].isdigit()  # "PRS8871": an id, not a name
            if (
                not bare
                or glued
                or any(ch.isdigit() for ch in bare)
                or not self._could_be_a_name(piece.group(), bare, person)
            ):
                break
            kept += 1
            position = start + piece.start()
            end = position + len(piece.group().rstrip(",;:.()"))
            if piece.group().endswith((",", ";", ".")) and kept >= 2:
                break
        return (start, end) if kept and end > start else None

    def _could_be_a_name(self, raw: str, word: str, person: bool = False) -> bool:
        """A word after a cue is a name when the name lists know it ("Mum Crystal", "wife Joy"),
        or when it is capitalised and not English in common use, a verb form or a clinical word
        ("husband Vikram", but not "Patient came", "I am Diabetic", "Its Bleeding"). After a
        cue that says a person comes next, more is a name (_PERSON_CUE)."""
        if word in self._clinical:
            return False
        if person and word not in _STOP_AFTER_CUE and not word.endswith(("ed", "ing")) and len(word) > 1:
            if raw[:1].isupper() and raw[1:2].islower():
                # "Daughter Mere", "partner Sky", "Hi Autumn"; not "Mum Thinks" (a verb)
                verb = word.endswith("s") and zipf_frequency(word[:-1], "en") >= _COMMON_ENGLISH + 0.5
                return not verb or word in self._first_names
            if word in self._first_names or zipf_frequency(word, "en") < _LOWER_NAME_ZIPF:
                # "my sister grace", "daughter ngozi"; not another language's word ("Nico está")
                return word in self._first_names or not _common_elsewhere(word)
        if word in self._first_names or word in self._surnames:
            return word not in self._stop or raw[:1].isupper()
        if raw.upper() == raw.lower() and any(c.isalpha() for c in raw):
            return word not in _HONORIFICS  # a script without case ("鈴木", "김민준", "王秀英")
        # (a verb's ending, not a name's last part: "El-Sayed")
        if word in self._stop or not raw[:1].isupper() or (word.endswith(("ed", "ing")) and "-" not in word):
            return False
        # "José", "Seán", "Öztürk": English spells no word with these letters (wordfreq knows
        # "josé" from names in English text, which is what it is here).
        if not word.isascii():  # (but not a common word of the languages that spell that way: "está", "también")
            return not _common_elsewhere(word)
        return zipf_frequency(word, "en") < _COMMON_ENGLISH
