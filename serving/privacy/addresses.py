"""US street addresses and ZIP codes, and the place tail (", Town") other recognizers reuse."""

from __future__ import annotations

from serving.privacy.recognizers import RegexRecognizer, rule

# USPS Publication 28, C1 street suffixes (the common ones, with their abbreviations).
_STREET_SUFFIX = (
    r"(?:street|st|streets|avenue|ave|av|road|rd|roads|boulevard|blvd|lane|ln|drive|dr|drives|court|ct|courts|"
    r"place|pl|way|ways|terrace|ter|circle|cir|circles|parkway|pkwy|parkways|highway|hwy|square|sq|squares|"
    r"trail|trl|loop|row|alley|aly|pike|plaza|plz|path|alley|annex|arcade|bayou|beach|bend|bluffs?|bottom|"
    r"branch|bridge|brg|brooks?|burgs?|bypass|camp|canyon|cape|causeway|center|ctr|cliffs?|club|commons?|"
    r"corners?|course|coves?|creek|crk|crescent|crest|crossing|xing|crossroad|curve|dale|dam|divide|estates?|"
    r"expressway|expy|extensions?|ext|falls?|ferry|fields?|flats?|fords?|forest|forges?|forks?|fort|freeway|"
    r"fwy|gardens?|gdns|gateway|glens?|greens?|groves?|harbors?|haven|heights|hts|hills?|hollow|inlet|islands?|"
    r"isle|junctions?|jct|keys?|knolls?|lakes?|land|landing|lights?|loaf|locks?|lodge|mall|manors?|meadows?|"
    r"mews|mills?|mission|motorway|mount|mountains?|mtn|neck|orchard|oval|overpass|parks?|pass|passage|pines?|"
    r"plains?|point|points|pt|ports?|prairie|radial|ramp|ranch|rapids?|rest|ridges?|river|route|rte|rue|run|"
    r"shoals?|shores?|skyway|springs?|spurs?|station|sta|stravenue|stream|summit|throughway|trace|track|"
    r"trafficway|trailer|tunnel|turnpike|tpke|underpass|unions?|valleys?|viaduct|views?|villages?|ville|vista|"
    r"walks?|wall|wells?|close|rise|chase|parade|gate|wynd|grove|lines|nagar|marg)\.?"
)
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|"
    "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)


# The town, suburb and county that follow a street or a facility: ", Headington, Oxford",
# ", Old Airport Road, Bengaluru", ", Co. Galway" (capitalised, up to three parts).
# (a word ends at a word's end: "Aberystwyth SY23 1DE" leaves the postcode whole)
PLACE_TAIL = r"(?:,[ ](?-i:(?:Co\.[ ])?\p{Lu}[\p{L}'’-]+\b(?:[ ]\p{Lu}[\p{L}'’.-]+\b(?!\d)){0,2})){0,3}"


class AddressRecognizer(RegexRecognizer):
    """Street addresses: a house number, one to four words and a street type, with a unit;
    PO boxes."""

    entity = "ADDRESS"
    rules = (
        rule(
            rf"\b(?P<id>\d{{1,6}}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?-i:(?:(?:[A-Z][\w'-]*|\d+(?:st|nd|rd|th))\s+){{1,4}}){_STREET_SUFFIX}"
            rf"(?:\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?(?:,?\s+(?:apt|apartment|unit|suite|ste|\#)\.?\s*[\w-]+)?{PLACE_TAIL})(?!\w)",
            0.85,
        ),
        rule(r"\b(?P<id>p\.?\s?o\.?\s+box\s+\d{1,6})\b", 0.85),
        # A city before a state's abbreviation (geographic units smaller than a state).
        rule(rf"\b(?P<id>[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}),\s(?:{_STATES})\s+\d{{5}}\b", 0.85, 0),
        # Without a ZIP, not before MD or PA: "Bob Reed, MD" is a doctor.
        rule(
            rf"\b(?P<id>[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}),\s(?:{_STATES.replace('MD|', '').replace('PA|', '')})\b",
            0.7,
            0,
        ),
    )


class ZipCodeRecognizer(RegexRecognizer):
    """ZIP codes after a state, or after their label."""

    entity = "ZIP"
    rules = (
        rule(rf"\b(?:{_STATES}),?\s+(?P<id>\d{{5}}(?:-\d{{4}})?)\b", 0.85, 0),
        rule(r"\b(?:zip|zip\s*code|postal\s*code)[\s.:#\"'_]*(?P<id>\d{5}(?:-\d{4})?)\b", 0.9),
    )
