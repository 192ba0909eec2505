"""Writes phi_notes.jsonl: synthetic clinical notes with every identifier span labelled, and
clinical traps (eponyms, drug names, doses, codes, years, blood pressures) that must stay.

    .venv/bin/python -m tests.serving.privacy.corpus.generate   # deterministic (seeded)

Names come from Faker's en_US lists (SSA first names, census surnames), a different source
from the detector's 1990 census lists, so the names recall measures generalisation too."""

from __future__ import annotations

import calendar
import json
import random
from collections.abc import Callable
from pathlib import Path

from faker import Faker

from orchestrator.npi import npi_is_valid
from serving.privacy.recognizers import vin_is_valid

OUT = Path(__file__).with_name("phi_notes.jsonl")  # the development set the detector was tuned on
HELDOUT = Path(__file__).with_name("phi_notes_heldout.jsonl")  # other phrasings, another seed
NOTES = 300
MONTHS = list(calendar.month_name)[1:]

fake = Faker("en_US")
rng = random.Random(20261129)
Faker.seed(20261129)


def name() -> str:
    style = rng.random()
    first, last = fake.first_name(), fake.last_name()
    if style < 0.7:
        return f"{first} {last}"
    if style < 0.85:
        return f"{first} {fake.random_uppercase_letter()}. {last}"
    return first


def date() -> str:
    year, month, day = rng.randint(1925, 2026), rng.randint(1, 12), rng.randint(1, 28)
    forms = [
        f"{month:02d}/{day:02d}/{year}",
        f"{month}/{day}/{year % 100:02d}",
        f"{year}-{month:02d}-{day:02d}",
        f"{MONTHS[month - 1]} {day}, {year}",
        f"{MONTHS[month - 1][:3]} {day} {year}",
        f"{day} {MONTHS[month - 1]} {year}",
        f"{MONTHS[month - 1]} {day}",
        f"{MONTHS[month - 1]} {year}",
        f"{month}-{day}-{year}",
        f"{year}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
    ]
    return rng.choice(forms)


def phone() -> str:
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    forms = [
        f"({area}) {exchange}-{line:04d}",
        f"{area}-{exchange}-{line:04d}",
        f"{area}.{exchange}.{line:04d}",
        f"+1 {area} {exchange} {line:04d}",
        f"1-{area}-{exchange}-{line:04d}",
    ]
    return rng.choice(forms)


def mrn() -> str:
    forms = [
        f"{rng.randint(0, 99_999_999):08d}",
        f"MR{rng.randint(100_000, 9_999_999)}",
        f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        f"E{rng.randint(1_000_000, 9_999_999)}",
    ]
    return rng.choice(forms)


def npi() -> str:
    while True:
        candidate = f"1{rng.randint(0, 99_999_999):08d}"
        for check in range(10):
            if npi_is_valid(candidate + str(check)):
                return candidate + str(check)


def vin() -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(17))
        for check in "0123456789X":
            value = candidate[:8] + check + candidate[9:]
            if vin_is_valid(value):
                return value


def ssn() -> str:
    return f"{rng.randint(100, 665):03d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def member_id() -> str:
    return rng.choice(
        [f"{fake.lexify('???').upper()}{rng.randint(100_000_000, 999_999_999)}", f"W{rng.randint(10**8, 10**9 - 1)}"]
    )


def old_age() -> str:
    return str(rng.randint(90, 104))


Slot = tuple[str, Callable[[], str]]
SLOTS: dict[str, Slot] = {
    "name": ("NAME", name),
    "date": ("DATE", date),
    "phone": ("PHONE", phone),
    "email": ("EMAIL", lambda: fake.email()),
    "ssn": ("SSN", ssn),
    "mrn": ("MRN", mrn),
    "npi": ("NPI", npi),
    "plan": ("HEALTH_PLAN", member_id),
    "account": ("ACCOUNT", lambda: f"{rng.randint(10**7, 10**10)}"),
    "license": ("LICENSE", lambda: f"{fake.random_uppercase_letter()}{rng.randint(10**6, 10**8)}"),
    "vin": ("VEHICLE", vin),
    "serial": ("DEVICE", lambda: f"{fake.lexify('??').upper()}{rng.randint(10**5, 10**8)}"),
    "url": ("URL", lambda: f"https://{fake.domain_name()}/{fake.uri_path()}"),
    "ip": ("IP", lambda: fake.ipv4_public()),
    "street": ("ADDRESS", lambda: fake.street_address()),
    "city": ("ADDRESS", lambda: fake.city()),
    "zip": ("ZIP", lambda: fake.zipcode()),
    "age": ("AGE", old_age),
    "lname": ("NAME", lambda: f"{fake.first_name()} {fake.last_name()}".lower()),
}

