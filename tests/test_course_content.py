"""The course the issue asks for, checked on the real content files."""

from __future__ import annotations

import functools
import re

import pytest

from courseware.domain.content import load_catalogue
from courseware.domain.content.model import Catalogue, ModuleSpec, QuestionSpec, QuizSpec
from courseware.domain.rubric import rubric_outcome
from courseware.infra.config import PROJECT_ROOT

SLUGS = ["foundations", "active-listening", "boundaries", "privacy-and-records",
         "crisis-response", "overdose-response", "mandated-reporting", "referral",
         "remote-and-youth-mentoring"]
ROLEPLAYS = ["active-listening", "boundaries", "crisis-response", "referral"]
CRITICAL = {
    "active-listening": {"checks-safety-proportionately"},
    "boundaries": {"keeps-confidentiality-limits", "responds-to-suicide-risk"},
    "crisis-response": {"asks-directly", "follows-protocol", "stays-in-role"},
    "referral": {"stays-in-scope", "consent-before-sharing"},
}

@functools.cache
def catalogue() -> Catalogue:
    """The real content, parsed once (a ContentError fails each test that needs it)."""
    return load_catalogue(PROJECT_ROOT)


def section(body: str, title: str) -> str:
    """The text under `## title` up to the next level-2 heading ("" if there is none)."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", body, re.M | re.S)
    return match.group(1) if match else ""


def module(slug: str) -> ModuleSpec:
    return catalogue().modules[slug]


def quiz(slug: str) -> QuizSpec:
    return catalogue().quizzes[slug]


# --- modules -------------------------------------------------------------------------------

def test_module_slugs_and_order() -> None:
    assert set(catalogue().modules) == set(SLUGS)
    assert sorted(catalogue().modules, key=lambda s: module(s).order) == SLUGS


def test_requires_chain() -> None:
    assert module("foundations").requires == ()
    for before, after in zip(SLUGS, SLUGS[1:], strict=False):
        assert module(after).requires == (before,), after


def test_total_minutes_at_least_six_hours() -> None:
    assert sum(m.minutes for m in catalogue().modules.values()) >= 360


@pytest.mark.parametrize("slug", SLUGS)
def test_module_length(slug: str) -> None:
    words = len(module(slug).body.split())
    assert 2000 <= words <= 5000, words


@pytest.mark.parametrize("slug", SLUGS)
def test_declared_minutes_are_honest(slug: str) -> None:
    """At least the reading (200 words a minute), ten minutes for the quiz and, where the module
    has one, half an hour for the role-play; at most three times that, reflection included."""
    spec = module(slug)
    floor = len(spec.body.split()) / 200 + 10 + (30 if slug in ROLEPLAYS else 0)
    assert floor <= spec.minutes <= 3 * floor, (spec.minutes, round(floor))


@pytest.mark.parametrize("slug", SLUGS)
def test_crisis_numbers_come_from_the_country_table(slug: str) -> None:
    """No emergency or crisis number is written into the course: the site's country decides."""
    texts = [module(slug).body, *(q.prompt for q in quiz(slug).questions),
             *(o.text + o.feedback for q in quiz(slug).questions for o in q.options)]
    for text in texts:
        assert not re.search(r"\b(911|988|999|112|000|116 123|741741)\b", text), text[:120]


@pytest.mark.parametrize("slug", SLUGS)
def test_module_objectives(slug: str) -> None:
    objectives = module(slug).objectives
    assert 4 <= len(objectives) <= 6
    assert len(set(objectives)) == len(objectives)
    for objective in objectives:
        # observable: starts with a capitalised verb, not "Understand"/"Know"/"Learn"
        first = objective.split()[0]
        assert first[0].isupper(), objective
        assert first not in ("Understand", "Know", "Learn", "Appreciate"), objective


@pytest.mark.parametrize("slug", SLUGS)
def test_module_dialogues(slug: str) -> None:
    body = module(slug).body
    poor = re.findall(r"^\*\*Poor reply:\*\* \S", body, re.M)
    better = re.findall(r"^\*\*Better reply:\*\* \S", body, re.M)
    assert len(poor) >= 2 and len(better) >= 2, (len(poor), len(better))
    assert len(poor) == len(better)
    # every poor reply is directly followed by its better one
    pairs = re.findall(r"^\*\*Poor reply:\*\*.*\n\*\*Better reply:\*\*", body, re.M)
    assert len(pairs) == len(poor)


@pytest.mark.parametrize("slug", SLUGS)
def test_module_reflection_prompts(slug: str) -> None:
    body = module(slug).body
    reflect = section(body, "Reflect")
    assert reflect, "no ## Reflect section"
    prompts = (
        len(re.findall(r"^### \S", reflect, re.M))
        + len(re.findall(r"^\d+\. \S", reflect, re.M))
        + len(re.findall(r"^### Reflection\b", body.replace(reflect, ""), re.M))
    )
    assert prompts >= 2, prompts
    assert "?" in reflect


