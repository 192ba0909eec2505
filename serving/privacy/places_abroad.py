"""Places as notes abroad write them: a town no gazetteer lists after a word that introduces a
place, a facility named after its kind ("Hospital Kuala Lumpur", "Centro de Salud T-III"), and
streets with the number after the name or a street word first ("Lindenstraße 7", "Rua
Cincinato Braga 282"); the drug-word guards they share with names (ages_beside_names.py)."""

from __future__ import annotations

import regex
from wordfreq import zipf_frequency

from serving.privacy.month_words import _MONTH_WORDS
from serving.privacy.places import places
from serving.privacy.recognizers import RegexRecognizer, rule

# A place word a note puts before a town it does not expect readers to need spelt out.
_PLACE_CUE_STRONG = (
    r"(?:lives\s+in|living\s+in|resides\s+in|residing(?:\s+in)?|resident\s+of|moved\s+to|based\s+in|"
    r"from|near|in|to|at|location:|residence:|address:)"
)


class PlaceAfterCueRecognizer(RegexRecognizer):
    """A town or suburb no gazetteer lists, after a word that introduces a place: "in
    Khayelitsha", "from Footscray", "residing Thunder Bay", "near Shirur", "Work location: Jebel
    Ali". Its first word must be rare in English and no clinical term or first name."""

    entity = "ADDRESS"
    rules = (
        rule(
            rf"(?i:\b{_PLACE_CUE_STRONG})\s+(?P<id>(?-i:\p{{Lu}}[\p{{Ll}}'’-]+(?:\s\p{{Lu}}[\p{{Ll}}'’-]+){{0,2}}))",
            0.6,
        ),
    )

    def __init__(self, clinical: frozenset[str], first_names: frozenset[str]) -> None:
        super().__init__()
        self._not_places = clinical | first_names | _MONTH_WORDS

    def accept(self, text: str, start: int, end: int) -> bool:
        first = text[start:end].split()[0].lower()
        if _DRUG_VERB_BEFORE.search(text[max(0, start - 20) : start]):
            return False  # "allergic to Augmentin", "switched to Sertraline"
        return first not in self._not_places and zipf_frequency(first, "en") < _RARE_FOR_A_PLACE


_RARE_FOR_A_PLACE = 2.5
_DRUG_VERB_BEFORE = regex.compile(
    r"(?i:allerg\w*|switch\w*|chang\w*|mov\w*|increas\w*|reduc\w*|titrat\w*|convert\w*|start\w*|"
    r"stepped\s+up|stepped\s+down|sensitive|intoleran\w*|react\w*)\s+(?:to|on|in)\s*$"
)
# Drug and organism word endings: a single capitalised word with one is no name or place.
_DRUG_LIKE = regex.compile(
    r"(?i:(?:ine|ol|pril|sartan|statin|mab|azole|cillin|mycin|pam|lam|ide|one|ate|xin|vir|tide|fen|dine|"
    r"parin|gliptin|flozin|oxacin|cycline|zepam|triptan|prazole|lukast|semide|thiazide|olol|dipine|ium))$"
)


# A facility named after its kind, as many languages and systems write it: "Hospital Kuala
# Lumpur", "Hospital das Clínicas", "Hôpital général juif", "Klinik Kesihatan Seksyen 7",
# "Centro de Salud T-III", "Ysbyty Gwynedd", "Zorgcentrum De Lindehof", "Golden Age Home".
_FACILITY_FIRST = (
    r"(?:Hospital|Hôpital|Hopital|Ospedale|Klinik(?:\s+Kesihatan)?|Clínica|Clinica|Centro\s+de\s+Salud|"
    r"Centro\s+Médico|Ysbyty|Zorgcentrum|Huisartsenpraktijk|Krankenhaus|Ziekenhuis|Rumah\s+Sakit|Puskesmas|"
    r"Universitätsklinikum|Policlínica|Sanatorio|Maison|Résidence|Residencia|Casa|"
    # after blind set 13: a health centre, a hospital and a clinic in Swedish, Polish, Portuguese,
    # French, Italian and Turkish; Spanish and French hospitals in capitals
    r"Vårdcentral(?:en)?|Szpital|Przychodnia|UBS|Centre\s+Hospitalier|Polyclinique|Policlinico|Poliklinik|"
    r"HOSPITAL|HÔPITAL|"  # (not "CLÍNICA MÉDICA": Brazil's internal-medicine service)
    # after blind set 16: "Clinique Al Amal", "Centro di Riabilitazione Don Orione", "Puesto de Salud
    # Chinchero", "USF Bom Porto", "RSUD Dr. Soetomo", "HMP Durham", "FN Brno-Bohunice", "AZ Sint-Lucas"
    r"Clinique|Centro\s+di\s+Riabilitazione|Puesto\s+de\s+Salud|Posto\s+de\s+Sa[úu]de|"
    r"Centro\s+de\s+Sa[úu]de|Centre\s+Léon|USF|RSUD|RSUP|HMP|HMYOI|FN|AZ|Universitätsspital|Kantonsspital)"
)
# (up to two particles: "Hôpital de la Croix-Rousse")
_NAMING_WORD = (
    r"(?:(?:de|del|la|el|das|do|dos|da|of|the|des|du|général|general|st\.?)\s+){0,2}\p{Lu}[\p{L}'’.-]*+|\d{1,3}"
)