PHI_SENTENCES = [
    "Patient {name} (MRN {mrn}) was seen on {date}.",
    "Patient: {name}. DOB: {date}. MRN: {mrn}.",
    "{name} presented to clinic on {date} with chest tightness.",
    "Seen by Dr. {name} on {date}; follow-up with Dr. {name} in two weeks.",
    "Spoke with her daughter {name} at {phone}.",
    "Emergency contact: {name}, phone {phone}.",
    "Callback number {phone}; fax {phone}.",
    "Please email results to {email}.",
    "SSN {ssn} on file; insurance member ID {plan}.",
    "Medicare member ID: {plan}.",
    "Referring provider NPI {npi}.",
    "Lives at {street}, {city}, {state} {zip}.",
    "Address: {street}, {city}, {state} {zip}.",
    "A {age}-year-old woman with atrial fibrillation.",
    "The patient is {age} years old and lives alone.",
    "Pacemaker serial number {serial} checked today.",
    "Account number {account} for billing.",
    "Driver's license {license} verified at registration.",
    "Involved in a collision; vehicle VIN {vin}.",
    "Portal link {url} shared with the patient.",
    "Telehealth session from IP {ip}.",
    "Discharged on {date} to the care of {name}.",
    "Mrs. {name} reports her husband {name} has been helping with medications.",
    "Admitted {date}, discharged {date}.",
    "{name} is a {age} yo male with CHF.",
    "Next appointment {date} at 10:30.",
    "Mr. {name} called from {phone} about his refill.",
    "Electronically signed by {name}, MD on {date}.",
    "Labs drawn {date}: A1c 7.2%.",
    "Her son, {name}, will drive her home.",
]

# Only in the held-out corpus: phrasings the detector was not tuned on (patient messages,
# names with no cue, headers, lowercase).
HELDOUT_SENTENCES = [
    "Hi, I'm {name} and my date of birth is {date}.",
    "{name} reports three days of cough.",
    "Chart reviewed for {name}; last visit {date}.",
    "my name is {lname} and my phone is {phone}",
    "NAME: {name} | DOB: {date} | PHONE: {phone}",
    "Per {name}, the fall happened on {date}.",
    "Wife {name} present at bedside; her cell is {phone}.",
    "Records faxed to Dr. {name} at {phone} on {date}.",
    "Mailing address {street}, Apt {unit}, {city}, {state} {zip}.",
    "Please reach {name} via {email} before {date}.",
    "Insurance: policy number {plan}; group {plan}.",
    "The {age} y/o patient was accompanied by {name}.",
    "Pt {name}, MRN#{mrn}, admitted via ED.",
    "Insulin pump S/N {serial}; firmware updated {date}.",
]

TRAPS = [
    "History of Parkinson's disease, Graves disease and Hashimoto thyroiditis.",
    "Crohn disease in remission on adalimumab 40 mg every other week.",
    "Started metformin 500 mg twice daily; continue lisinopril 10 mg.",
    "BP 128/84, HR 72, SpO2 98% on room air, temperature 98.6 F.",
    "Diagnosed with type 2 diabetes in 2019; ICD-10 E11.9, CPT 99213.",
    "Will continue atorvastatin and recheck lipids in 3 months.",
    "May increase sertraline to 100 mg if tolerated.",
    "Bell's palsy on the left, resolving. Babinski sign negative.",
    "Glasgow Coma Scale 15. Apgar scores 8 and 9.",
    "Alzheimer disease, moderate; Hodgkin lymphoma treated in 1998.",
    "Down syndrome with congenital heart disease repaired as an infant.",
    "A 67-year-old man with COPD on tiotropium.",
    "Warfarin 5 mg daily, INR 2.4 today; target 2 to 3.",
    "Cushing syndrome ruled out; Addison disease on hydrocortisone.",
    "Grace period for the prior authorization ends soon.",
    "Pain 6/10, worse at night; ibuprofen 400 mg PRN.",
    "Tourette syndrome, Raynaud phenomenon and Lyme disease history.",
    "Foley catheter removed; Murphy sign negative; McBurney point tender.",
    "Gabapentin 300 mg at bedtime and Eliquis 5 mg BID.",
    "Hemoglobin 11.2 g/dL, platelets 210, WBC 7.5.",
    "Follow up in 2 weeks; return precautions reviewed.",
    "Patient is 45 years old, non-smoker, drinks socially.",
    "Rule out Guillain-Barre syndrome; EMG ordered.",
    "Morning glucose 110-140 mg/dL on insulin glargine 20 units.",
    "Sjogren syndrome with dry eyes; Wilson disease excluded.",
]
STATES = ["MA", "NY", "CA", "TX", "FL", "IL", "WA", "OH", "GA", "PA"]


def note(templates: list[str]) -> dict[str, object]:
    sentences = rng.sample(templates, rng.randint(2, 4)) + rng.sample(TRAPS, rng.randint(2, 4))
    rng.shuffle(sentences)
    text, spans = "", []
    for template in sentences:
        if text:
            text += " "
        cursor = 0
        while True:
            open_at = template.find("{", cursor)
            if open_at < 0:
                text += template[cursor:]
                break
            close_at = template.index("}", open_at)
            text += template[cursor:open_at]
            slot = template[open_at + 1 : close_at]
            if slot == "state":
                text += rng.choice(STATES)
            elif slot == "unit":
                text += str(rng.randint(1, 40))
            else:
                label, make = SLOTS[slot]
                value = make()
                spans.append({"start": len(text), "end": len(text) + len(value), "type": label})
                text += value
            cursor = close_at + 1
    return {"text": text, "spans": spans}


def main() -> None:
    for path, templates, seed in ((OUT, PHI_SENTENCES, 20261129), (HELDOUT, PHI_SENTENCES + HELDOUT_SENTENCES, 7)):
        rng.seed(seed)
        Faker.seed(seed)
        with path.open("w") as out:
            for _ in range(NOTES):
                out.write(json.dumps(note(templates)) + "\n")
        print(f"wrote {NOTES} notes to {path}")


if __name__ == "__main__":
    main()
