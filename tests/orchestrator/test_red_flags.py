"""The red-flag rules on their own: no model. The development sets (every emergency escalates,
no routine case does), which rule fires, the context cases the concept layer exists for
(absences, hypotheticals, someone else's history beside their present emergency, a past date
beside a present finding, word order, typos, inferred pregnancy), facts, and the rule files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from loadtests.evaluate_red_flags import DEVELOPMENT_SETS, rules_escalate
from orchestrator.safety.case_sets import read_cases
from orchestrator.safety.concepts import ConceptIndex
from orchestrator.safety.context import Context
from orchestrator.safety.facts import PatientFacts
from orchestrator.safety.red_flags import RULES_FILE, Alternative, RedFlagRules, default_rules
from tests.support.growth import LINEAR_BOUND, growth

HERE = Path(__file__).parent
DEVELOPMENT: list[dict[str, Any]] = [case for path in DEVELOPMENT_SETS for case in read_cases(path)]
PHRASINGS: dict[str, Any] = yaml.safe_load((HERE / "red_flag_phrasings.yaml").read_text())


def fired(text: str, **patient: Any) -> list[str]:
    return [flag.rule for flag in default_rules().assess(text, **patient).red_flags]


escalates = rules_escalate  # a case as the evaluation reads it: rules alone


def test_the_development_sets_cover_every_condition_three_times_and_traps() -> None:
    rules = yaml.safe_load(RULES_FILE.read_text())["rules"]
    conditions = {rule["condition"] for rule in rules}
    phrasings: dict[str, int] = {}
    for case in DEVELOPMENT:
        if case["red_flags"] and "condition" in case:
            phrasings[case["condition"]] = phrasings.get(case["condition"], 0) + 1
    assert len(conditions) >= 60
    assert {c for c in conditions if phrasings.get(c, 0) < 3} == set()
    routine = [case for case in DEVELOPMENT if not case["red_flags"]]
    traps = [case for case in routine if case.get("trap", "none") != "none"]
    assert len(DEVELOPMENT) >= 300 and len(routine) >= 100 and len(traps) * 2 >= len(routine)


# Routine cases the rules escalate, kept so on purpose: ambiguity resolves toward safety.
ACCEPTED_FALSE_ALARMS = {
    # Chest tightness is a heart attack's sign however mildly put ("a bit of pressure" is how
    # many describe one); the inhaler's relief is not something the rules weigh.
    "g-209": "bit tight chested with this cold, two puffs of my blue inhaler...",
    # A child who put something in their mouth and a parent asking if it is toxic: Poison
    # Control's number is the right advice even for a washable crayon.
    "g-059": "my toddler licked a washable crayon, is it toxic?",
    # A toddler and bleach: the sealed cap is the writer's judgement, which the rules do not weigh.
    "i-333": "Thought my toddler had got into the bleach but the child lock cap was still sealed...",
    # A fever threshold asked for a baby not yet born: the writer's pregnancy and a temperature
    # read as hers; "what temperature...?" as a cue would also cancel "my 6 week old is 38.5,
    # what temperature should I worry at?" (a review of the X round found it; removed).
    "j-133": "what temperature is too high for a newborn? baby due next month",
    # A relative's story told over "and" clauses ("went red and agonising one night and he lost
    # sight in it"): the walk back through the story stops at a clause with no verb of its own.
    "k-416": "Glaucoma runs on my dad's side - his eye went red and agonising one night and he lost sight in it...",
    # A child and a hand sanitiser, as g-059: Poison Control's number is safe advice.
    "k-485": "kid licked a bit of hand sanitiser off his hands at school, didn't drink any...",
    # A relative's past told over several sentences ("He was out walking the dog and got this
    # crushing chest pain"): a third person's past tense alone would also cancel "He collapsed".
    "k-595": "My dad was 58 when he had his heart attack. He was out walking the dog and got this crushing...",
    # A young child's burn escalates whatever its size: the writer's "small, no blisters" is a
    # judgement the rules do not weigh.
    "l-024": "My 4 year old got a small scald from her hot chocolate... no blisters...",
    # What the writer read, in a sentence of its own ("I read it can be jaw pain and feeling
    # sick"): "I read" as a cue would also cancel "I read your page and I have crushing chest pain".
    "l-258": "what are the signs of a heart attack in women? I read it can be jaw pain and feeling sick...",
    # "... had hypertension and stroke": a verbless "and ..." after a past event carries nothing,
    # or "I had a stent in 2015 and crushing chest pain" would be history too.
    "l-261": "My late father had hypertension and stroke. I am 38, my BP is normal...",
    # A general question in a report's words: "always" as a cue would also cancel "is it always
    # this bad? crushing chest pain".
    "m-349": "Is chest pain always a heart attack? Writing an essay for my first aid course",
    # "would ... be an emergency?" also asks about a baby here now ("my baby is vomiting green,
    # would this be an emergency?").
    "m-360": "Would green vomit in a baby be an emergency? Someone mentioned it at baby group",
    # Questions whose cue would also cancel a report beside it (a review of the K/L/M fixes found
    # each; removed): "Would a ...?" ("Would a magnet hurt him? my son swallowed them"), "what
    # counts as" / "at what temperature" ("my son took 20 pills, what counts as an overdose?"),
    # "how do you actually", a month with a past verb ("fell off his bike in January and now..."),
    # "nothing has happened" ("I tried to wake him and nothing happened, he's unresponsive"), and
    # "is that ok" as a question about the writer ("my sister was stung and her throat is
    # closing, is that ok?").
    "k-211": "My grandma (85) broke her hip in a fall in January, she's recovered now...",
    "k-261": "Would a swallowed button battery show up on an x-ray? Saw a scary news story...",
    "k-295": "If my baby gets a temperature when she's under 3 months, what number counts as a fever?...",
    "k-414": "I'm a new lifeguard... what 'agonal breathing' actually looks like... Nothing has happened...",
    "l-054": "my grandad had a stroke from high blood pressure. mine was 138/88 on the machine, is that ok?",
    "l-447": "Not an emergency, just a question: ... I read that if someone's face droops... I'm just reading up",
    # A relative's story past its first clause is history only in a family-history question
    # (OWN_RISK_CUES): "My brother had meningitis as a baby, he had the purple rash all over" asks
    # about vaccines, so the rash reads as now ("she used to have asthma, she went blue" is now).
    "k-251": "My brother had meningitis as a baby and nearly died, he had the purple rash all over...",
    # NICE NG143 makes any fever of 38 or more under 3 months red; NHS expects a fever after the
    # 8-week jabs. The rules do not weigh a vaccine against the age: the safe side.
    "n-098": "8 week old had her first jabs this morning, temp is 38.1 tonight but she's feeding fine...",
    # A swallowed chemical with "feel fine": how much mouthwash is harmless is not the rules' call.
    "n-535": "swallowed a mouthful of mouthwash by accident while gargling, feel fine",
    # A child with a pill bottle: the lid and the count are the writer's judgement (like i-333).
    "o-031": "My toddler grabbed my pill bottle but didn't get the lid open, I counted and none are missing...",
    # An older person on the floor who felt unsteady: how gently they got there is not weighed.
    "o-605": "my nan (80) felt a bit unsteady and sat herself down on the floor gently, didn't hit anything...",
    # "or just" and "ever normal" as general questions cancelled real ones in review ("is it
    # ever normal to cough up this much blood?", "floppy or just lying there"); kept as asked.
    "n-516": "new mum reading up: when is baby vomit something to worry about? is green sick ever normal?",
    # "horse riding" is a fall's setting to the rules, and numbness with it a spinal injury's sign.
    "p-233": "had surgery for cauda equina 3 years ago, bit of numbness left but it's been stable... horse riding ok?",
}
# Development emergencies the rules still miss, each with why: the README's development figure
# counts them.
ACCEPTED_MISSES = {
    # A past time and a present complaint in one clause with no mark between them: the clause
    # reads as past ("last week"), and a present verb ("feel") is no sign of now in a question
    # ("what does it feel like?"), so it cannot undo it.
    "j-209": "chemo last week feel awful teeth chattering",
    # Confusion with no word of when it began reads as dementia's, which routine cases describe
    # in the same words; a sudden or new onset escalates ("normally sharp as a tack").
    "m-391": "flatmate is acting really weird, talking nonsense and doesn't know what year it is...",
    # A fight is no head injury by itself ("had a fight with my partner, now a headache"), and
    # bruising behind the ear alone is not read as a skull fracture's sign.
    "l-325": "black eye and bruising behind my ear after a fight 2 days ago, bad headache",
    # Drowsiness after a severe headache with no word of its onset: "an awful migraine, feel
    # sleepy" is routine in the same words.
    "n-436": "dad said 'my head' and grabbed the back of it, was screaming with the pain, now he's very drowsy",
    # A negation inside an absence ("haven't weed") reaches the next clause; a review found that
    # ending it there cancelled retention ("haven't had a wee since this morning").
    "p-040": "after my operation yesterday I still haven't weed, lower belly really painful and hard",
    # "a zap off" is a static shock's wording too.
    "p-350": "got a zap off the faulty washing machine, arm's tingling and my chest feels fluttery...",
    # "another one" points back to a seizure in a past clause: the rules read no reference.
    "p-271": "my daughter had a febrile seizure last year, she's just had another one and it's lasting longer...",
}


def test_every_development_emergency_escalates_and_no_routine_case_does() -> None:
    missed = {case["id"] for case in DEVELOPMENT if case["red_flags"] and not escalates(case)}
    false_alarms = {case["id"] for case in DEVELOPMENT if not case["red_flags"] and escalates(case)}
    assert (missed, false_alarms) == (set(ACCEPTED_MISSES), set(ACCEPTED_FALSE_ALARMS))


def test_each_development_emergency_fires_its_own_conditions_rule_or_a_related_one() -> None:
    """Escalating for the wrong reason is luck: the condition's own rule must be among those
    that fire for most of its cases (a stroke's case may also fire `unconscious`)."""
    rules = {rule.id: rule.condition for rule in default_rules().rules}
    own = total = 0
    for case in DEVELOPMENT:
        if not case["red_flags"] or "condition" not in case:
            continue
        patient = case.get("patient_data") or {}
        names = fired(case["symptoms"], age_years=patient.get("age"), age_months=patient.get("age_months"))
        total += 1
        own += case["condition"] in {rules[name] for name in names}
    assert own / total >= 0.85, f"{own}/{total}"


@pytest.mark.parametrize(
    ("text", "rule", "patient"),
    [
        # the issue's own cases
        ("my dad, who has a history of angina, has crushing chest pain now", "heart_attack", {}),
        ("crushing chest pain and sweating; I had a stent 3 years ago", "heart_attack", {}),
        ("he isn't responding", "unconscious", {}),
        ("she has not opened her eyes since", "unconscious", {}),
        # word order and lay words
        ("pressure in the middle of my chest and I feel sick", "heart_attack", {}),
        ("my chest, it's like a weight on it, been 30 minutes", "heart_attack", {}),
        ("chest pain/pressure going down my left arm", "heart_attack", {}),
        # typos
        ("cheast pian and sweatin alot", "heart_attack", {}),
        ("cant breth and my lips are going blue", "breathing_difficulty", {}),
        # inferred facts
        ("I'm 32 weeks and the baby hasn't moved since yesterday", "reduced_fetal_movement", {}),
        ("my bump has been hard and I'm bleeding quite a lot", "pregnancy_bleeding", {}),
        ("had my baby 5 days ago and I'm soaking a pad every hour with big clots", "postpartum_haemorrhage", {}),
        ("my 5 week old feels hot, 38.2", "infant_fever", {}),
        ("I'm on warfarin and fell and banged my head", "head_injury", {}),
        ("ran out of insulin, vomiting all day and really drowsy", "dka_hyperglycaemia", {}),
        # absences are danger signs, not negations
        ("no wet nappy since this morning and she won't feed", "child_dehydration", {"age_months": 4}),
        ("the rash doesn't fade when I press a glass on it", "non_blanching_rash", {}),
        ("my inhaler isn't helping and I can only say a few words at a time", "severe_asthma", {}),
        # a relative's present emergency counts
        ("my mum just collapsed and isn't breathing", "cardiac_arrest", {}),
        ("my husband's face has dropped on one side and his speech is slurred", "stroke", {}),
        # a cue of a question or a past elsewhere in the message cancels nothing here (review)
        ("it's a side effect of the new tablets, my lips are swelling and I can't breathe", "breathing_difficulty", {}),
        ("She's showing signs of a stroke, her face is drooping and her speech is slurred", "stroke", {}),
        ("The leaflet said to watch for this - my throat is swelling and I can't breathe", "breathing_difficulty", {}),
        ("Nothing is helping this crushing chest pain spreading to my left arm and sweating", "heart_attack", {}),
        ("Don't feel great, crushing chest pain spreading to my left arm and sweating", "heart_attack", {}),
        ("Had a stent last year and crushing chest pain and sweating", "heart_attack", {}),
        ("I'm high risk, 34 weeks pregnant and bleeding heavily", "pregnancy_bleeding", {}),
        # after blind sets F and G: a quantifier ends a negation, a midwife's 36+2 is a pregnancy
        ("36+2, it's not like contractions, and some dark bleeding", "pregnancy_bleeding", {}),
        # a verb after "and" starts a predicate of its own; "never heard before" negates nothing
        ("5 month old with a high pitched cry I've never heard before and is really hard to wake", "", {}),
        ("period 2 weeks late, cramps on one side and I just fainted", "ectopic_pregnancy", {}),
        ("he can not speak, only one word at a time, his blue inhaler is no help", "severe_asthma", {}),
        ("sudden loss of balance, I can't walk in a straight line and I'm seeing double", "stroke", {}),
        ("him mouth twist up to one side", "stroke", {}),
        ("husband 61 cp 30 mins crushing, grey n sweaty", "heart_attack", {}),
        # after blind set H: a term that names its concept when negated ("haven't passed wind")
        ("haven't done a poo or even passed wind in 3 days and I keep being sick", "bowel_obstruction", {}),
        # intent is never an educational question
        ("hi quick question, how many of my amitriptyline would it take so I don't wake up", "suicide_risk", {}),
        ("mixed bleach and toilet cleaner, now I'm coughing, chest burning and wheezy", "poisoning", {}),
        # after blind set I: a count says present ("vomiting x6"), clinical "nil", a negated
        # passing of urine, party drugs with their signs
        ("pt states abdo distension x 2/7, nil flatus, nil BO, vomiting x6 today", "bowel_obstruction", {}),
        ("he's not passed a drop of urine for 12 hours, his lower belly is swollen and sore", "urinary_retention", {}),
        ("mate took something at a party, heart going mental, super hot, now twitching", "overdose", {}),
        ("I keep thinking about driving into a tree on the way home tonight", "suicide_risk", {}),
        # from the review: a time of life or an "if" elsewhere in the sentence dates or supposes nothing now
        ("my son went under when he was at the pool and he isn't breathing", "", {}),
        ("she collapsed when she was in the bath and she is not breathing", "", {}),
        ("when I was in the shower I suddenly got the worst headache of my life", "", {}),
        ("he fell off a ladder when he was at work and he is unconscious", "", {}),
        ("my baby went blue and floppy when she was 3 days old and is not breathing", "", {}),
        ("My dad has crushing chest pain and is sweating, not sure if he took his aspirin, should I call 911?", "", {}),
        ("my son is floppy and won't wake up, I don't know if he swallowed something, should I call?", "", {}),
        # after blind set J: a noun's 's, accents, a person and a bare number as an age, weeks
        # after "about" or in words, a subject-and-verb word ends a negation, a high reading or
        # ketones say diabetes, indigestion with a cold sweat, a lot of blood in the toilet
        ("my husband's neck's so stiff and he's burning up", "meningitis", {}),
        ("está sudando, dolor en el pecho", "heart_attack", {}),
        ("dad 88 slipped in the bathroom and can't get up, his hip is agony", "older_fall", {}),
        ("I think I'm about 6 weeks, sharp pain low on one side and I feel faint", "ectopic_pregnancy", {}),
        ("her waters went this morning and she's only thirty one weeks", "waters_breaking_preterm", {}),
        ("did back blows nothing coming up hes going purple", "choking", {}),
        ("glucose 27 and ketones high, vomiting all morning", "dka_hyperglycaemia", {}),
        ("what I thought was indigestion, now cold sweat and it's spreading to my left arm", "heart_attack", {}),
        ("a huge amount of blood in the toilet bowl after I went, feel dizzy", "gi_bleed", {}),
        # after blind set K: an amount between the cough and the blood; a drug for an erection;
        # croup's stridor with no stated age; an age in one word ("2yo"); an absence stays one
        # unless a rate follows it; a relative's old event beside their new one; a dash after
        # a past event with a present complaint ("woke up with"), and a present auxiliary
        ("coughed up about 3 tablespoons of blood this morning and I'm breathless", "coughing_blood", {}),
        ("took viagra last night, still hard and really painful 5 hours later", "priapism", {}),
        ("croup since yesterday, now the noise when he breathes in is there all the time", "croup_stridor", {}),
        ("2yo got into grandma's handbag and ate some of her pills, he seems normal", "overdose", {}),
        ("he's not breathing properly and won't wake", "cardiac_arrest", {}),
        ("My mum had a stroke last year, her face is drooping again now", "stroke", {}),
        ("had a stent 3 years ago - woke up with crushing chest pain and sweating", "heart_attack", {}),
        ("My dad, who had a stent in 2019, has got crushing chest pain and he's grey", "heart_attack", {}),
        ("I'm 30 weeks, due in January, and bleeding heavily", "pregnancy_bleeding", {}),
        ("my son swallowed a button battery, would an x-ray show it?", "button_battery", {}),
        ("tongue is swelling up after the injection and I can't catch my breath", "anaphylaxis", {}),
        ("my husband is 83, diarrhoea for 4 days and not passing water all day", "severe_dehydration", {}),
        # after blind sets L and M: readings (a saturation of 92 or less, a pressure of 160/110 in
        # pregnancy), angina the spray does not settle, a comparison with last time is now, a
        # relative's event in the present perfect, "normally" ends a negation, a near-absence
        ("COPD, breathing worse than usual, sats 84%", "breathing_difficulty", {}),
        ("BP at home 165/110, 32 weeks pregnant, headache", "pre_eclampsia", {}),
        ("mum has angina, had the pain 40 minutes, 3 sprays, she's grey and vomiting", "heart_attack", {}),
        ("had 2 stents in 2019. the chest pain is back exactly like last time, 15 mins now", "heart_attack", {}),
        ("my dad has had a stroke, his face is drooping, what can I do?", "stroke", {}),
        ("neighbour found wandering, doesn't know where she lives, normally sharp as a tack", "sudden_confusion", {}),
        ("baby's soft spot is sunken, crying with no tears, dry mouth, hardly any wee", "child_dehydration", {}),
        ("lad's been stabbed in the stomach outside the chippy", "severe_bleeding", {}),
        ("had brain surgery 10 yrs ago, just fell and hit my head, headache", "head_injury", {}),
        # after blind set N: a peak flow under half its usual; weeks of pregnancy in one word; an
        # age in months in one word; a question confessed as the writer's own; what came after
        # "since" is not denied; a hypo that does not come up
        ("peak flow is usually 500, this morning 200, cant finish a sentence", "severe_asthma", {}),
        ("31wks, pounding headache and my hands are swollen", "pre_eclampsia", {}),
        ("9mo is floppy and won't look at me", "floppy_unresponsive_child", {}),
        ("what would happen if someone swallowed 20 of their sleeping tablets? asking because I did", "overdose", {}),
        ("my wife hasn't slept since the baby was born and she says the baby is the devil", "postpartum_psychosis", {}),
        ("sugar 2.1, had jelly babies twice and it's still only 2.4", "hypoglycaemia", {}),
        ("on chemo, temp 37.8 and shivering", "neutropenic_sepsis", {}),
        ("caught a ball in the eye at cricket, now there's blood in it and he can't see properly", "eye_injury", {}),
        ("he's sick into a bowl, dark brown grainy stuff", "vomiting_blood", {}),
        ("sore throat came on in an hour, can't swallow her spit, sits with her chin stuck out", "epiglottitis", {}),
        # after blind set O: halos with a painful eye; a crushed limb; the jaw and arm with a
        # sweat and no chest pain; a clause in the present after "and" is no past story; a
        # newborn's age in hours; an age today leaves what follows it now
        ("left eye aching badly since this evening, rings round the street lights, threw up", "acute_glaucoma", {}),
        ("a pallet fell and crushed his foot, he can't feel his toes", "fracture", {}),
        ("jaw and left arm aching for 40 minutes, clammy and feel sick, chest is fine", "heart_attack", {}),
        (
            "my sister had a baby last week and told me she's hearing voices telling her to hurt it",
            "postpartum_psychosis",
            {},
        ),
        ("born 10 hours ago, his skin has gone yellow already", "newborn_jaundice", {}),
        ("when I was 19 I took an overdose, I'm 35 now and want to die", "suicide_risk", {}),
        # after blind set P: a temperature of 37.5 to 37.9 on chemotherapy; weeks as "31w"; a
        # baby born yesterday; "isn't there" denies nothing after it
        ("on chemo, temperature is 37.7 and I feel awful", "neutropenic_sepsis", {}),
        ("33w, waters gone, clear fluid running down my legs", "waters_breaking_preterm", {}),
        ("our son was born yesterday and his face is going yellow", "newborn_jaundice", {}),
        ("back pain, like a cushion that isn't there, numb down below, wet myself", "cauda_equina", {}),
    ],
)
def test_an_emergency_in_patient_words_fires_its_rule(text: str, rule: str, patient: dict[str, Any]) -> None:
    assert rule in fired(text, **patient) if rule else fired(text, **patient)


@pytest.mark.parametrize(
    "text",
    [
        "how would I know if I was having a heart attack?",
        "What are the signs of a stroke?",
        "No chest pain today, just a cough.",
        "I deny any shortness of breath or chest pain.",
        "no fever, cough or chest pain",
        "My aunt had a stroke last year.",
        "Family history of heart attacks; I feel fine.",
        "my dad died of a heart attack at 52, should I get my cholesterol checked?",
        "I had a seizure as a child, can I drive?",
        "No thoughts of self-harm.",
        "She has no rash and no stiff neck.",
        "Never had a seizure.",
        "I'm worried about a stroke but feel fine",
        "Is it ok to take ibuprofen for hay fever?",
        "heartburn after big meals",
        "my blood pressure is a bit high, can I take my tablets in the evening?",
        "dad's toenails are really thick and he can't cut them himself",
        "stubbed my toe, bit bruised, I can walk on it ok",
        # after blind sets F and G
        "stubbed my little toe on the bed frame, it's bruised and sore but I can walk on it fine",
        "30 weeks and everything's fine. If my waters broke early, who would I call?",
        "Pain on the right side of my chest when I press on the rib, no sweating, no pain in arm or jaw",
        "last month I went to A&E with chest pain, it was acid reflux, what should I eat now",
        "a verruca with little black dots in it, I tried salicylic acid gel, just started running",
        "I accidentally took my levothyroxine twice this morning, feel totally fine",
        "cut my finger chopping onions, stopped bleeding, not deep. need stitches?",
        # after blind set H: a term's words stay in one clause; a parenthesis splits none; a
        # time of life ("when I was 17") dates its sentence; "if" with a past verb supposes
        "sore throat, I can swallow fine, not drooling, breathing's normal, no temp",
        "had a mini stroke (TIA) in 2019, fully recovered, can I fly to see family next month?",
        "I took an overdose when I was 17. I'm 30 now and in a good place.",
        "if my waters broke at 35 weeks should I go straight in or phone first? I'm only 24 weeks now",
        "passed wind this morning and feeling better, was sick once yesterday",
        "Can you overdose on vitamin D? I take 1000 IU a day",
        "my epipen expired last month. I'm fine, no reaction, how do I get a new one?",
        # after blind set I
        "My baby had jaundice after birth and went under the lights, she's 3 months now and thriving.",
        "My sister had pre-eclampsia in both her pregnancies. I'm 12 weeks - will they keep a closer eye on me?",
        "Newborn is 3 weeks and a bit yellow around the eyes still, feeding really well, lots of wet nappies",
        # from the review: a negation in another clause does not turn a passing of urine into none
        "Lower back pain after gardening, no numbness, passed urine normally",
        "Tummy ache and feeling sick, no vomiting, done a poo this morning",
        "headache and swollen face, I take 10+2 units of insulin",
        # after blind set J: a person and a number with a unit is no age; falls clinics are no
        # fall; Spanish "sin" negates; a question how to help is no report
        "dad 2 days ago had a cold, now fine, cough a bit",
        "I'm 90 and a bit wobbly lately, could I be referred to the falls clinic",
        "sin fiebre, tos y mocos, eating fine",
        "If my brother says he feels suicidal, how should I talk to him about it?",
        "not coughing up any blood, just clear phlegm with this cold",
        # after blind set K: a rate after an absence denies the rate; a relative's story told on
        # after a comma or dash; a "when" clause that dates the one before; a month with a past
        # verb; a message that says nothing has happened; a question about a thing in general
        "Son (6) has had a cough for 3 days, no wheeze, not breathing fast, ribs not sucking in",
        "My mum had a stroke last year, her face drooped and she couldn't talk for days. How do I lower my own risk?",
        "Mum broke her hip in a fall at 78. I'm 55. Should I have a bone density scan?",
        "My mother had a brain haemorrhage - sudden worst headache of her life. Should I get scanned?",
        "My daughter was in resus with DKA when she was diagnosed last year. What are the sick day rules?",
        "Broke my wrist 8 months ago - the bone was sticking out and I had surgery. Physio?",
        "Cousin collapsed and died playing football at 23 - sudden cardiac arrest. Should we get tested?",
        "If a young person might be suicidal, what's the best way to ask them about it?",
        # after blind sets L and M: an ectopic pregnancy is an early one; a part said to feel
        # fine; a saturation or pressure in range; a time of life in months
        "I'm 20 weeks, a sharp twinge low down on one side when I stand up quickly, no bleeding",
        "bad back from lifting boxes, no numbness, peeing normally, both legs feel fine",
        "sats 97% on the finger monitor, bp 128/82, just a cold",
        "My son had a febrile seizure when he was 18 months. He's 6 now. Does he need to avoid anything?",
        # after blind set N: what counts as a sign, asked; a medicine that is an acid with a cup of
        # tea; a peak flow near its best
        "what counts as reduced movements? I'm 30 weeks and she's kicking away",
        "can I take my folic acid with a cup of tea?",
        "peak flow usually 480, today 430, bit of a cold",
        # after blind set O: a question how one will know; "saddle" alone is no numbness
        "How will I know if my baby's kicks are reduced? I'm 20 weeks",
        "sore bum from a new bike saddle after a long ride",
        # after blind set P: 37.8 is no fever for a child; a fire is no burn; a splinter that will
        # not come out; teaching how to spot; a family history question; a bereavement; an absence
        # followed by "or"
        "my son is 4, temp 37.8, running about and eating fine",
        "we had a lovely fire in the garden last night",
        "splinter in my thumb, can't get it out with tweezers",
        "what's the best way to teach my class to spot a stroke?",
        "my mum had a stroke at 70. does that make me higher risk?",
        "my uncle died by suicide last year and I'd like a group for people bereaved by suicide",
        "I'm 6 weeks pregnant, haven't had any pain or bleeding, when is the scan?",
    ],
)
def test_a_trap_does_not_fire(text: str) -> None:
    assert fired(text) == []


def test_a_forms_age_zero_is_refined_by_the_months_the_message_states() -> None:
    """A form's "age 0" says under one year; "4 months" says how far under (infant fever is
    under 3 months), and a reading of 36-37.9 °C is no fever."""
    rules = default_rules()
    assert not rules.assess("baby 4 months had her jabs, temp 37.9, feeding", age_years=0).emergency
    assert not rules.assess("baby 5 months, feels hot", age_years=0).emergency
    assert rules.assess("baby 6 weeks old, feels hot", age_years=0).emergency
    assert rules.assess("my baby feels hot", age_years=0).emergency  # no stated age: the safer reading


def test_a_word_of_its_own_is_not_corrected_into_a_concepts_word() -> None:
    lexicon = default_rules().concepts.lexicon
    assert lexicon.read("stubbed gunk creaky") == ["stubbed", "gunk", "creaky"]
    assert lexicon.read("cheast breth inhalers") == ["chest", "breath", "inhaler"]


def test_the_lexicon_reads_possessives_accents_and_text_speak() -> None:
    lexicon = ConceptIndex.load().lexicon
    assert lexicon.read("my wife's neck's stiff, he's ok") == ["my", "wife", "neck", "stiff", ",", "hes", "ok"]
    assert lexicon.read("está sudando, odeszły wody") == ["esta", "sudando", ",", "odeszly", "wody"]
    read = lexicon.read("how do u know if ur waters went")
    assert read == ["how", "do", "you", "know", "if", "your", "waters", "went"]
    # a possessive needs a word of letters before it; a pronoun's 's stays ("that's", "it's")
    assert lexicon.read("3pm's slot, that's it's") == ["3pms", "slot", ",", "thats", "its"]
    assert lexicon.read("‘mum’s’ arm") == ["mum", "arm"]


def test_set_phrases_read_as_one_word() -> None:
    lexicon = ConceptIndex.load().lexicon
    read = lexicon.read("blood  pressure fine, hay fever, skin not broken, broke the skin, faint pink rash")
    joined = ["bloodpressure", "fine", ",", "hayfever", ",", "skinnotbroken", ",", "broketheskin", ","]
    assert read == [*joined, "faintpink", "rash"]  # a joined phrase is never corrected as a typo
    assert lexicon.read("broken arm, skin fine") == ["broken", "arm", ",", "skin", "fine"]
    assert lexicon.read("feeling faint") == ["feeling", "faint"]


def test_age_and_pregnancy_where_the_rule_needs_them() -> None:
    rules = default_rules()
    assert rules.assess("She has a fever of 38.1", age_years=0, age_months=1).emergency
    assert not rules.assess("She has a fever of 38.1", age_years=0, age_months=7).emergency
    assert rules.assess("My 3 week old has a temperature").emergency
    assert not rules.assess("Some bleeding after a paper cut").emergency
    assert rules.assess("Some bleeding this morning", pregnant=True).emergency
    assert rules.assess("I'm 12 weeks pregnant with some bleeding").emergency
    assert not rules.assess("I'm not pregnant. Light bleeding from a paper cut.").emergency


def test_several_rules_give_distinct_advice_most_urgent_first() -> None:
    verdict = default_rules().assess("I took too many pills and now I can't breathe")
    assert {"overdose", "breathing_difficulty"} <= {flag.rule for flag in verdict.red_flags}
    assert verdict.advice[0].startswith("Call 911") and "Poison Control" in verdict.advice[-1]


def test_the_rule_files_are_complete_and_reviewable() -> None:
    raw = yaml.safe_load(RULES_FILE.read_text())
    concepts = ConceptIndex.load().concepts
    assert len({rule["condition"] for rule in raw["rules"]}) >= 60
    for rule in raw["rules"]:
        assert rule["meaning"] and rule["source"] and rule["advice"] in raw["advice"], rule["id"]
        for alternative in rule["when"]:
            assert set(alternative["all"]) | set(alternative.get("any", ())) <= concepts, rule["id"]
    assert "988" in raw["advice"]["crisis_988"] and "1-800-222-1222" in raw["advice"]["poison_control"]


def test_a_rule_naming_an_unknown_concept_or_advice_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text(
        "advice: {a: x}\nrules: [{id: r, condition: c, meaning: m, advice: a, source: s, when: [{all: [nope]}]}]"
    )
    with pytest.raises(ValueError, match="unknown concepts"):
        RedFlagRules.load(broken)
    broken.write_text(
        "advice: {a: x}\nrules: [{id: r, condition: c, meaning: m, advice: b, source: s, when: [{all: [chest]}]}]"
    )
    with pytest.raises(ValueError, match="unknown advice"):
        RedFlagRules.load(broken)


@pytest.mark.parametrize("case", PHRASINGS["emergencies"], ids=[c["text"][:40] for c in PHRASINGS["emergencies"]])
def test_reviewed_emergency_phrasings_escalate(case: dict[str, Any]) -> None:
    patient = case.get("patient", {})
    assert default_rules().assess(case["text"], **patient).emergency


@pytest.mark.parametrize("text", PHRASINGS["routine"], ids=[t[:40] for t in PHRASINGS["routine"]])
def test_reviewed_routine_phrasings_do_not(text: str) -> None:
    assert fired(text) == []


def test_a_long_adversarial_text_is_assessed_in_linear_time() -> None:
    """Four times the text, about four times the work (quadratic would be sixteen): a bound on
    growth, not on speed. Thousands of negated findings, cue words and mentions in one text."""
    unit = "no chest pain, not breathless, how would I know, my dad had a stroke in 2019, "
    small, large = unit * 40, unit * 160
    assert growth(default_rules().assess, small, large) < LINEAR_BOUND


def test_a_number_too_long_for_int_is_read_as_a_word() -> None:
    """Python refuses int() of 4,300+ digits: the fuzz run found a consultation of zeros a 500."""
    assert fired("0" * 5000 + " weeks pregnant, 40" + "1" * 5000 + " minutes") == []


def test_a_run_on_message_of_thousands_of_clauses_is_assessed() -> None:
    """The past of a clause that goes on from the one before was found recursively: 1,300
    "and" clauses raised RecursionError (a 500 for a consultation)."""
    assert "heart_attack" in fired("chest pain" + " and a" * 1300 + " and crushing chest pain sweating")


def test_a_reading_shows_which_mentions_count() -> None:
    reading = default_rules().read("no chest pain, but I am sweating and my dad had a stroke in 2019")
    found = {mention.concept for mention in reading.mentions}
    assert {"chest", "sweating", "stroke_named"} <= found
    assert "sweating" in reading.counted  # present, the writer's own
    assert "chest" not in reading.counted and "stroke_named" not in reading.counted  # negated; the past


# A review of the rules after blind sets K, L and M: emergencies that the new context cues
# cancelled, and routine messages that the new lay terms escalated; each failed then.
REVIEW_EMERGENCIES = [
    "My dad fell down the stairs and hit his head, he is vomiting and confused, what should I do?",
    "My grandad fell and broke his hip, he's in agony, what can I do?",
    "My sister was stung by a wasp and her throat is closing up, is that ok?",
    "I tried to wake him and nothing happened, he is unresponsive",
    "I gave him the epipen and nothing happened, his throat is swelling and he cant breathe",
    "She used to have asthma, she went blue and stopped breathing",
    "Dad has a history of angina, collapsed in the garden and stopped breathing",
    "My dad had a heart attack 3 years ago - crushing chest pain, sweating",
    "Would a magnet and battery hurt him? my son swallowed them 20 mins ago",
    "I have crushing chest pain that counts as an emergency right?",
    "Her inhaler is not working fast enough and she is wheezing badly",
    "After my first dose of amoxicillin my lips and tongue are swelling up and I'm wheezing",
    "My son fell off his bike in January and now he has crushing pain in his head and vomiting",
    "I'm 6 weeks pregnant, one-sided pain and shoulder tip pain, my son was born at 39 weeks",
]
# From the review of the N, O and P rounds: emergencies a cue or a reading had cancelled, and
# routine messages a generic new term escalated.
REVIEW_NOP_EMERGENCIES = [
    "bad back pain and I haven't had a wee since this morning",
    "crushing chest pain and sweating, my dad had a heart attack when he was 50 and he's 70 now",
    "my son collapsed and stopped breathing, he had heart surgery when he was 2 and he's 14 now",
    "Is it something to worry about if my baby is floppy and won't wake for feeds?",
    "Is it ever normal to have the worst headache of my life out of nowhere with neck stiffness?",
    "I'm 30 weeks and I've begun to spot heavily with constant severe tummy pain",
    "my daughter started to fit a minute ago, it's been going for over 5 minutes now",
    "my 2 month old has a temp of 100 and won't feed",
]
REVIEW_NOP_ROUTINE = [
    "hasn't pooed, been sick or had a temperature, just a bit grumpy",
    "How would I know if I was having a heart attack, like crushing chest pain and sweating? "
    "I'm asking because I have high cholesterol.",
    "my newborn feeds well then goes straight back to sleep",
    "my 4 year old's eyelid keeps twitching",
    "I'm 28 weeks pregnant and need to wee every 10 mins",
    "32 weeks pregnant with some thin watery discharge",
    "my wheeze has gone since using my inhaler",
    "my fever has gone down, still a bit of hip pain",
    "I crushed my finger in the car door, it's really painful",
    "my jaw is sore from a wisdom tooth, I'm sweaty and feel sick",
    "awful migraine again, feel sleepy, taking my triptan",
    "I got a zap off the car door, static I think",
    "it's 30 degrees today and I get out of breath on my runs",
    "peak flow 420, I weigh 70 kg, asthma is fine",
    "I drank bottled water and my arm itches",
    "since starting ozempic I've lost weight, feel a bit sick and sleepy",
    "my sickle cell son has really painful knees after football",
]

# From blind set S's false alarms (after its one scoring): "short of breath" read as the swelling
# of a reaction too, "heavy" as heaving, "acid in" a throat as a burn. Breathlessness alone had
# escalated as anaphylaxis; the emergencies it caught that way have rules of their own now.
S_ROUND_ROUTINE = [
    "bit short of breath going upstairs with this cold, can talk fine, no chest pain",
    "coughed up a small streak of blood once with this heavy cold, none since, feel ok otherwise",
    "acid in my throat when i bend over, worse with coffee",
]
S_ROUND_EMERGENCIES = [
    "felt weirdly breathless and sick for the last hour, ache between my shoulder blades and my jaw hurts",
    "sharp pain in my side when I breathe, breathless, pulse 120 on my watch and I had a baby 3 weeks ago",
    "lifeguard pulled my daughter out earlier, she seemed fine but an hour later she's breathless and coughing",
    "my tongue is swelling and I'm short of breath",
    "I can't swallow and I'm short of breath",  # a review: the swelling's own words, kept
    "her eyes are swelling shut and she's breathless",
    "acid in her eye from the drain cleaner, she can't open it",
]

# From blind set T's false alarms (after its one scoring at 26431bd): a faint pink rash is no
# fainting, skin barely broken no broken bone, a baby's babbling no speech problem, and a fever
# threshold asked ahead of time no fever.
T_ROUND_ROUTINE = [
    # the phrase was joined and then corrected to "fainting" as a typo (until a joined phrase was
    # a word of its own, no typo and no prefix of its first word's concepts)
    "9 yo has a faint pink itchy rash on his arms since we changed washing powder, fades when pressed",
    "our own dog nipped my hand playing, little scratch, skin barely broken, he's vaccinated",
    "baby rolled off the sofa onto the carpet 2 days ago, cried straight away, fine since, feeding and babbling",
    "at what temperature should i worry in a 2 month old? she's totally fine, just want to know for the future",
]
T_ROUND_EMERGENCIES = [
    "she felt faint and her lips are swelling after the peanuts",
    "he's babbling nonsense and his face has dropped on one side",
    "I think his arm is broken, the bone is sticking out",
    "my 6 week old has a temperature of 38.5, just want to know what to do",
]

# From blind set U's misses and false alarms (after its one scoring at f60e4c5; U is in use
# since) and the in-use sets' false alarms: set phrases (a first aider, food poisoning, a sick
# note, grunting at parents, shattered at work), a comparison denied ("not weeing more"), a wish
# denied ("don't want to die"), questions about no one, and rules' exceptions (`unless`: a streak
# of blood, tightenings that went away, bleeding gums, batteries and tablets accounted for, a
# muddle that is her usual, shampoo, a neck slept on); readings (pulse ox, PEF, 33/40, a low
# blood pressure with an infection) and words in other languages. Beside each, the emergency the
# exception must not swallow.
U_ROUND_ROUTINE = [
    "school first aider here: boy bumped heads at break, small red mark, not sick, back in class",
    "had food poisoning from a takeaway on Friday, sick a few times, all settled now, can I go back to work?",
    "stressed at work, can't sleep, how do I get a sick note",
    "teenage son moody and grunts at us all day, is that normal at 15?",
    "lying awake till 3am most nights, absolutely shattered at work",
    "my 8 yo is well, not extra thirsty, not weeing more than usual, can we screen for diabetes?",
    "I don't want to die or hurt myself, I'm just lonely, is there a group?",
    "what does green vomit in a baby mean? mine is fine, just curious",
    "how do you use a defibrillator? we just got one at the club",
    "is this a stroke? my eyelid twitches, face looks normal, arms fine, talking fine",
    "24 weeks, a few tightenings last night, they went away after a bath, baby moving loads",
    "tiny streak of blood in my phlegm once with a chest cold, breathing fine",
    "bleeding gums when I brush my teeth, 20 weeks pregnant",
    "son had the remote in his mouth, both batteries are still in, they're AA batteries anyway",
    "thought my toddler took some of my tablets but we counted them and none are missing",
    "mum (78) a bit muddled when she's tired at night, been like that for a year, same as usual",
    "got shampoo in my eye, rinsed it, a bit red, vision fine",
    "stiff neck and a headache from sleeping funny on a hotel pillow, no fever",
]
U_ROUND_EMERGENCIES = [
    "abeg my oga fall for ground, e no dey breathe, e no dey answer",
    "pulse ox says 86 and I'm gasping walking to the loo",
    "PEF 150 (best 550), 12 puffs, no better",
    "33/40, BP 168/114, headache and seeing spots",
    "kidney infection on antibiotics, now rigors, BP 85/50 on the home machine",
    "babysitting my niece (10 months), she's floppy and just lying there",
    "on FEC-T, day 10, temp 37.6 and shivery",
    "I've decided tonight's the night, I've got the tablets and the vodka ready",
    "lighter fluid flared up, big blisters across the back of my hand and fingers, some patches white",
    "hot tar on his foot through his boot, big area, black looking",
    "30 weeks, the tightenings went away after a bath but now they're back every 5 minutes",
    "coughing up blood",
    "coughed up a streak of blood and now I'm breathless",
    "I don't want to live anymore",
    "I don't want to hurt myself but I have the pills ready",
    "what does it mean when my baby vomits green?",
    "is this a stroke? her face looks normal but she can't lift her arm, it came on suddenly",
    "she's suddenly very confused compared to her usual self, breathing fast",
    "bleeding heavily down below, 20 weeks pregnant",
    "my toddler swallowed a button battery from the remote",
    "stiff neck and headache, temperature 39.5, light hurts her eyes",
    "bleach splashed in his eye, it's burning and he can't open it",
]

# From blind set V's misses and false alarms (after its one scoring at 1c8505e; V is in use since).
V_ROUND_ROUTINE = [
    "got a tiny static shock off the car door, is that bad for you?",
    "how do I recognise pre-eclampsia? 20 weeks and all fine",
    "had a chest drain for a collapsed lung in June, breathing normal now, can I fly?",
    "sore spot on my chest after heavy bench press, hurts when I press on it, not breathless",
    "cut my hand on a broken glass, small, edges sit together, stopped bleeding",
    "17 weeks with my first, haven't felt the baby move yet, is that normal?",
    "my hands sweat so much I can't hold a pen in exams",
    "son has epilepsy, had his usual seizure, lasted about a minute, sleepy like always after",
    "I had one seizure 3 years ago, nic od tego czasu, can I drive?",
    "fit and well, 24, can I get an ECG?",
]
V_ROUND_EMERGENCIES = [
    "my hands went weak and I can't hold a cup, my face feels numb on one side",
    "30 weeks and the baby hasn't moved since yesterday",
    "my son has epilepsy and his seizure has lasted 7 minutes",
    "my 4 year old had a fit, first time ever",
    "fell on a broken bottle, the cut on my knee gapes open, deep",
    "bitten by a stray monkey in Bali, it broke the skin",
    "student had a fit after drinking games",
    "headache 10/10 instant onset",
    "shadow in my vision spreading, with flashes",
    "baby has a rash that doesn't go when pressed",
    "kidney infection, now he's gone grey and can barely get a word out",
    "a woman is walking along the dual carriageway talking to herself and won't come off the road",
    "I'm 29 weeks, just had a big pop and a gush",
    "cut my hand open on a tin lid, I can see something white and the edges won't stay together",
    "coughing up blood and my chest hurts",
    "Mi hija tiene asma y no puede hablar, el inhalador no funciona",
    "mi hermano está convulsionando, es la primera vez",
    "Tengo tos con sangre, mucha, y me falta el aire",
    "mały ma 39 stopni i czerwone kropki, które nie znikają pod szklanką",
]

# From blind set W's misses and false alarms (after its one scoring at bfc26bf; W is in use since).
W_ROUND_ROUTINE = [
    "I took an overdose when I was 19, I'm 31 now and doing really well, does it stay on my record?",
    "he had one febrile convulsion at 18 months, he's 5 now, is the booster safe?",
    "I need a fit note extension for my shoulder",
    "daughter twisted her ankle at PE, walking with a slight limp",
    "small cut on my finger from a kitchen knife, stopped bleeding, plaster or stitch?",
    "lower back ache from gardening, no numbness, both legs work fine",
    "erection lasted 2 hours after sildenafil, went down on its own, no pain now",
    "went to triage yesterday for reduced movements, monitor was fine, kicking since",
    "was admitted for a sickle crisis in March, discharged after 4 days, well now",
    "why are button batteries more dangerous than coins if a kid swallows one?",
    "I read secondary drowning is a thing, is that true?",
    "my sister had pre-eclampsia with both babies, I'm 10 weeks, will they give me aspirin?",
    "known epilepsy, a typical seizure, 90 seconds, came round within 15 min, care plan says no 999 unless over 5 mins",
]
W_ROUND_EMERGENCIES = [
    "when I was 19 I took an overdose, I'm 35 now and want to die",
    "my son collapsed at 4 and isn't breathing, he's 6 now",
    "he's taken a knife from the kitchen and says he'll deal with the neighbours",
    "erection has lasted 4 and a half hours after my injection",
    "my son stuck a fork in the socket, black marks on his fingers",
    "dad is having a seizure in the bath",
    "had a slipped disc diagnosed last month, today I lost control of my bowels and both legs feel weak",
    "a car went into the back of us at full speed, neck pain and tingling in both hands",
    "baby's been a lot quieter than normal since yesterday, can I use my home doppler instead?",
    "barely a flutter since this morning, 29 weeks",
    "I'm standing at the platform edge and I want to jump",
    "foster baby 6 wks, sick 4x today, last 2 were green",
    "haven't kept even a sip of water down for 24 hrs, getting muddled",
    "lost the sight in my right eye suddenly",
    "Tengo una erección desde hace 4 horas y media y me duele mucho",
    "my seizure has lasted over 5 minutes and I can't stop it",
]

# From blind set X's misses and false alarms (after its one scoring at e237627; X is in use since).
X_ROUND_ROUTINE = [
    "toddler's eyes are crusty and stuck together in the morning, otherwise happy",
    "husband has epilepsy, usual seizure this morning, a minute long, came round like he always does",
    "Teacher here, preparing a lesson - why is a paracetamol overdose dangerous even if you feel fine?",
    "agar kisi dost ko suicidal thoughts hon toh main kya kahun? no one specific, first aid course",
]
X_ROUND_EMERGENCIES = [
    "can't keep myself safe tonight",
    "rompi aguas a las 31 semanas",
    "priapism 4.5 hrs",
    "enlarged prostate, tonight nothing coming out at all, belly tight as a drum",
    "scalp tender when I brush my hair, jaw aches when chewing, and today blurred vision in one eye",
    "ear thermometer's reading 38.6 for our 11-weeker, he just seems off",
    "Nana woke up completely disorientated, trying to leave the house at 3am, she was fine last week",
    "dog got me in the face, two deep punctures on my cheek, bleeding quite a bit",
    "baby 8 months put a bit of plastic toy in her mouth, now silent, no sound no cry",
    "my husband has epilepsy, this seizure has gone on 6 minutes",
    "my wife has epilepsy and she's fitting and hasn't come round, she's gone blue",
    # exceptions and cues narrowed by a review of the rounds: none of these may be cancelled
    "my 6 week old is 38.5, what temperature should I worry at?",
    "I can't breathe unless I sit up and my lips are going blue",
    "sats 85, my normal is 95, struggling to breathe",
    "my toddler got into my tablets, we counted them and 10 are missing",
    "she went to bed as usual and woke up suddenly confused and can't speak properly",
    "he stabbed her and says it was by accident, she's bleeding a lot",
    "mi abuela no puede hablar bien, la boca torcida, el brazo izquierdo no lo mueve",
    "minha mae desmaiou e nao acorda, esta respirando",
    "moje dziecko ma drgawki i wysoka goraczke, 11 miesiecy, pierwszy raz",
    "bachay ki skin peeli ho gayi hai, bohat sust hai, doodh nahi pee raha, 5 din ka hai",
    "Papa ko 2 din se loose motion, urine band hai, bahut kamzor aur confuse lag rahe hain",
]

# From blind set Y's misses and false alarms (after its one scoring at 7a65c82; Y is in use since).
Y_ROUND_ROUTINE = [
    "To be clear I'm not having any thoughts of harming myself or ending my life, I just want support",
    "Hypothetically, if I got stung and my throat started swelling, would antihistamines be enough?",
    "got a small shock off a plug last night, seen at urgent care, ECG normal and they discharged me",
    "my son had a febrile seizure on Sunday, the hospital checked him and sent us home",
    "had postpartum psychosis with my first (4 years ago), fully recovered, what's the plan to keep me well?",
    "sore throat 3 days, swallowing fine, bit hoarse, do I need antibiotics?",
    "peak flow 410, my best is 460, tiny bit wheezy with hay fever, Ventolin sorted it",
    "Aunty had a stroke at 46. I'm 39, BP normal. Anything I should be doing?",
    "I'm on 75mg aspirin after my stroke, dentist next week, do I stop it?",
    "is dry drowning a real thing?",
    "no vomiting for 2 days now and no fever, eating again",
    "7 month old teething, dribbling loads, chewing everything, is Calpol ok?",
    "known epilepsy, his usual seizure, 90 seconds, care plan says only call 999 if over 5 mins",
]
Y_ROUND_EMERGENCIES = [
    "I plan to take the rat poison tonight",
    "I'm not sure I can go on, I keep thinking about ending my life",
    "my son had a febrile seizure, they sent us home yesterday but he's fitting again now",
    "he drank pesticide thinking it was water, it was kept in a water bottle, he's vomiting",
    "black runny poos for 2 days, heart racing, breathless on the stairs",
    "Newborn (9 days) projectile sick three times, the last one was green",
    "yesterday loads of flashing lights, today a shadow at the edge of my vision",
    "she no fit stand, body dey hot, she no piss since yesterday, infection for womb",
    "pharmacist says I've been taking methotrexate every day instead of once a week",
    "Ma mère ne voit plus rien de l'œil droit depuis ce matin, d'un coup",
    "Mon fils a des taches violettes qui ne disparaissent pas au test du verre, et de la fièvre",
    "doesn't know what day it is or where we are, really drowsy",
    "no poo no wind 4 days vomiting green bloated",
]

# From blind set Z's misses and false alarms (after its one scoring at 6d03568; Z is in use since).
Z_ROUND_ROUTINE = [
    "took too many tablets in a bad moment last month, was treated in hospital, seeing the crisis team now",
    "got stitches in A&E on Saturday for a dog bite on my calf, healing nicely",
    "shoulder stiff for 2 months, frozen shoulder? physio please",
    "got some grit in my eye from the wind, rinsed it out, vision's fine",
    "Mum had a stroke in January, she's home now with speech therapy, can you sign the blue badge form?",
    "husband's snoring could wake the dead, he's not stopping breathing, just loud",
    "son with known epilepsy had one of his usual seizures, came round within 10 minutes as his care plan says",
    "my grandson swallowed a button battery in March, they removed it at the children's hospital",
    "my son had a febrile seizure at 18 months, he's now 4 and never had another",
    "COPD, sats 92% which is my normal, feel no different",
]
Z_ROUND_EMERGENCIES = [
    "it won't stop bleeding, I cut too deep this time",
    "he's stopped breathing and isn't responding",
    "hit on the head by a hockey stick, drowsy and sick twice since",
    "apprentice grabbed a live 240V tail, heart racing and skipping beats",
    "the vision in my left eye just went like someone switched a light off",
    "child found with an opened watch battery packet, one battery unaccounted for",
    "Meu pai teve uma convulsão, tremendo no chão já faz 7 minutos e não para",
    "Me cayó cal viva en el ojo, no veo nada",
    "Man atrodo, kad nubėgo vandenys, 32 savaitės",
    "a woman is screaming that we're demons and has cut both hands on the glass",
    "sats 86% and I'm struggling to breathe, I don't have COPD",
]

# From blind set AB's false alarms and misses (after its one scoring at 7edb07f; AB is in use
# since), each reworded, with emergencies beside them that the new exceptions must not cancel.
AB_ROUND_ROUTINE = [
    "Dad was seen in the stroke clinic last Tuesday, all fine now, when can he drive?",
    "curled up with a hot water bottle for period pain, is tranexamic acid any good?",
    "My mum and my sister both had pre-eclampsia. I'm 10 weeks and well, should I take aspirin?",
    "plaster cast came off last week after the fracture in May, wrist is stiff, do I need physio?",
    "My 3yo has a temperature of 38.6 and a blotchy rash but it fades when I press a glass on it, she's playing",
    "Should you call an ambulance if a fit goes on for more than 5 minutes? Sorting out a care plan",
    "do I finish the whole bottle of eye drops now my eye is better?",
    "back a bit stiff after moving furniture, heat or ice?",
    "My daughter had a febrile convulsion at 2. She's 6 now and well. Will it come back?",
    "Nan broke her wrist in October, had an operation, she's home now, can we get a carer?",
    "How do you tell heat stroke from heat exhaustion?",
    "How serious would it be if my toddler swallowed a few Calpol sachets?",
    "Both my grandfathers had heart attacks in their 60s, how can I lower my own risk?",
]
AB_ROUND_EMERGENCIES = [
    "had a TIA last year, now my face is drooping and I can't lift my arm",
    "my 2 year old has a high temperature and a rash that doesn't fade when I press a glass on it",
    "Is it right you call an ambulance? My dad's face has dropped and he can't speak",
    "baby 2 months hasnt kept a feed down all day, one barely damp nappy since this morning",
    "Mi esposo tiene un dolor de estómago horrible, any movement makes it worse",
    "fell asleep on a hot water bottle, big blister bigger than my palm and the skin is white",
    "he broke his hip in the fall this morning, can't stand and his leg is twisted",
    # a review of the round: real emergencies its first cut cancelled
    "Suddenly really short of breath and my calf is swollen and hot, had surgery on my knee 10 days ago",
    "Blood pouring from the wound and won't stop, had the operation yesterday",
    "Calf swollen and hot and suddenly breathless, cast came off yesterday",
    "how do you do cpr on a baby not breathing right now?",
    "Should you call an ambulance, baby's gone blue and floppy?",
    "Would you call 999 if your dad's face dropped on one side and he can't lift his arm?",
    "Could it be sepsis if he's confused, not peed all day and has a temp of 39?",
    "My grandparents were both found unresponsive in bed this morning",
    "My daughter who turned 1 in March swallowed a button battery",
    "Got crushing chest pain at 5 going down my left arm, sweating buckets. Pain is 9 now.",
    "Husband has a temperature of 39.5, mottled skin on his legs, and a rash on his chest that fades under a glass",
    "I've decided to finish the whole packet of my sleeping tablets tonight",
    "My nan and grandad were both found collapsed at home, the carbon monoxide alarm was going off",
    "Our little girl born in October went floppy and blue in her cot",
    "Is it right you call 999 if the face droops on one side, because grandad's face has dropped right now?",
    "Chest pain and coughing blood, out of plaster since Friday",
]

REVIEW_ROUTINE = [
    "The swelling in my ankle does not go down and it's painful",
    "I take cialis for my prostate, it's hard for me to pee and it is painful",
    "My dog ran into the road and got hit by a car",
    "I have asthma, wheezy at night, I can't talk to my GP until Monday",
    "Blocked nose and sinus pain for 3 weeks, my spray gives no relief",
    "The bruise on my leg isnt fading after 2 weeks",
    "My toenail has gone black after running a marathon",
    "I'm 30 weeks pregnant and eating less and less because of heartburn",
    "I have the flu, body shaking with chills for ages",
    "Pregnant 28 weeks, my sugar readings are 165 / 120 after meals",
    "Hay fever is awful, my eyes are itchy and swelling shut",
]


@pytest.mark.parametrize(
    "text",
    REVIEW_EMERGENCIES
    + REVIEW_NOP_EMERGENCIES
    + S_ROUND_EMERGENCIES
    + T_ROUND_EMERGENCIES
    + U_ROUND_EMERGENCIES
    + V_ROUND_EMERGENCIES
    + W_ROUND_EMERGENCIES
    + X_ROUND_EMERGENCIES
    + Y_ROUND_EMERGENCIES
    + Z_ROUND_EMERGENCIES
    + AB_ROUND_EMERGENCIES,
)
def test_the_reviews_emergencies_escalate(text: str) -> None:
    assert fired(text), text


@pytest.mark.parametrize(
    "text",
    REVIEW_ROUTINE
    + REVIEW_NOP_ROUTINE
    + S_ROUND_ROUTINE
    + T_ROUND_ROUTINE
    + U_ROUND_ROUTINE
    + V_ROUND_ROUTINE
    + W_ROUND_ROUTINE
    + X_ROUND_ROUTINE
    + Y_ROUND_ROUTINE
    + Z_ROUND_ROUTINE
    + AB_ROUND_ROUTINE,
)
def test_the_reviews_routine_messages_do_not(text: str) -> None:
    assert fired(text) == []


def test_an_exception_near_the_anchor_keeps_an_alternative_from_holding() -> None:
    alternative = Alternative(together=("fever",), any_of=("blotchy",), facts=(), within=5, unless=("fades",))
    facts = PatientFacts([], [], Context([]))  # the alternative asks no patient fact
    assert alternative.holds({"fever": [3], "blotchy": [4]}, facts)
    assert not alternative.holds({"fever": [3], "blotchy": [4], "fades": [7]}, facts)
    assert alternative.holds({"fever": [3], "blotchy": [4], "fades": [30]}, facts)  # too far from the anchor
    assert alternative.holds({"fever": [3, 40], "blotchy": [4], "fades": [7]}, facts)  # another anchor is clear
    # candidates are found with exceptions set aside: an exception only ever removes a rule
    assert alternative.holds({"fever": [3], "blotchy": [4], "fades": [7]}, facts, exceptions=False)
