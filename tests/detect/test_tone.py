"""The tone detector: word-list subtypes and score tiers, obfuscations and their offsets,
hard negatives (the Scunthorpe problem, acronyms, code), context, banned phrases, required
disclaimers, shouting, options, the labelled eval set, and properties (nothing crashes,
offsets stay in bounds, benign prose stays silent, dense input stays fast).

Warning: the tables below necessarily spell out profanity and slurs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentguard.detect.base import Detector, Finding
from agentguard.detect.tone import (
    BANNED_PHRASE,
    FLAG_THRESHOLD,
    MISSING_DISCLAIMER,
    PROFANITY,
    PROFANITY_SUBTYPES,
    SHOUTING,
    ToneDetector,
    phrase_id,
)
from agentguard.scan import default_registry

DETECTOR = ToneDetector()
EVAL_SET = Path(__file__).parent / "data" / "tone_eval.jsonl"


def flagged(findings: list[Finding], type_: str | None = None) -> list[Finding]:
    return [f for f in findings if f.score >= FLAG_THRESHOLD and type_ in (None, f.type)]


def words(text: str, detector: ToneDetector = DETECTOR) -> list[tuple[str, str | None, float]]:
    """(word as written, subtype, score) of each PROFANITY finding."""
    return [
        (text[f.start : f.end], f.subtype, f.score)
        for f in detector.detect(text)
        if f.type == PROFANITY
    ]


def score_of(text: str, word: str) -> float:
    return max((s for w, _, s in words(text) if w == word), default=0.0)


# --------------------------------------------------------------------------- protocol


def test_is_a_detector_with_four_types() -> None:
    assert isinstance(DETECTOR, Detector)
    assert DETECTOR.name == "tone"
    assert DETECTOR.types == {PROFANITY, SHOUTING, BANNED_PHRASE, MISSING_DISCLAIMER}


def test_scan_builds_the_tone_family_with_no_arguments() -> None:
    registry = default_registry(["tone"])
    assert "tone" in registry
    assert registry.get("tone").detect("wtf") != []


def test_empty_text_has_no_findings() -> None:
    assert DETECTOR.detect("") == []


# --------------------------------------------------------------------------- subtypes

# (text, the offending word as written, subtype)
POSITIVES = [
    ("This is the best fucking deal of the year.", "fucking", "profanity"),
    ("Holy shit, 1M followers!", "shit", "profanity"),
    ("Our rivals are assholes.", "assholes", "profanity"),
    ("What a motherfucker of a week", "motherfucker", "profanity"),
    ("Don't be a bitch about it", "bitch", "profanity"),
    ("That refund policy was bullshit", "bullshit", "profanity"),
    ("You absolute twat", "twat", "profanity"),
    ("Screw you, Monday", "Screw you", "profanity"),
    ("Only a retard pays full price", "retard", "slur"),
    ("what a retard!", "retard", "slur"),
    ("nice tits!", "tits", "sexual"),
    ("(wtf)", "wtf", "slang"),
    ("you fags", "fags", "slur"),
    ("Go home, wetback", "wetback", "slur"),
    ("no tranny jokes", "tranny", "slur"),
    ("Better than porn", "porn", "sexual"),
    ("free blowjob with every haircut", "blowjob", "sexual"),
    ("Nice tits", "tits", "sexual"),
    ("hot milfs near you", "milfs", "sexual"),
    ("don't be a slut for discounts", "slut", "sexual"),
    ("wtf are you waiting for", "wtf", "slang"),
    ("stfu and take my money", "stfu", "slang"),
    ("gtfo with that coffee", "gtfo", "slang"),
    ("this drop is fire af", "af", "slang"),
    ("lmfao the intern did it", "lmfao", "slang"),
    ("idgaf what the haters say", "idgaf", "slang"),
]


@pytest.mark.parametrize(("text", "word", "subtype"), POSITIVES)
def test_word_list_terms_are_flagged_with_their_subtype(text: str, word: str, subtype: str) -> None:
    found = [(w, s) for w, s, score in words(text) if score >= FLAG_THRESHOLD]
    assert (word, subtype) in found


def test_every_subtype_is_covered() -> None:
    assert {subtype for _, _, subtype in POSITIVES} == set(PROFANITY_SUBTYPES)


def test_slurs_score_above_strong_profanity_above_mild_words() -> None:
    slur = score_of("you are a nigger", "nigger")
    strong = score_of("you are a fucker", "fucker")
    mild = score_of("you are a damn fool", "damn")
    assert slur > strong > FLAG_THRESHOLD > mild


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("damn, that was close", "damn"),
        ("what the hell", "what the hell"),
        ("a bloody good deal", "bloody"),
        ("the old box was crap", "crap"),
        ("that's hell on earth", "hell"),
    ],
)
def test_ambiguous_words_are_reported_below_the_flag_line(text: str, word: str) -> None:
    assert 0 < score_of(text, word) < FLAG_THRESHOLD


@pytest.mark.parametrize("word", ["bruh", "hella", "lmao", "yeet", "rizz", "smh"])
def test_one_informal_slang_word_is_reported_below_the_flag_line(word: str) -> None:
    assert 0 < score_of(f"our new drop, {word}", word) < FLAG_THRESHOLD


def test_crude_slang_scores_above_informal_slang() -> None:
    assert score_of("ok wtf", "wtf") > score_of("ok bruh", "bruh")
    assert score_of("stfu", "stfu") > score_of("lmao", "lmao")


def test_the_incident_post_is_flagged() -> None:
    text = "this sale is lit af, no cap 🔥 wtf are u waiting for"
    assert max(f.score for f in DETECTOR.detect(text)) >= FLAG_THRESHOLD
    assert {w for w, _, _ in words(text)} == {"af", "no cap", "wtf"}


def test_a_cluster_of_informal_slang_is_flagged() -> None:
    found = words("bruh this drop is hella fire no cap")
    assert [w for w, _, _ in found] == ["bruh", "hella", "no cap"]
    assert all(score >= FLAG_THRESHOLD for _, _, score in found)


def test_two_informal_slang_words_together_are_flagged() -> None:
    assert all(s >= FLAG_THRESHOLD for _, _, s in words("hits different, no cap bruh"))


def test_the_same_slang_word_repeated_is_not_a_cluster() -> None:
    assert all(s < FLAG_THRESHOLD for _, _, s in words("bruh, bruh, bruh"))


# --------------------------------------------------------------------------- obfuscation

# (text, the word as written in it, subtype)
OBFUSCATED = [
    ("what the f*ck", "f*ck", "profanity"),
    ("f**k it", "f**k", "profanity"),
    ("f*** this", "f***", "profanity"),
    ("sh*t happens", "sh*t", "profanity"),
    ("sh-t happens", "sh-t", "profanity"),
    ("motherf*cker", "motherf*cker", "profanity"),
    ("sh1t just got real", "sh1t", "profanity"),
    ("$hit, sold out", "$hit", "profanity"),
    ("don't be an @sshole", "@sshole", "profanity"),
    ("total b1tch", "b1tch", "profanity"),
    ("f4ck that", "f4ck", "profanity"),
    ("p0rn-level photos", "p0rn", "sexual"),
    ("fuuuuuck yes", "fuuuuuck", "profanity"),
    ("shiiiiit", "shiiiiit", "profanity"),
    ("asssss", "asssss", "profanity"),
    ("wtffff", "wtffff", "slang"),
    ("f u c k this", "f u c k", "profanity"),
    ("f.u.c.k this", "f.u.c.k", "profanity"),
    ("f-u-c-k this", "f-u-c-k", "profanity"),
    ("f_u_c_k this", "f_u_c_k", "profanity"),
    ("what a fuckwaffle", "fuckwaffle", "profanity"),
    ("what the f\u200buck", "f\u200buck", "profanity"),
    ("sh\u200bi\u200dt", "sh\u200bi\u200dt", "profanity"),
    ("fu\u00adck", "fu\u00adck", "profanity"),
    ("ｆｕｃｋ yeah", "ｆｕｃｋ", "profanity"),
    ("FUCK yeah", "FUCK", "profanity"),
    ("fυck (Greek upsilon)", "fυck", "profanity"),
    ("ѕhіt (Cyrillic s and i)", "ѕhіt", "profanity"),
    ("𝐟𝐮𝐜𝐤 (mathematical bold)", "𝐟𝐮𝐜𝐤", "profanity"),
    ("fück it", "fück", "profanity"),
    ("ЅНІТ (Cyrillic capitals)", "ЅНІТ", "profanity"),
    ("is it ok? fu\u0308ck?", "fu\u0308ck", "profanity"),
    ("#wtf", "wtf", "slang"),
    ("@fuckface hi", "fuckface", "profanity"),
]


@pytest.mark.parametrize(("text", "word", "subtype"), OBFUSCATED)
def test_obfuscated_words_are_flagged_at_the_word_as_written(
    text: str, word: str, subtype: str
) -> None:
    found = [(w, s) for w, s, score in words(text) if score >= FLAG_THRESHOLD]
    assert (word, subtype) in found


def test_leetspeak_needs_real_letters() -> None:
    # "A55" is a phone model, "$5" a price, "717" a number, not "ass", "ss" or "tit"
    assert words("The Galaxy A55 costs $5 more, see page 717") == []


def test_offsets_skip_nothing_before_a_hit_with_invisible_characters() -> None:
    text = "\u200bok\u200b \u200bfu\u200bck\u200b ok"
    [(start, end)] = [(f.start, f.end) for f in DETECTOR.detect(text)]
    assert text[start:end] == "fu\u200bck"


def test_offsets_are_exact_after_many_folded_characters() -> None:
    text = "“Café” — naïve résumé 👋🏽 ｈｅｌｌｏ\u200b then shit"
    [finding] = DETECTOR.detect(text)
    assert text[finding.start : finding.end] == "shit"


# --------------------------------------------------------------------------- hard negatives

HARD_NEGATIVES = [
    "Scunthorpe United beat Penistone on Saturday.",
    "Our assessment of the classic cocktail menu is done.",
    "An analysis of Dickens by a therapist from Essex.",
    "Shiitake mushrooms and grape juice.",
    "Hello! Open a shell, pass the class to the assistant.",
    "Cumulative totals are in the document.",
    "Sussex, Middlesex and Wessex.",
    "Put on your shoe.",
    "The bass player assumed the passage was brass.",
    "He sniggered at the joke.",
    "Nigeria and Niger share a border.",
    "The golfer mishit the ball.",
    "Shitake is a common misspelling.",
    "Analyse the assets of the assembly.",
    "NASA, the USA and an HTTP API.",
    "The Samsung Galaxy A55.",
    "Flame retardant materials.",
    "Sauerkraut and sausages.",
    "The Hmong festival.",
    "Bitcoin and Dogecoin fell.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_words_inside_innocent_words_give_no_finding(text: str) -> None:
    assert DETECTOR.detect(text) == []


CONTEXT_NEGATIVES = [
    "She graduated summa cum laude.",
    "A chink in the armour of the argument.",
    "Spick and span, the kitchen is clean.",
    "Blue tits and great tits at the feeder.",
    "The cock crowed at dawn.",
    "Cock the hammer of the pistol.",
    "Prick your finger with the lancet.",
    "Pussy willow in the garden.",
    "Dick Smith and Moby Dick.",
    "There is no cap on refunds.",
    "Offa's Dyke runs along the border.",
    "The coon hound barked.",
    "A kitchen-cum-dining room.",
    "The retarded potential of a moving charge.",
    "Booby traps in the fort.",
    "Hell's Kitchen reopens.",
    "A bloody nose in the match.",
    "Use the garden hoe.",
    "Tit for tat.",
    "df['cum_sum'] = df.value.cumsum()",
    "Use AF_INET sockets, or socket.AF_UNIX.",
    "We say af en toe in Dutch.",
    "the AF motor is fast",
    "if af == 0: sock = socket(af, kind)",
    "'.ass': 'audio/aac', a subtitle file",
    "#    k = y.s - (y+k).d",
    "Screw it into the wall plug.",
]


@pytest.mark.parametrize("text", CONTEXT_NEGATIVES)
def test_innocent_uses_of_ambiguous_words_are_not_flagged(text: str) -> None:
    assert flagged(DETECTOR.detect(text)) == []


def test_quoted_terms_in_moderation_talk_score_lower_but_slurs_stay_flagged() -> None:
    plain = score_of("you are a fucker", "fucker")
    quoted = score_of('The word "fucker" is on our profanity list.', "fucker")
    assert quoted < plain
    assert score_of('Our filter blocks the slur "faggot".', "faggot") >= FLAG_THRESHOLD


def test_code_identifiers_score_below_the_flag_line() -> None:
    for text, word in [
        ("x = cum_total + 1", "cum"),
        ("call obj.ass() first", "ass"),
        ("run `crap` in the shell", "crap"),
        ("```\nshit = 1\n```", "shit"),
    ]:
        assert score_of(text, word) < FLAG_THRESHOLD, text


def test_lower_case_only_slang_ignores_capitals() -> None:
    assert words("She has a BS in biology") == []
    assert [w for w, _, _ in words("that's bs")] == ["bs"]


def test_af_needs_a_word_before_it() -> None:
    assert words("af") == []
    assert words("the af value") == []
    assert [w for w, _, _ in words("cheap AF")] == ["AF"]


def test_overlapping_terms_keep_the_stronger_one() -> None:
    assert words("go to hell") == [("go to hell", "profanity", 0.6)]


# --------------------------------------------------------------------------- word list options


def test_extra_words_are_found_with_their_obfuscations() -> None:
    detector = ToneDetector(extra_words=["Blorptastic", "mega scam"])
    found = [w for w, s, _ in words("so blorptastic, bl0rptastic, a MEGA  SCAM", detector)]
    assert found == ["blorptastic", "bl0rptastic", "MEGA  SCAM"]


def test_allowed_words_are_let_through() -> None:
    detector = ToneDetector(allowed_words=["damn", "hella"])
    assert words("damn, hella good, dammit", detector) == []
    assert [w for w, _, _ in words("damn shit", detector)] == ["shit"]


def test_allowed_words_can_drop_a_single_form() -> None:
    detector = ToneDetector(allowed_words=["bloody"])
    assert words("bloody hell", detector) == [("bloody hell", "profanity", 0.4)]
    assert words("bloody", detector) == []


# --------------------------------------------------------------------------- banned phrases


def test_banned_phrases_match_any_case_and_whitespace() -> None:
    detector = ToneDetector(banned_phrases=["guaranteed returns", "Risk free!"])
    text = "GUARANTEED\n   Returns, totally risk  free!"
    found = [(text[f.start : f.end], f.subtype, f.score) for f in detector.detect(text)]
    assert found == [
        ("GUARANTEED\n   Returns", "guaranteed-returns", 1.0),
        ("risk  free!", "risk-free", 1.0),
    ]


def test_banned_phrases_match_whole_words_only() -> None:
    detector = ToneDetector(banned_phrases=["cure"])
    assert detector.detect("a secure procurement") == []
    assert [f.type for f in detector.detect("the cure")] == [BANNED_PHRASE]


def test_banned_phrases_see_through_homoglyphs_and_invisible_characters() -> None:
    detector = ToneDetector(banned_phrases=["miracle cure"])
    text = "a mіracle c\u200bure"  # Cyrillic i, zero-width space
    [finding] = detector.detect(text)
    assert text[finding.start : finding.end] == "mіracle c\u200bure"


def test_banned_phrase_ids_come_from_mapping_keys() -> None:
    detector = ToneDetector(banned_phrases={"no-crypto-advice": "buy bitcoin now"})
    [finding] = detector.detect("Buy Bitcoin now!")
    assert finding.subtype == "no-crypto-advice"


# --------------------------------------------------------------------------- disclaimers

DISCLAIMER = "Not financial advice."


@pytest.mark.parametrize(
    "text",
    [
        "Buy low. Not financial advice.",
        "Buy low. NOT   FINANCIAL\nADVICE.",
        "Not financial advice. Buy low.",
    ],
)
def test_a_present_disclaimer_gives_no_finding(text: str) -> None:
    assert ToneDetector(required_disclaimers=[DISCLAIMER]).detect(text) == []


@pytest.mark.parametrize("text", ["Buy low.", "Not financial, advice.", ""])
def test_a_missing_disclaimer_is_a_zero_width_finding_at_the_end(text: str) -> None:
    [finding] = ToneDetector(required_disclaimers=[DISCLAIMER]).detect(text)
    assert (finding.type, finding.start, finding.end) == (MISSING_DISCLAIMER, len(text), len(text))
    assert (finding.score, finding.subtype) == (1.0, "not-financial-advice")


def test_each_missing_disclaimer_is_reported_by_its_id() -> None:
    detector = ToneDetector(
        required_disclaimers={"nfa": "Not financial advice", "ad": "#ad"},
    )
    assert [f.subtype for f in detector.detect("#ad buy now")] == ["nfa"]


def test_phrase_ids_are_short_and_stable() -> None:
    assert phrase_id("Not financial advice.") == "not-financial-advice"
    long_id = phrase_id("Past performance is not a guarantee of future results")
    assert long_id.startswith("past-performance-is-not-") and len(long_id) == 30
    assert long_id == phrase_id("PAST performance is not a guarantee of future results!")


# --------------------------------------------------------------------------- shouting


@pytest.mark.parametrize(
    "text",
    [
        "THIS IS THE BEST SALE WE HAVE EVER HAD",
        "Hey all — YOU WILL NOT BELIEVE THESE PRICES!!!",
        "WE'RE SO SORRY, PLEASE STOP EMAILING US",
        "WHY IS NOBODY TALKING ABOUT THIS",
    ],
)
def test_runs_of_capital_words_are_shouting(text: str) -> None:
    [finding] = flagged(DETECTOR.detect(text), SHOUTING)
    assert text[finding.start : finding.end].isupper()


@pytest.mark.parametrize(
    "text",
    [
        "NASA and the USA use an HTTP API.",
        "BUY NOW while stocks last",
        "DON'T MISS OUT on the sale",
        "NASA AND ESA LAUNCH API",
        "Set LOG_LEVEL to DEBUG_VERBOSE_MODE_ON",
        "DEBUG, INFO, WARNING, ERROR and CRITICAL",
        "I AM here",
        "SELECT NAME, PRICE FROM ORDERS WHERE PAID",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_acronyms_short_emphasis_and_constants_are_not_shouting(text: str) -> None:
    assert [f for f in DETECTOR.detect(text) if f.type == SHOUTING] == []


def test_shouting_offsets_cover_the_run() -> None:
    text = "Hello. THIS IS A HUGE DEAL TODAY! bye"
    [finding] = DETECTOR.detect(text)
    assert text[finding.start : finding.end] == "THIS IS A HUGE DEAL TODAY"
    assert finding.score == 0.65  # five counted words (not "A"): 0.5 + 0.05, and 0.1 for "!"


def test_the_shouting_threshold_is_configurable() -> None:
    text = "BUY NOW TODAY"
    assert DETECTOR.detect(text) == []
    [finding] = ToneDetector(shouting_min_words=3).detect(text)
    assert finding.type == SHOUTING


def test_legal_boilerplate_in_capitals_is_reported_below_the_flag_line() -> None:
    text = "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND"
    [finding] = DETECTOR.detect(text)
    assert finding.type == SHOUTING and finding.score < FLAG_THRESHOLD


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"shouting_min_words": 1}, ValueError),
        ({"banned_phrases": ["  "]}, ValueError),
        ({"banned_phrases": "one string"}, TypeError),
        ({"extra_words": "one string"}, TypeError),
        ({"extra_words": ["!!!"]}, ValueError),
    ],
)
def test_invalid_options_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ToneDetector(**kwargs)  # type: ignore[arg-type]


def test_min_score_drops_weaker_findings() -> None:
    assert ToneDetector(min_score=0.5).detect("damn") == []
    assert [f.score for f in ToneDetector(min_score=0.0).detect("damn")] == [0.35]


# --------------------------------------------------------------------------- the eval set


def _eval_rows() -> list[dict[str, str]]:
    lines = EVAL_SET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _hit(row: dict[str, str]) -> bool:
    """The row is flagged: for a positive, with its own type (and PROFANITY subtype)."""
    found = flagged(DETECTOR.detect(row["text"]))
    if row["label"] == "clean":
        return bool(found)
    return any(
        f.type == row["type"] and (f.type != PROFANITY or f.subtype == row["subtype"])
        for f in found
    )


def test_eval_set_shape() -> None:
    rows = _eval_rows()
    assert len(rows) >= 120
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["label"] in ("flag", "clean") for r in rows)
    assert sum(r["label"] == "clean" and r["subtype"] == "hard_negative" for r in rows) >= 40
    positives = [r for r in rows if r["label"] == "flag"]
    assert {r["subtype"] for r in positives} >= set(PROFANITY_SUBTYPES)


def test_eval_set_precision_and_recall() -> None:
    rows = _eval_rows()
    positives = [r for r in rows if r["label"] == "flag"]
    negatives = [r for r in rows if r["label"] == "clean"]
    missed = [r["id"] for r in positives if not _hit(r)]
    false_alarms = [r["id"] for r in negatives if _hit(r)]
    true_positives = len(positives) - len(missed)
    recall = true_positives / len(positives)
    precision = true_positives / (true_positives + len(false_alarms))
    assert recall >= 0.9, f"recall {recall:.3f}, missed {missed}"
    assert precision >= 0.9, f"precision {precision:.3f}, false alarms {false_alarms}"


# --------------------------------------------------------------------------- properties

FRAGMENTS = [
    "fuck", "sh1t", "f*ck", "f u c k", "$hit", "@ss", "wtf", "af", "no cap", "AF", "BUY",
    "NOW", "THIS IS", " ", "\n", ".", "*", "-", "_", "\u200b", "\u00ad", "\u0301", "ｆ",
    "і", "🔥", "“", "'", "cum laude", "bruh", "hella", "İ", "ß", "ﬀ", "A55", "1", "\t",
    "Dick", "THE", "!", "```", "`",
]  # fmt: skip


def _check_well_formed(text: str, findings: list[Finding]) -> None:
    for f in findings:
        assert 0 <= f.start <= f.end <= len(text)
        assert 0.0 <= f.score <= 1.0
        assert f.type in DETECTOR.types
        if f.type == PROFANITY:
            assert f.subtype in PROFANITY_SUBTYPES
            assert f.end > f.start


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_yields_well_formed_findings(text: str) -> None:
    _check_well_formed(text, DETECTOR.detect(text))


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_obfuscation_fragments_yield_well_formed_findings(parts: list[str]) -> None:
    text = "".join(parts)
    detector = ToneDetector(banned_phrases=["no cap"], required_disclaimers=["#ad"])
    _check_well_formed(text, detector.detect(text))


PROSE_WORDS = [
    *("the", "a", "of", "and", "in", "on", "with", "to", "for", "from", "by", "at", "as"),
    *("garden", "river", "quiet", "morning", "bread", "window", "yellow", "walked", "across"),
    *("class", "pass", "assess", "shell", "hello", "cocktail", "document", "analysis"),
    *("therapist", "classic", "grape", "shoe", "Sussex", "assistant", "cumulative", "Dickens"),
    *("NASA", "API", "USA", "HTTP", "JSON", "report", "meeting", "budget", "quarter", "team"),
    *("price", "sales", "customer", "order", "shipped", "delivered", "package", "office"),
]


@given(
    st.lists(
        st.tuples(st.sampled_from(PROSE_WORDS), st.sampled_from([" ", " ", ", ", ". ", "\n"])),
        min_size=1,
        max_size=200,
    )
)
@settings(max_examples=80, deadline=None)
def test_benign_prose_has_no_findings(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts).strip()
    assert DETECTOR.detect(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "fuck " * 40_000,
        "s" * 200_000,
        "f*" * 100_000,
        "A " * 100_000,
        "f u c k " * 25_000,
        "\u200b" * 100_000 + "fuck",
        "uuu" * 60_000,
        "- " * 100_000,
    ],
)
def test_dense_input_stays_fast(text: str) -> None:
    started = time.perf_counter()
    DETECTOR.detect(text)
    # a hang guard, not a speed test: catastrophic backtracking takes minutes or hours,
    # a linear scan well under a second (speed: bench/bench_linear.py; linearity by
    # counted work: tests/detect/test_linear.py). The margin keeps a busy machine green.
    assert time.perf_counter() - started < 60.0