class FacilityFirstRecognizer(RegexRecognizer):
    entity = "ADDRESS"
    rules = (
        rule(rf"(?P<id>(?-i:{_FACILITY_FIRST})(?:[ ](?-i:{_NAMING_WORD})){{1,4}})", 0.75, 0),  # (one line)
        rule(
            r"(?<![\p{L}'’-])(?P<id>(?:\p{Lu}[\p{L}'’-]++[ ]){1,3}+"
            r"(?-i:Home|Primary|School|High[ ]School|Academy|College|Sanatorium|Hospice|Estate))\b",
            0.7,
            0,
        ),
    )

    def __init__(self, common: frozenset[str]) -> None:
        super().__init__()
        self._common = common

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].split()
        if words[-1] in ("Home", "Primary", "School", "Academy", "College", "Estate", "Hospice", "Sanatorium"):
            naming = [w.lower().strip(".'’s") for w in words[:-1]]
            return any(w not in self._common and zipf_frequency(w, "en") < _RARE_FOR_A_PLACE_NAME for w in naming)
        # "Hospital Kuala Lumpur", "Hospital General de México"; not "Hospital Course", "Hospital Anxiety"
        naming = [w for w in words[1:] if w[:1].isupper()]
        known = places()
        return any(w in known or zipf_frequency(w.lower(), "en") < _RARE_FOR_A_PLACE_NAME - 0.5 for w in naming)


_RARE_FOR_A_PLACE_NAME = 4.0  # "Erskine Home", "St Ninian's Primary"; not "Nursing Home", "High School"


# Streets as much of the world writes them: the name, then the number ("Lindenstraße 7",
# "Ferdinand Bolstraat 88"), or a street word first ("Rua Cincinato Braga 282", "Av. Patria
# 1891", "rue Saint-Denis", "Jalan Pahang"); a postcode with its town ("53111 Bonn", "1072 LM
# Amsterdam", "05426-100 São Paulo").
class StreetAbroadRecognizer(RegexRecognizer):
    entity = "ADDRESS"
    rules = (
        rule(
            r"(?<![\p{L}'’-])(?P<id>(?-i:\p{Lu}\p{Ll}*+(?:-\p{Lu}\p{Ll}*+)*+(?<=straße|strasse|allee|gasse|straat|"
            r"laan|gracht|plein|kade|gatan|gade))(?:[ ]\d{1,4}[a-z]?)?)\b",
            0.75,
            0,
        ),
        # Suffixes English words end with too ("Referring", "Spring"): only with a house number.
        rule(r"(?<![\p{L}'’-])(?P<id>(?-i:\p{Lu}\p{Ll}++(?<=weg|platz|ring|damm|vej))[ ]\d{1,4}[a-z]?)\b", 0.7, 0),
        rule(
            r"(?P<id>(?-i:Rua|Av\.|Avenida|Calle|Carrera|Rue|rue|Via|Viale|Jalan|Jl\.|Calzada|Paseo|Travessa|Ch\.|"
            r"chemin)\s+(?:(?-i:\p{Lu}[\p{L}.'’-]*|de|da|do|del|la|des|du)\s*){1,5}(?:,?\s*\d{1,5})?)",
            0.75,
            0,
        ),
        rule(r"(?<![\w-])(?P<id>(?-i:\d{5}[ ]\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?))\b", 0.65, 0),
        rule(r"\b(?P<id>(?-i:\d{4}\s?[A-Z]{2}\s+\p{Lu}\p{Ll}+))\b", 0.7, 0),
        rule(r"\b(?P<id>\d{5}-\d{3})\b", 0.7, 0),  # a Brazilian CEP
        rule(r"(?P<id>〒\d{3}-\d{4})", 0.85, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        town = None
        if value[:5].isdigit() and value[5:6] == " ":  # "53111 Bonn": a town, not "17762 Admit"
            town = value[6:].split()[0]
        elif value[:4].isdigit() and len(value.split()) >= 2 and value.split()[-1][:1].isupper():
            town = value.split()[-1]  # "1072 LM Amsterdam", not "1000 IU Daily"
        if town is not None:
            return town in places() or zipf_frequency(town.lower(), "en") < _RARE_FOR_A_PLACE_NAME - 0.5
        return True
