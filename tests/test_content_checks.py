"""What `courseware check` validates beyond the basic formats: quiz exposure settings, rubric
floors, placeholders and crisis lines, calibration anchors, and the warnings about quiz banks.

Small fixture trees as in tests/test_content.py; each expected problem names its file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from courseware.domain.content import ContentError, load_catalogue
from courseware.domain.content.lint import similarity, tokens
from courseware.domain.content.model import (
    Catalogue,
    calibration_from_data,
    quiz_from_data,
    roleplay_from_data,
    to_data,
)
from courseware.infra.config import PROJECT_ROOT
from tests.test_content import ALPHA, FILES, QUIZ, problems, swap, write_tree

CRISIS_LINES = (PROJECT_ROOT / "modules/crisis-lines.toml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing `needle`."""
    found = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(found) >= nth, (needle, found)
    return found[nth - 1]


def load(root: Path, country: str | None = None) -> Catalogue:
    return load_catalogue(root, country=country)


def tree(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """The small valid tree with some files replaced or added."""
    return write_tree(tmp_path, {**FILES, **(files or {})})


def warnings(catalogue: Catalogue) -> list[str]:
    return [str(w) for w in catalogue.warnings]


# --- quiz exposure settings ------------------------------------------------------------------

def test_quiz_settings_default_to_three_a_day_and_review_after_pass(tmp_path: Path) -> None:
    quiz = load(tree(tmp_path)).quizzes["alpha"]
    assert (quiz.attempts_per_day, quiz.review) == (3, "after_pass")


def test_quiz_settings_as_written(tmp_path: Path) -> None:
    text = swap(QUIZ, 7, 'attempts_per_day = 0\nreview = "always"\n')
    quiz = load(tree(tmp_path, {"quizzes/alpha.quiz.toml": text})).quizzes["alpha"]
    assert (quiz.attempts_per_day, quiz.review) == (0, "always")


@pytest.mark.parametrize(("line", "message"), [
    ("attempts_per_day = -1", "'attempts_per_day' must be between 0 and 1000, not -1"),
    ("attempts_per_day = \"3\"", "'attempts_per_day' must be a whole number"),
    ('review = "sometimes"', "'review' must be one of after_pass, always, not 'sometimes'"),
])
def test_quiz_settings_out_of_range(tmp_path: Path, line: str, message: str) -> None:
    text = swap(QUIZ, 7, line)
    root = tree(tmp_path, {"quizzes/alpha.quiz.toml": text})
    assert f"quizzes/alpha.quiz.toml:7: {message}" in problems(root)


def test_a_stored_quiz_without_the_settings_keeps_its_old_meaning(tmp_path: Path) -> None:
    quiz = load(tree(tmp_path)).quizzes["alpha"]
    assert quiz_from_data(to_data(quiz)) == quiz
    old = to_data(quiz)
    del old["attempts_per_day"], old["review"]
    rebuilt = quiz_from_data(old)
    assert (rebuilt.attempts_per_day, rebuilt.review) == (0, "always")  # no limit, full review


# --- rubric floors ---------------------------------------------------------------------------

def levels(scores: tuple[int, ...] = (1, 2, 3, 4)) -> str:
    labels = {0: "Absent", 1: "Not yet", 2: "Developing", 3: "Meets", 4: "Exceeds"}
    return "".join(f'\n  [[rubric.criteria.levels]]\n  score = {s}\n  label = "{labels[s]}"\n'
                   f'  descriptor = "What level {s} looks like."\n' for s in scores)


def floored_roleplay(rubric_extra: str = "", listens_extra: str = "", safety_extra: str = "",
                     listens_scores: tuple[int, ...] = (1, 2, 3, 4),
                     safety_scores: tuple[int, ...] = (1, 2, 3, 4), pass_percent: int = 70) -> str:
    return f'''\
module = "beta"
title = "Beta practice"
brief = "Practise the beta skill."

[persona]
name = "Sam"
description = "A mentee."

[[lines]]
text = "Hello."

[[lines]]
text = "I am not sure why I came."

[rubric]
pass_percent = {pass_percent}
meets_score = 3
{rubric_extra}
[[rubric.criteria]]
id = "listens"
title = "Listens"
critical = false
{listens_extra}
{levels(listens_scores)}
[[rubric.criteria]]
id = "safety"
title = "Keeps them safe"
critical = true
{safety_extra}
{levels(safety_scores)}'''


def roleplay_problems(tmp_path: Path, text: str) -> list[str]:
    found = problems(tree(tmp_path, {"quizzes/beta.roleplay.toml": text}))
    return [p for p in found if p.startswith("quizzes/beta.roleplay.toml:")]


def test_a_rubric_parsed_now_has_a_floor_of_two(tmp_path: Path) -> None:
    rubric = load(tree(tmp_path, {"quizzes/beta.roleplay.toml": floored_roleplay()})) \
        .roleplays["beta"].rubric
    assert rubric.min_score == 2
    assert [c.min_score for c in rubric.criteria] == [None, None]
    assert rubric.floor(rubric.criteria[0]) == 2


def test_floors_as_written_and_stored(tmp_path: Path) -> None:
    text = floored_roleplay(rubric_extra="min_score = 1", listens_extra="min_score = 3",
                            safety_extra="min_score = 3")
    roleplay = load(tree(tmp_path, {"quizzes/beta.roleplay.toml": text})).roleplays["beta"]
    assert roleplay.rubric.min_score == 1
    assert [c.min_score for c in roleplay.rubric.criteria] == [3, 3]
    assert roleplay_from_data(to_data(roleplay)) == roleplay


@pytest.mark.parametrize(("kwargs", "needle", "message"), [
    ({"rubric_extra": "min_score = 4"}, "min_score = 4",
     "min_score 4 is above meets_score (3); set min_score in [rubric]"),
    ({"rubric_extra": "min_score = 2", "listens_scores": (1, 3, 4)}, "min_score = 2",
     "min_score 2 is not a level score of criterion 'listens' (1, 3, 4); set min_score in "
     "[rubric] or in the criterion"),
    ({"listens_scores": (1, 3, 4)}, "[[rubric.criteria]]",
     "the default min_score (2) is not a level score of criterion 'listens' (1, 3, 4); set "
     "min_score in [rubric] or in the criterion"),
    ({"listens_extra": "min_score = 4"}, "min_score = 4",
     "criterion 'listens': min_score 4 is above meets_score (3)"),
    ({"listens_extra": "min_score = 0"}, "min_score = 0",
     "criterion 'listens': min_score 0 is not one of its level scores (1, 2, 3, 4)"),
    ({"safety_extra": "min_score = 2"}, "min_score = 2",
     "criterion 'safety' is critical, so it needs meets_score (3) anyway: min_score 2 says "
     "less; remove it"),
])
def test_floor_problems(tmp_path: Path, kwargs: dict[str, object], needle: str,
                        message: str) -> None:
    text = floored_roleplay(**kwargs)  # type: ignore[arg-type]
    assert roleplay_problems(tmp_path, text) == \
        [f"quizzes/beta.roleplay.toml:{line_of(text, needle)}: {message}"]


def test_a_rubric_floor_does_not_apply_to_a_critical_criterion(tmp_path: Path) -> None:
    # levels without a 2 on the critical criterion only: the default floor is not asked of it
    text = floored_roleplay(safety_scores=(1, 3, 4))
    rubric = load(tree(tmp_path, {"quizzes/beta.roleplay.toml": text})).roleplays["beta"].rubric
    assert rubric.min_score == 2


# --- placeholders and crisis lines ------------------------------------------------------------

def with_body(line: str) -> str:
    """The alpha module with its last body line (line 12) replaced."""
    return swap(ALPHA, 12, line)


def test_known_placeholders_pass_with_the_crisis_lines(tmp_path: Path) -> None:
    module = with_body("Call {{emergency}} or {{ crisis_line }}; text {{crisis_text}}.")
    quiz = QUIZ.replace("Pick the right one.", "In {{country}}, call {{crisis_number}}?")
    root = crisis_tree(tmp_path, {"modules/alpha.md": module, "quizzes/alpha.quiz.toml": quiz})
    catalogue = load(root, country="GB")
    assert sorted(catalogue.crisis_lines) == ["AU", "CA", "GB", "IE", "US"]
    assert catalogue.crisis_lines["GB"].values["emergency"] == "999"
    # stored as written: the country's values are filled in only when the text is shown
    assert "{{emergency}}" in catalogue.modules["alpha"].body


def crisis_tree(tmp_path: Path, files: dict[str, str] | None = None,
                crisis: str = CRISIS_LINES) -> Path:
    root = tree(tmp_path, files)
    (root / "modules/crisis-lines.toml").write_text(crisis, encoding="utf-8")
    return root


def test_an_unknown_placeholder_names_its_line(tmp_path: Path) -> None:
    quiz = QUIZ.replace("Alpha comes first.", "Alpha comes first; ring {{hotline}}.")
    root = crisis_tree(tmp_path, {"modules/alpha.md": with_body("Call {{emergency_number}} now."),
                                  "quizzes/alpha.quiz.toml": quiz})
    assert problems(root) == [
        "modules/alpha.md:12: unknown placeholder {{emergency_number}}",
        f"quizzes/alpha.quiz.toml:{line_of(quiz, 'hotline')}: unknown placeholder {{{{hotline}}}}",
    ]


def test_placeholders_need_the_crisis_lines_file(tmp_path: Path) -> None:
    root = tree(tmp_path, {"modules/alpha.md": with_body("Call {{emergency}}.")})
    assert problems(root) == [
        "modules/alpha.md:12: {{emergency}} has no value: modules/crisis-lines.toml is missing"]
    # without placeholders the file is not needed
    assert load(tree(tmp_path / "plain"), country="US").crisis_lines == {}


def test_the_configured_country_must_be_defined(tmp_path: Path) -> None:
    root = crisis_tree(tmp_path)
    assert problems_for(root, "NZ") == [
        "modules/crisis-lines.toml:1: COURSE_COUNTRY is 'NZ', which this file does not define "
        "(defined: AU, CA, GB, IE, US)"]
    assert load(root, country="IE").crisis_lines["IE"].values["emergency"] == "112 or 999"


def problems_for(root: Path, country: str) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_catalogue(root, country=country)
    return [str(p) for p in caught.value.problems]


def test_every_country_defines_every_placeholder(tmp_path: Path) -> None:
    crisis = CRISIS_LINES.replace('poison_line = "NHS 111"\n', "")
    root = crisis_tree(tmp_path, crisis=crisis)
    assert problems(root) == [f"modules/crisis-lines.toml:{line_of(crisis, '[GB]')}: missing "
                              "required key 'poison_line' in GB"]


def test_crisis_lines_keys_and_codes(tmp_path: Path) -> None:
    crisis = CRISIS_LINES.replace("[IE]", "[ie]").replace(
        'country = "Australia"', 'country = "Australia"\nhelpline = "x"')
    found = problems(crisis_tree(tmp_path, crisis=crisis))
    assert found == [
        f"modules/crisis-lines.toml:{line_of(crisis, '[ie]')}: 'ie' is not a country code: use "
        "two capital letters, as in [US]",
        f"modules/crisis-lines.toml:{line_of(crisis, 'helpline')}: unknown key 'helpline' in AU "
        "(allowed: checked, country, crisis_line, crisis_number, crisis_text, emergency, name, "
        "poison_line, source)",
    ]


def test_the_real_crisis_lines_define_every_country_asked_for() -> None:
    catalogue = load_catalogue(PROJECT_ROOT, country="US")
    lines = catalogue.crisis_lines
    assert {"US", "CA", "GB", "IE", "AU"} <= set(lines)
    assert lines["US"].values["crisis_number"] == "988"
    assert lines["CA"].values["crisis_text"] == "Kids Help Phone (text CONNECT to 686868)"
    assert lines["GB"].values["emergency"] == "999"
    assert lines["IE"].values["poison_line"] == \
        "the National Poisons Information Centre (01 809 2166)"
    assert lines["AU"].values["crisis_line"] == "Lifeline (call 13 11 14, day or night)"
    assert all(c.source and c.checked for c in lines.values())


# --- warnings about quiz banks ----------------------------------------------------------------

def single(qid: str, prompt: str, key: int, texts: tuple[str, ...] = ()) -> str:
    texts = texts or tuple(f"Option {n} of {qid}" for n in range(3))
    options = "".join(f'\n  [[questions.options]]\n  text = {text!r}\n  correct = '
                      f'{"true" if n == key else "false"}\n  feedback = "Why {n}."\n'
                      for n, text in enumerate(texts))
    return (f'\n[[questions]]\nid = "{qid}"\nkind = "single"\nprompt = {prompt!r}\n'
            f'explanation = "Because."\n{options}')


def true_false(qid: str, prompt: str, key: bool) -> str:
    options = "".join(f'\n  [[questions.options]]\n  text = "{text}"\n  correct = '
                      f'{"true" if (text == "True") == key else "false"}\n  feedback = "Fb."\n'
                      for text in ("True", "False"))
    return (f'\n[[questions]]\nid = "{qid}"\nkind = "true_false"\nprompt = {prompt!r}\n'
            f'explanation = "Because."\n{options}')


def multiple(qid: str, prompt: str, correct: int) -> str:
    options = "".join(f'\n  [[questions.options]]\n  text = "Choice {n} of {qid}"\n  correct = '
                      f'{"true" if n < correct else "false"}\n  feedback = "Fb {n}."\n'
                      for n in range(5))
    return (f'\n[[questions]]\nid = "{qid}"\nkind = "multiple"\nprompt = {prompt!r}\n'
            f'explanation = "Because."\n{options}')


HEADER = '''\
module = "{module}"
title = "A quiz"
pass_percent = 80
questions_per_attempt = 1
max_attempts = 0
cooldown_minutes = 10
'''

# prompts that share no words, so that only the warning under test can fire
WORDS = ["apple", "brick", "cloud", "drum", "eagle", "fern", "grape", "harbour", "igloo",
         "jacket", "kettle", "lemon", "meadow", "needle"]


def prompt(n: int) -> str:
    return f"Question about the {WORDS[n]}?"


def bank_warnings(tmp_path: Path, questions: list[str], module: str = "alpha") -> list[str]:
    text = HEADER.format(module=module) + "".join(questions)
    catalogue = load(tree(tmp_path, {f"quizzes/{module}.quiz.toml": text}))
    return warnings(catalogue)


def test_answer_position_balance(tmp_path: Path) -> None:
    all_first = [single(f"s{n}", prompt(n), 0) for n in range(8)]
    assert bank_warnings(tmp_path / "a", all_first) == [
        "quizzes/alpha.quiz.toml:8: warning: the keyed option is option 1 in 8 of 8 single "
        "questions; vary where the right answer is written"]
    # five of nine at option 2 is more than half; four of eight is not
    five = [single(f"s{n}", prompt(n), 1 if n < 5 else 2) for n in range(9)]
    assert "option 2 in 5 of 9" in bank_warnings(tmp_path / "b", five)[0]
    half = [single(f"s{n}", prompt(n), n % 2) for n in range(8)]
    assert bank_warnings(tmp_path / "c", half) == []
    # below eight single questions the spread means little
    assert bank_warnings(tmp_path / "d", all_first[:7]) == []


@pytest.mark.parametrize(("keys", "warned"), [
    ((True, True, True, False), "True is the right answer in 3 of 4 true/false questions (75%)"),
    ((True, False, False, False), "True is the right answer in 1 of 4 true/false questions (25%)"),
    ((True, True, False, False), None),
    ((True, True, True, False, False), None),  # 60 %
    ((True, True, False, False, False), None),  # 40 %
    ((True, True, True), None),  # fewer than four
])
def test_true_false_balance(tmp_path: Path, keys: tuple[bool, ...], warned: str | None) -> None:
    found = bank_warnings(tmp_path, [true_false(f"t{n}", prompt(n), k)
                                     for n, k in enumerate(keys)])
    if warned is None:
        assert found == []
    else:
        assert found == [f"quizzes/alpha.quiz.toml:8: warning: {warned}; keep it between 40% "
                         "and 60%"]


@pytest.mark.parametrize(("counts", "warned"), [
    ((2, 2, 2, 3), "3 of 4 multiple-answer questions have exactly 2 correct options"),
    ((1, 1, 1, 1, 2), "4 of 5 multiple-answer questions have exactly 1 correct option"),
    ((2, 2, 3, 3), None),
    ((2, 2, 2), None),  # fewer than four
])
def test_multiple_answer_correct_count_spread(tmp_path: Path, counts: tuple[int, ...],
                                              warned: str | None) -> None:
    found = bank_warnings(tmp_path, [multiple(f"m{n}", prompt(n), c)
                                     for n, c in enumerate(counts)])
    assert found == ([] if warned is None else
                     [f"quizzes/alpha.quiz.toml:8: warning: {warned}; vary the number of right "
                      "answers"])


def test_similarity_is_a_token_set_jaccard() -> None:
    assert tokens("A mentee SAYS: “I'm tired.”") == frozenset({"a", "mentee", "says", "i", "m",
                                                               "tired"})
    assert similarity(tokens("one two three four five"), tokens("five four three two")) == 0.8
    assert similarity(tokens("one two three four"), tokens("one two three five")) == 0.6
    assert similarity(frozenset(), frozenset()) == 0.0


def test_near_duplicate_prompts_in_one_bank(tmp_path: Path) -> None:
    questions = [
        single("first", "A mentee says she is tired of trying. What is the best reply?", 0),
        single("other", prompt(3), 1),
        # the same words in another order and case, with other punctuation: similarity 1
        single("again", "What is the best reply? A mentee says: she is TIRED of trying", 2),
    ]
    text = HEADER.format(module="alpha") + "".join(questions)
    found = bank_warnings(tmp_path, questions)
    assert found == [
        f"quizzes/alpha.quiz.toml:{line_of(text, 'TIRED')}: warning: question 'again' has nearly "
        "the same prompt as question 'first' "
        f"(quizzes/alpha.quiz.toml:{line_of(text, 'tired of trying. What')})"]


def test_near_duplicate_prompts_across_banks(tmp_path: Path) -> None:
    beta = HEADER.format(module="beta") + single(
        "beta-one", "Pick the right one, please.", 0)
    catalogue = load(tree(tmp_path, {"quizzes/beta.quiz.toml": beta}))
    # "pick the right one" against "pick the right one please": 4 of 5 words, exactly 0.8
    assert warnings(catalogue) == [
        "quizzes/beta.quiz.toml:11: warning: question 'beta-one' has nearly the same prompt as "
        "question 'q-one' (quizzes/alpha.quiz.toml:12)"]


def test_the_keyed_reply_that_alone_asks_a_question(tmp_path: Path) -> None:
    asks = ('"What happened then?"', '"You should rest."', '"Try harder next time."')
    plain = ('"That sounds hard."', '"You should rest."', '"Try harder next time."')
    cued = [single("c0", prompt(0), 0, asks), single("c1", prompt(1), 0, plain),
            single("c2", prompt(2), 0, plain)]
    # one of three (33 %) is more than 30 %
    assert bank_warnings(tmp_path / "a", cued) == [
        "quizzes/alpha.quiz.toml:8: warning: in 1 of 3 single questions with quoted replies, the "
        "keyed reply is the only option that asks a question; let some wrong replies ask too"]
    # one of four (25 %) is not; a wrong reply that also asks is no cue
    assert bank_warnings(tmp_path / "b", [*cued, single("c3", prompt(3), 0, plain)]) == []
    both = ('"What happened then?"', '"Why did you do that?"', '"Try harder next time."')
    assert bank_warnings(tmp_path / "c", [single("c0", prompt(0), 0, both), *cued[1:]]) == []
    # options that are not quoted replies do not count
    unquoted = tuple(t.strip('"') for t in asks)
    assert bank_warnings(tmp_path / "d", [single("c0", prompt(0), 0, unquoted)]) == []


def test_warnings_do_not_stop_a_check_and_ride_along_with_errors(tmp_path: Path) -> None:
    questions = [single(f"s{n}", prompt(n), 0) for n in range(8)]
    text = HEADER.format(module="alpha") + "".join(questions)
    assert len(warnings(load(tree(tmp_path / "ok", {"quizzes/alpha.quiz.toml": text})))) == 1
    broken = tree(tmp_path / "broken", {
        "quizzes/alpha.quiz.toml": text,
        "modules/beta.md": swap(FILES["modules/beta.md"], 7, 'requires = ["gamma"]')})
    with pytest.raises(ContentError) as caught:
        load_catalogue(broken)
    assert [str(p) for p in caught.value.problems] == \
        ["modules/beta.md:7: requires unknown module 'gamma'"]
    assert [w.warning for w in caught.value.warnings] == [True]
    assert str(caught.value.warnings[0]).startswith("quizzes/alpha.quiz.toml:8: warning: ")


# --- calibration anchors ------------------------------------------------------------------------

def anchor(ident: str, kind: str, listens: int, safety: int, replies: int = 2,
           extra_level: str = "") -> str:
    reply_list = ", ".join(f'"Reply {n} of {ident}."' for n in range(replies))
    return f'''
[[anchors]]
id = "{ident}"
kind = "{kind}"
title = "Anchor {ident}"
replies = [{reply_list}]

  [[anchors.levels]]
  criterion = "listens"
  score = {listens}
  rationale = "Listens at level {listens}."

  [[anchors.levels]]
  criterion = "safety"
  score = {safety}
  rationale = "Safety at level {safety}."
{extra_level}'''


CALIBRATION_HEADER = 'roleplay = "beta"\n'
ANCHORS = [anchor("clear-pass", "pass", 4, 4), anchor("borderline", "borderline", 2, 3),
           anchor("unsafe", "critical-fail", 4, 2)]


def calibration_tree(tmp_path: Path, text: str) -> Path:
    return tree(tmp_path, {"quizzes/beta.roleplay.toml": floored_roleplay(pass_percent=60),
                           "quizzes/beta.calibration.toml": text})


def calibration_problems(tmp_path: Path, text: str) -> list[str]:
    found = problems(calibration_tree(tmp_path, text))
    assert all(p.startswith("quizzes/beta.calibration.toml:") for p in found), found
    return found


def test_a_valid_calibration(tmp_path: Path) -> None:
    catalogue = load(calibration_tree(tmp_path, CALIBRATION_HEADER + "".join(ANCHORS)))
    spec = catalogue.calibrations["beta"]
    assert (spec.roleplay, spec.exact_agreement_percent, spec.adjacent_agreement_percent) == \
        ("beta", 70, 95)
    assert [(a.id, a.kind) for a in spec.anchors] == [
        ("clear-pass", "pass"), ("borderline", "borderline"), ("unsafe", "critical-fail")]
    assert spec.anchors[0].replies == ("Reply 0 of clear-pass.", "Reply 1 of clear-pass.")
    assert spec.anchors[2].scores() == {"listens": 4, "safety": 2}
    assert spec.anchors[1].levels[0].rationale == "Listens at level 2."
    assert calibration_from_data(to_data(spec)) == spec
    # calibrations are not synced content: the catalogue's other kinds are unchanged
    assert sorted(catalogue.roleplays) == ["beta"]


def test_agreement_targets_as_written(tmp_path: Path) -> None:
    text = ("exact_agreement_percent = 60\nadjacent_agreement_percent = 90\n"
            + CALIBRATION_HEADER + "".join(ANCHORS))
    spec = load(calibration_tree(tmp_path, text)).calibrations["beta"]
    assert (spec.exact_agreement_percent, spec.adjacent_agreement_percent) == (60, 90)


CALIBRATION_CASES: dict[str, tuple[list[str], tuple[str, int], str]] = {
    # case: (anchors, (a needle of the line expected, which of its lines), the message);
    # the role-play's rubric: two criteria scored 1-4, "safety" critical, meets 3, pass 60 %
    "unknown-roleplay": (ANCHORS, ("roleplay =", 1), "calibration for unknown role-play 'gamma'"),
    "reply-count": (
        [anchor("clear-pass", "pass", 4, 4, replies=3), *ANCHORS[1:]],
        ("Reply 2 of clear-pass", 1),
        "anchor 'clear-pass' has 3 replies, but the role-play has 2 mentee lines: write one "
        "reply per line"),
    "missing-level": (
        [ANCHORS[0], anchor("borderline", "borderline", 2, 3).split("  [[anchors.levels]]")[0]
         + "  [[anchors.levels]]\n  criterion = \"listens\"\n  score = 2\n  rationale = \"x\"\n",
         ANCHORS[2]],
        ("[[anchors]]", 2), "anchor 'borderline' has no level for: safety"),
    "unknown-criterion": (
        [anchor("clear-pass", "pass", 4, 4, extra_level='\n  [[anchors.levels]]\n  criterion = '
                '"warmth"\n  score = 3\n  rationale = "Warm."\n'), *ANCHORS[1:]],
        ('"warmth"', 1),
        "anchor 'clear-pass': 'warmth' is not a criterion of the role-play's rubric"),
    "criterion-twice": (
        [anchor("clear-pass", "pass", 4, 4, extra_level='\n  [[anchors.levels]]\n  criterion = '
                '"listens"\n  score = 3\n  rationale = "Again."\n'), *ANCHORS[1:]],
        ('criterion = "listens"', 2), "anchor 'clear-pass' gives 'listens' a level twice"),
    "score-not-a-level": (
        [anchor("clear-pass", "pass", 5, 4), *ANCHORS[1:]], ("score = 5", 1),
        "anchor 'clear-pass': 5 is not a level score of 'listens' (1, 2, 3, 4)"),
    "empty-rationale": (
        [ANCHORS[0].replace('"Listens at level 4."', '"  "'), *ANCHORS[1:]],
        ('rationale = "  "', 1), "'rationale' must be non-empty text"),
    "pass-under-a-floor": (
        # 5 of 8 (62.5 %) and safety at meets: only the floor (2, "Not yet" is 1) fails it
        [anchor("clear-pass", "pass", 1, 4), *ANCHORS[1:]], ('kind = "pass"', 1),
        "anchor 'clear-pass' is a pass anchor, but its levels do not pass the rubric (a "
        "criterion is below its min_score)"),
    "pass-that-fails-twice": (
        [anchor("clear-pass", "pass", 2, 2), *ANCHORS[1:]], ('kind = "pass"', 1),
        "anchor 'clear-pass' is a pass anchor, but its levels do not pass the rubric (4 of 8 "
        "points is below 60%; a critical criterion is below meets_score)"),
    "critical-fail-that-does-not": (
        [*ANCHORS[:2], anchor("unsafe", "critical-fail", 1, 3)], ('kind = "critical-fail"', 1),
        "anchor 'unsafe' is a critical-fail anchor, but no critical criterion is below "
        "meets_score (3)"),
    "bad-kind": (
        [*ANCHORS, anchor("odd", "maybe", 4, 4)], ('kind = "maybe"', 1),
        "anchor 'odd': kind must be one of pass, borderline, critical-fail, not 'maybe'"),
    "duplicate-id": (
        [*ANCHORS, anchor("unsafe", "critical-fail", 4, 1)], ('id = "unsafe"', 2),
        "duplicate id 'unsafe' (first used on line {first})"),
    "bad-id": (
        [*ANCHORS, anchor("Not_A_Slug", "borderline", 3, 3)], ('id = "Not_A_Slug"', 1),
        "id 'Not_A_Slug' must be lower-case letters, digits and hyphens"),
}


@pytest.mark.parametrize("case", list(CALIBRATION_CASES))
def test_calibration_problems(tmp_path: Path, case: str) -> None:
    anchors, (needle, nth), message = CALIBRATION_CASES[case]
    header = 'roleplay = "gamma"\n' if case == "unknown-roleplay" else CALIBRATION_HEADER
    text = header + "".join(anchors)
    message = message.format(first=line_of(text, needle))
    assert calibration_problems(tmp_path, text) == \
        [f"quizzes/beta.calibration.toml:{line_of(text, needle, nth)}: {message}"]


def test_at_least_three_anchors(tmp_path: Path) -> None:
    text = CALIBRATION_HEADER + ANCHORS[0] + ANCHORS[2]
    assert calibration_problems(tmp_path, text) == [
        f"quizzes/beta.calibration.toml:{line_of(text, '[[anchors]]')}: a calibration needs at "
        "least 3 [[anchors]], not 2",
        f"quizzes/beta.calibration.toml:{line_of(text, '[[anchors]]')}: a calibration needs at "
        "least one anchor of each kind; missing: borderline",
    ]


@pytest.mark.parametrize(("settings", "message"), [
    ("exact_agreement_percent = 0", "'exact_agreement_percent' must be between 1 and 100, not 0"),
    ("adjacent_agreement_percent = 101",
     "'adjacent_agreement_percent' must be between 1 and 100, not 101"),
    ("exact_agreement_percent = 90\nadjacent_agreement_percent = 80",
     "'adjacent_agreement_percent' cannot be below 'exact_agreement_percent'"),
])
def test_agreement_targets_out_of_range(tmp_path: Path, settings: str, message: str) -> None:
    text = CALIBRATION_HEADER + settings + "\n" + "".join(ANCHORS)
    line = line_of(text, message.split("'")[1] + " =")
    assert calibration_problems(tmp_path, text) == \
        [f"quizzes/beta.calibration.toml:{line}: {message}"]


def test_calibration_files_are_not_strays(tmp_path: Path) -> None:
    catalogue = load(calibration_tree(tmp_path, CALIBRATION_HEADER + "".join(ANCHORS)))
    assert list(catalogue.calibrations) == ["beta"]