@pytest.mark.parametrize("slug", SLUGS)
def test_module_ends_with_takeaways_and_sources(slug: str) -> None:
    body = module(slug).body
    headings = re.findall(r"^## (.+?)\s*$", body, re.M)
    assert headings[-2:] == ["Key takeaways", "Sources"], headings
    assert len(re.findall(r"^- \S", section(body, "Key takeaways"), re.M)) >= 4
    assert len(re.findall(r"^- \S", section(body, "Sources"), re.M)) >= 3


@pytest.mark.parametrize("slug", SLUGS)
def test_module_body_uses_level_two_headings_and_no_html(slug: str) -> None:
    body = module(slug).body
    assert not re.search(r"^# ", body, re.M)
    assert not re.search(r"<[a-zA-Z/][^>]*>", body)
    assert not re.search(r"\b(TODO|lorem|TBD)\b", body, re.I)


# --- quizzes -------------------------------------------------------------------------------

def test_a_quiz_per_module() -> None:
    assert set(catalogue().quizzes) == set(SLUGS)
    for slug in SLUGS:
        assert quiz(slug).module == slug


@pytest.mark.parametrize("slug", SLUGS)
def test_quiz_settings(slug: str) -> None:
    q = quiz(slug)
    assert (q.pass_percent, q.questions_per_attempt, q.cooldown_minutes, q.max_attempts) == (
        80, 10, 10, 0)


@pytest.mark.parametrize("slug", SLUGS)
def test_quiz_bank(slug: str) -> None:
    questions = quiz(slug).questions
    assert len(questions) >= 15
    assert sum(q.scenario for q in questions) / len(questions) >= 0.6
    assert {q.kind for q in questions} == {"single", "multiple", "true_false"}
    for q in questions:
        assert q.explanation.strip(), q.id
        assert q.prompt.strip(), q.id
        for option in q.options:
            assert option.feedback.strip(), (q.id, option.text)
        assert q.correct_indexes, q.id
        if q.kind in ("single", "true_false"):
            assert len(q.correct_indexes) == 1, q.id
        if q.kind == "true_false":
            assert sorted(o.text for o in q.options) == ["False", "True"], q.id
        else:
            assert len(q.options) >= 3, q.id


def test_question_ids_unique_across_banks() -> None:
    ids = [q.id for slug in SLUGS for q in quiz(slug).questions]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("slug", SLUGS)
def test_no_longest_option_giveaway(slug: str) -> None:
    singles = [q for q in quiz(slug).questions if q.kind == "single"]
    assert singles
    giveaways = 0
    for q in singles:
        lengths = [len(o.text) for o in q.options]
        longest = max(lengths)
        if lengths.count(longest) == 1 and q.options[lengths.index(longest)].correct:
            giveaways += 1
    assert giveaways / len(singles) <= 0.4, f"{giveaways} of {len(singles)}"


# --- role-plays ----------------------------------------------------------------------------

def test_roleplays_for_four_modules() -> None:
    assert set(catalogue().roleplays) == set(ROLEPLAYS)
    for slug in ROLEPLAYS:
        assert catalogue().roleplays[slug].module == slug


@pytest.mark.parametrize("slug", ROLEPLAYS)
def test_roleplay_shape(slug: str) -> None:
    roleplay = catalogue().roleplays[slug]
    assert len(roleplay.lines) >= 6
    assert roleplay.brief.strip() and roleplay.persona.name and roleplay.persona.description
    rubric = roleplay.rubric
    assert rubric.pass_percent == 70
    assert 4 <= len(rubric.criteria) <= 6
    scales = {tuple(lv.score for lv in c.levels) for c in rubric.criteria}
    assert len(scales) == 1, scales  # one scale for the whole rubric
    for criterion in rubric.criteria:
        assert [lv.label for lv in criterion.levels] == [
            "Not yet", "Developing", "Meets", "Exceeds"], criterion.id
        assert criterion.level(rubric.meets_score) == criterion.levels[2], criterion.id
        assert all(lv.descriptor.strip() for lv in criterion.levels)
    # meeting the standard on every criterion passes; one level lower on every one does not
    meets_total = rubric.meets_score * len(rubric.criteria)
    assert meets_total * 100 >= rubric.pass_percent * rubric.max_total
    below = sum(c.levels[1].score for c in rubric.criteria)
    assert below * 100 < rubric.pass_percent * rubric.max_total


@pytest.mark.parametrize("slug", sorted(CRITICAL))
def test_roleplay_critical_criteria(slug: str) -> None:
    criteria = {c.id: c for c in catalogue().roleplays[slug].rubric.criteria}
    for ident in CRITICAL[slug]:
        assert ident in criteria, sorted(criteria)
        assert criteria[ident].critical, ident


# --- the track -----------------------------------------------------------------------------

def test_certified_peer_mentor_track() -> None:
    track = catalogue().tracks["certified-peer-mentor"]
    assert set(track.requirements.modules) == set(SLUGS)
    assert set(track.requirements.quizzes) == set(SLUGS)
    assert set(track.requirements.roleplays) == set(ROLEPLAYS)
    assert len(track.requirements.modules) == 9 and len(track.requirements.quizzes) == 9
    assert len(track.requirements.roleplays) == 4
    assert track.valid_months == 24
    assert track.grants_eligibility is True


# --- assessments that cannot be gamed -----------------------------------------------------------

QUOTES = ('"', "\u201c", "'")  # a quoted reply, straight or curly


def all_questions() -> list[QuestionSpec]:
    return [q for slug in SLUGS for q in quiz(slug).questions]


def asks(text: str) -> bool:
    return "?" in text


def test_the_keyed_reply_is_rarely_the_only_question() -> None:
    """A learner who picks "the option that asks something" must not score above chance."""
    replies = [q for q in all_questions() if q.kind == "single"
               and all(o.text.lstrip().startswith(QUOTES) for o in q.options)]
    assert len(replies) >= 20
    giveaways = [q.id for q in replies
                 if [asks(o.text) for o in q.options].count(True) == 1
                 and asks(q.options[min(q.correct_indexes)].text)]
    assert len(giveaways) / len(replies) <= 0.30, giveaways


def test_true_false_keys_are_balanced() -> None:
    keyed = [q.options[min(q.correct_indexes)].text for q in all_questions()
             if q.kind == "true_false"]
    assert 0.4 <= keyed.count("True") / len(keyed) <= 0.6, keyed.count("True")


def test_multi_selects_vary_their_number_of_correct_options() -> None:
    counts = [len(q.correct_indexes) for q in all_questions() if q.kind == "multiple"]
    most = max(counts.count(n) for n in set(counts))
    assert len(set(counts)) >= 3 and most / len(counts) <= 0.5, counts


@pytest.mark.parametrize("slug", SLUGS)
def test_bank_exposure_is_limited(slug: str) -> None:
    q = quiz(slug)
    assert q.attempts_per_day == 3 and q.review == "after_pass"


# --- rubrics: the hostile replies a reviewer named cannot pass ----------------------------------

# (role-play, what the learner did, criterion it lands on, level, words of that level's descriptor
# that say so). Everything else is scored at the top level, so only the rule can stop the pass.
HOSTILE_REPLIES = [
    ("boundaries", "lends Alex the money", "warmth-while-holding-boundary", 1, "lends or gives"),
    ("boundaries", "accepts the gift card", "warmth-while-holding-boundary", 1, "accepts the gift"),
    ("boundaries", "promises total secrecy", "keeps-confidentiality-limits", 1,
     "promises secrecy"),
    ("boundaries", "never asks about suicide; tells the coordinator 'today'",
     "responds-to-suicide-risk", 2, "today"),
    ("boundaries", "gives unrequested advice twice", "encourages-independence", 1,
     "two or more replies"),
    ("active-listening", "promises to keep it between them", "checks-safety-proportionately", 1,
     "promises to keep"),
    ("active-listening", "never checks on Jordan's safety", "checks-safety-proportionately", 1,
     "no reply checks"),
    ("active-listening", "gives unrequested advice twice", "avoids-fixing-and-own-story", 1,
     "Two or more replies"),
    ("crisis-response", "asks about suicide only in soft words", "asks-directly", 2,
     "softened"),
    ("crisis-response", "promises Dani won't go to hospital", "stays-in-role", 1,
     "you won't have to go to the hospital"),
    ("crisis-response", "agrees to keep the disclosure secret", "follows-protocol", 1,
     "keep the disclosure secret"),
    ("crisis-response", "gives the crisis number to call later, alone", "follows-protocol", 2,
     "to call later, alone"),
    ("referral", "tells Marcus how to taper his drinking", "stays-in-scope", 1,
     "taper"),
    ("referral", "promises nobody will ever know", "consent-before-sharing", 1,
     "promises secrecy without limit"),
    ("referral", "calls the service without asking him", "consent-before-sharing", 1,
     "without asking Marcus"),
]


@pytest.mark.parametrize(("slug", "behaviour", "criterion_id", "score", "evidence"),
                         HOSTILE_REPLIES, ids=[f"{r[0]}: {r[1]}" for r in HOSTILE_REPLIES])
def test_a_hostile_reply_cannot_pass(slug: str, behaviour: str, criterion_id: str, score: int,
                                     evidence: str) -> None:
    rubric = catalogue().roleplays[slug].rubric
    criterion = next(c for c in rubric.criteria if c.id == criterion_id)
    level = criterion.level(score)
    assert level is not None
    assert evidence.casefold() in level.descriptor.casefold(), (behaviour, level.descriptor)
    levels = {c.id: c.max_score for c in rubric.criteria}
    levels[criterion_id] = score
    outcome = rubric_outcome(rubric, levels)
    assert not outcome.passed, behaviour
    assert criterion_id in {f.id for f in outcome.failing}


@pytest.mark.parametrize("slug", ROLEPLAYS)
def test_no_criterion_may_sit_at_not_yet(slug: str) -> None:
    rubric = catalogue().roleplays[slug].rubric
    assert rubric.min_score == 2
    for criterion in rubric.criteria:
        levels = {c.id: c.max_score for c in rubric.criteria}
        levels[criterion.id] = criterion.levels[0].score
        assert not rubric_outcome(rubric, levels).passed, criterion.id
