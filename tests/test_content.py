"""The content pipeline: each problem at its `path:line`, the check and sync commands, HTML."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from courseware.domain.content import ContentError, load_catalogue
from courseware.domain.content.render import render_markdown
from courseware.infra.config import PROJECT_ROOT
from courseware.models import AuditEvent, ContentItem, ContentVersion
from tests.conftest import make_app

# A small valid tree. Each case below swaps whole lines, so the line numbers here hold.
ALPHA = """\
+++
title = "Alpha"
order = 1
minutes = 30
summary = "The first module."
objectives = ["Know the first thing"]
requires = []
+++

## Start here

Alpha body text.
"""

BETA = """\
+++
title = "Beta"
order = 2
minutes = 30
summary = "The second module."
objectives = ["Know the second thing"]
requires = ["alpha"]
+++

## Beta

Beta body text.
"""

QUIZ = """\
module = "alpha"
title = "Alpha quiz"
pass_percent = 80
questions_per_attempt = 2
max_attempts = 0
cooldown_minutes = 10

[[questions]]
id = "q-one"
kind = "single"
scenario = true
prompt = "Pick the right one."
explanation = "Because it is right."

  [[questions.options]]
  text = "Right"
  correct = true
  feedback = "Yes."

  [[questions.options]]
  text = "Wrong"
  correct = false
  feedback = "No."

[[questions]]
id = "q-two"
kind = "true_false"
prompt = "Alpha comes first."
explanation = "It does."

  [[questions.options]]
  text = "True"
  correct = true
  feedback = "Yes."

  [[questions.options]]
  text = "False"
  correct = false
  feedback = "No."
"""

ROLEPLAY = """\
module = "beta"
title = "Beta practice"
brief = "Practise the beta skill."

[persona]
name = "Sam"
description = "A mentee."

[[lines]]
text = "Hello."

[rubric]
pass_percent = 70
meets_score = 2

[[rubric.criteria]]
id = "listens"
title = "Listens"
critical = true

  [[rubric.criteria.levels]]
  score = 0
  label = "Not yet"
  descriptor = "Does not listen."

  [[rubric.criteria.levels]]
  score = 1
  label = "Developing"
  descriptor = "Listens a little."

  [[rubric.criteria.levels]]
  score = 2
  label = "Meets"
  descriptor = "Listens well."
"""

TRACK = """\
title = "Basic"
description = "A basic track."
valid_months = 12
grants_eligibility = true
modules = ["alpha", "beta"]
quizzes = ["alpha"]
roleplays = ["beta"]
"""

FILES = {
    "modules/alpha.md": ALPHA,
    "modules/beta.md": BETA,
    "quizzes/alpha.quiz.toml": QUIZ,
    "quizzes/beta.roleplay.toml": ROLEPLAY,
    "certificates/basic.toml": TRACK,
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def swap(text: str, line: int, new: str) -> str:
    """The text with line `line` (1-based) replaced by `new`: other lines keep their numbers."""
    lines = text.split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_catalogue(root)
    return [str(p) for p in caught.value.problems]


def test_the_small_tree_is_valid(tmp_path: Path) -> None:
    catalogue = load_catalogue(write_tree(tmp_path, FILES))
    assert sorted(catalogue.modules) == ["alpha", "beta"]
    assert list(catalogue.quizzes) == ["alpha"]
    assert list(catalogue.roleplays) == ["beta"]
    assert list(catalogue.tracks) == ["basic"]
    quiz = catalogue.quizzes["alpha"]
    assert [q.id for q in quiz.questions] == ["q-one", "q-two"]
    assert quiz.questions[0].scenario and not quiz.questions[1].scenario
    assert catalogue.modules["alpha"].body == "## Start here\n\nAlpha body text."
    assert catalogue.roleplays["beta"].rubric.criteria[0].max_score == 2


# Each case: the file to change, the line to swap and its new text, the problems expected.
CASES = {
    "unknown-top-level-key": (
        "quizzes/alpha.quiz.toml", 7, 'colour = "red"',
        ["quizzes/alpha.quiz.toml:7: unknown key 'colour' in the file (allowed: attempts_per_day, "
         "cooldown_minutes, max_attempts, module, pass_percent, questions, "
         "questions_per_attempt, review, title)"],
    ),
    "unknown-question-key": (
        "quizzes/alpha.quiz.toml", 11, "scenaro = true",
        ["quizzes/alpha.quiz.toml:11: unknown key 'scenaro' in questions #1 (allowed: "
         "explanation, id, kind, options, prompt, scenario)"],
    ),
    "unknown-module-key": (
        "modules/beta.md", 4, "minutez = 30",
        # a problem of the whole front matter points at its first line
        ["modules/beta.md:2: missing required key 'minutes' in the file",
         "modules/beta.md:4: unknown key 'minutez' in the file (allowed: minutes, objectives, "
         "order, requires, summary, title)"],
    ),
    "missing-question-field": (
        "quizzes/alpha.quiz.toml", 13, "# no explanation",
        ["quizzes/alpha.quiz.toml:8: missing required key 'explanation' in questions #1"],
    ),
    "missing-option-field": (
        "quizzes/alpha.quiz.toml", 23, "",
        ["quizzes/alpha.quiz.toml:20: missing required key 'feedback' in questions #1 "
         "options #2"],
    ),
    "missing-top-level-field": (
        "quizzes/alpha.quiz.toml", 2, "",
        ["quizzes/alpha.quiz.toml:1: missing required key 'title' in the file"],
    ),
    "missing-rubric-field": (
        "quizzes/beta.roleplay.toml", 19, "",
        ["quizzes/beta.roleplay.toml:16: missing required key 'critical' in rubric criteria #1"],
    ),
    "duplicate-question-id": (
        "quizzes/alpha.quiz.toml", 26, 'id = "q-one"',
        ["quizzes/alpha.quiz.toml:26: duplicate id 'q-one' (first used on line 9)"],
    ),
    "quiz-for-unknown-module": (
        "quizzes/alpha.quiz.toml", 1, 'module = "gamma"',
        ["quizzes/alpha.quiz.toml:1: quiz for unknown module 'gamma'"],
    ),
    "roleplay-for-unknown-module": (
        "quizzes/beta.roleplay.toml", 1, 'module = "gamma"',
        ["quizzes/beta.roleplay.toml:1: role-play for unknown module 'gamma'"],
    ),
    "no-correct-option": (
        "quizzes/alpha.quiz.toml", 17, "  correct = false",
        ["quizzes/alpha.quiz.toml:8: question 'q-one' has no correct option"],
    ),
    "single-with-two-correct": (
        "quizzes/alpha.quiz.toml", 22, "  correct = true",
        ["quizzes/alpha.quiz.toml:8: question 'q-one' is 'single' but has 2 correct options"],
    ),
    "true-false-texts": (
        "quizzes/alpha.quiz.toml", 32, '  text = "Yes"',
        ["quizzes/alpha.quiz.toml:25: question 'q-two' is true_false: its two options must be "
         "'True' and 'False'"],
    ),
    "unknown-question-kind": (
        "quizzes/alpha.quiz.toml", 27, 'kind = "essay"',
        ["quizzes/alpha.quiz.toml:27: question 'q-two': kind must be one of single, multiple, "
         "true_false, not 'essay'"],
    ),
    "wrong-type": (
        "quizzes/alpha.quiz.toml", 11, 'scenario = "yes"',
        ["quizzes/alpha.quiz.toml:11: 'scenario' must be true or false"],
    ),
    "rubric-score-out-of-order": (
        "quizzes/beta.roleplay.toml", 27, "  score = 3",
        ["quizzes/beta.roleplay.toml:32: criterion 'listens': level scores must rise in order "
         "(3 then 2)"],
    ),
    "meets-score-not-a-level": (
        "quizzes/beta.roleplay.toml", 14, "meets_score = 5",
        ["quizzes/beta.roleplay.toml:16: criterion 'listens' has no level with score 5 "
         "(the rubric's meets_score)"],
    ),
    "track-unknown-module": (
        "certificates/basic.toml", 5, 'modules = ["alpha", "gamma"]',
        ["certificates/basic.toml:5: track names unknown module 'gamma'"],
    ),
    "track-unknown-quiz": (
        "certificates/basic.toml", 6, 'quizzes = ["alpha", "beta"]',
        ["certificates/basic.toml:6: track names unknown quiz 'beta'"],
    ),
    "track-unknown-roleplay": (
        "certificates/basic.toml", 7, 'roleplays = ["alpha"]',
        ["certificates/basic.toml:7: track names unknown role-play 'alpha'"],
    ),
    "prerequisite-cycle": (
        "modules/alpha.md", 7, 'requires = ["beta"]',
        ["modules/alpha.md:7: prerequisite cycle: alpha -> beta -> alpha"],
    ),
    "requires-unknown-module": (
        "modules/beta.md", 7, 'requires = ["alpha", "gamma"]',
        ["modules/beta.md:7: requires unknown module 'gamma'"],
    ),
    "requires-itself": (
        "modules/beta.md", 7, 'requires = ["beta"]',
        ["modules/beta.md:7: a module cannot require itself"],
    ),
    "duplicate-module-order": (
        "modules/beta.md", 3, "order = 1",
        ["modules/beta.md:3: order 1 is also used by 'alpha'"],
    ),
    "bad-toml-in-quiz": (
        "quizzes/alpha.quiz.toml", 12, 'prompt = "Pick the right one.',
        ["quizzes/alpha.quiz.toml:12: invalid TOML: "],
    ),
    "bad-toml-in-front-matter": (
        "modules/alpha.md", 4, "minutes = ",
        ["modules/alpha.md:4: invalid TOML: "],
    ),
    "questions-per-attempt-above-bank": (
        "quizzes/alpha.quiz.toml", 4, "questions_per_attempt = 3",
        ["quizzes/alpha.quiz.toml:4: 'questions_per_attempt' is 3 but the bank has only 2 "
         "questions"],
    ),
    "pass-percent-out-of-range": (
        "quizzes/alpha.quiz.toml", 3, "pass_percent = 101",
        ["quizzes/alpha.quiz.toml:3: 'pass_percent' must be between 1 and 100, not 101"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_names_its_file_and_line(tmp_path: Path, case: str) -> None:
    rel, line, new, expected = CASES[case]
    files = {**FILES, rel: swap(FILES[rel], line, new)}
    found = problems(write_tree(tmp_path, files))
    # a file that fails to parse is missing from the cross-checks, which may then report other
    # files naming it; the changed file itself reports exactly the expected problems
    own = [p for p in found if p.startswith(f"{rel}:")]
    if expected[0].endswith("invalid TOML: "):
        # the parser's own wording follows; the place must be exact
        assert len(own) == 1, found
        assert own[0].startswith(expected[0]), found
        assert len(own[0]) > len(expected[0])
    else:
        assert own == expected, found
    for other in found:
        if other not in own:
            assert " unknown " in other, found


def test_problems_are_collected_from_every_file_at_once(tmp_path: Path) -> None:
    files = {
        **FILES,
        "quizzes/alpha.quiz.toml": swap(swap(QUIZ, 26, 'id = "q-one"'), 22, "  correct = true"),
        "quizzes/beta.roleplay.toml": swap(ROLEPLAY, 14, "meets_score = 5"),
        "modules/beta.md": swap(BETA, 7, 'requires = ["gamma"]'),
    }
    found = problems(write_tree(tmp_path, files))
    assert "quizzes/alpha.quiz.toml:8: question 'q-one' is 'single' but has 2 correct options" \
        in found
    assert "quizzes/alpha.quiz.toml:26: duplicate id 'q-one' (first used on line 9)" in found
    assert ("quizzes/beta.roleplay.toml:16: criterion 'listens' has no level with score 5 "
            "(the rubric's meets_score)") in found
    assert "modules/beta.md:7: requires unknown module 'gamma'" in found
    assert found == sorted(found, key=lambda p: (p.split(":")[0], int(p.split(":")[1])))


def test_front_matter_not_closed(tmp_path: Path) -> None:
    files = {**FILES, "modules/alpha.md": swap(ALPHA, 8, "")}
    found = problems(write_tree(tmp_path, files))
    assert "modules/alpha.md:1: front matter is not closed by a +++ line" in found


def test_front_matter_missing(tmp_path: Path) -> None:
    files = {**FILES, "modules/alpha.md": "# Alpha\n\nNo front matter.\n"}
    found = problems(write_tree(tmp_path, files))
    assert "modules/alpha.md:1: a module starts with TOML front matter between +++ lines" in found


def test_module_without_body(tmp_path: Path) -> None:
    files = {**FILES, "modules/beta.md": "\n".join(BETA.split("\n")[:8]) + "\n\n\n"}
    found = problems(write_tree(tmp_path, files))
    assert "modules/beta.md:9: the module has no lesson text after the front matter" in found
    assert [p for p in found if p.startswith("modules/")] == [
        "modules/beta.md:9: the module has no lesson text after the front matter"]


def test_stray_toml_in_quizzes(tmp_path: Path) -> None:
    files = {**FILES, "quizzes/x.toml": QUIZ}
    found = problems(write_tree(tmp_path, files))
    assert found == ["quizzes/x.toml:1: quiz files end in .quiz.toml, role-plays in "
                     ".roleplay.toml, calibration anchors in .calibration.toml"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    (tmp_path / "quizzes/alpha.quiz.toml").write_bytes(QUIZ.replace("Right", "R\xe9ussi")
                                                       .encode("latin-1"))
    found = problems(tmp_path)
    assert "quizzes/alpha.quiz.toml:1: the file is not valid UTF-8" in found


def test_multiline_strings_do_not_shift_lines(tmp_path: Path) -> None:
    """A key inside a multi-line string is text, not a key: later lines stay right."""
    quiz = QUIZ.replace('explanation = "Because it is right."',
                        'explanation = """\nid = "not-a-key"\nBecause it is right."""')
    # the explanation now spans lines 13-15, so the second question's id is on line 28
    quiz = swap(quiz, 28, 'id = "q-one"')
    files = {**FILES, "quizzes/alpha.quiz.toml": quiz}
    found = problems(write_tree(tmp_path, files))
    assert [p for p in found if p.startswith("quizzes/")] == [
        "quizzes/alpha.quiz.toml:28: duplicate id 'q-one' (first used on line 9)"]


# --- the commands --------------------------------------------------------------------------

def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def content_app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path, CONTENT_ROOT=tmp_path / "content")


@pytest.fixture
def copied(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """An app whose CONTENT_ROOT is a copy of the real content, on the synced test database."""
    root = tmp_path / "content"
    for folder in ("modules", "quizzes", "certificates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    application = content_app(database_url, tmp_path)
    # the test database was synced when the run began; bring it to the copy as it is now
    baseline = invoke(application, "courseware", "sync")
    assert baseline.exit_code == 0, baseline.output
    yield application, root
    application.extensions["courseware.db"].engine.dispose()


def test_check_on_the_real_content(app: Flask) -> None:
    result = invoke(app, "courseware", "check")
    assert result.exit_code == 0, result.output
    real = load_catalogue(PROJECT_ROOT)
    assert (f"ok: {len(real.modules)} modules, {len(real.quizzes)} quizzes, "
            f"{len(real.roleplays)} role-plays, {len(real.tracks)} tracks, "
            f"{len(real.calibrations)} calibrations") in result.output
    for warning in real.warnings:
        assert f"{warning}\n" in result.output


def test_check_prints_warnings_but_succeeds(database_url: str, tmp_path: Path) -> None:
    # every true/false question keyed True: a warning, not a problem
    quiz = QUIZ + "".join(
        f'\n[[questions]]\nid = "tf-{n}"\nkind = "true_false"\nprompt = "Claim number {n}."\n'
        'explanation = "So."\n\n  [[questions.options]]\n  text = "True"\n  correct = true\n'
        '  feedback = "Yes."\n\n  [[questions.options]]\n  text = "False"\n  correct = false\n'
        '  feedback = "No."\n' for n in range(3))
    write_tree(tmp_path / "content", {**FILES, "quizzes/alpha.quiz.toml": quiz})
    application = content_app(database_url, tmp_path)
    result = invoke(application, "courseware", "check")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "quizzes/alpha.quiz.toml:8: warning: True is the right answer in 4 of 4 true/false "
        "questions (100%); keep it between 40% and 60%",
        "ok: 2 modules, 1 quizzes, 1 role-plays, 1 tracks, 0 calibrations (1 warning)",
    ]
    # sync loads the same tree without repeating the advice
    result = invoke(application, "courseware", "sync")
    assert result.exit_code == 0 and "warning" not in result.output


def test_check_refuses_a_course_country_without_crisis_lines(database_url: str,
                                                             tmp_path: Path) -> None:
    write_tree(tmp_path / "content", {
        **FILES, "modules/crisis-lines.toml": (PROJECT_ROOT / "modules/crisis-lines.toml")
        .read_text(encoding="utf-8")})
    nz = make_app(database_url, tmp_path, CONTENT_ROOT=tmp_path / "content", COURSE_COUNTRY="NZ")
    result = invoke(nz, "courseware", "check")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "modules/crisis-lines.toml:1: COURSE_COUNTRY is 'NZ', which this file does not define "
        "(defined: AU, CA, GB, IE, US)",
        "1 problem found",
    ]


def test_check_on_a_broken_tree(database_url: str, tmp_path: Path) -> None:
    files = {
        **FILES,
        "quizzes/alpha.quiz.toml": swap(QUIZ, 26, 'id = "q-one"'),
        "certificates/basic.toml": swap(TRACK, 7, 'roleplays = ["alpha"]'),
    }
    write_tree(tmp_path / "content", files)
    application = content_app(database_url, tmp_path)
    try:
        result = invoke(application, "courseware", "check")
        assert result.exit_code == 1
        lines = result.output.splitlines()
        assert lines == [
            # the quiz with a problem is left out, so the track's reference to it fails too
            "certificates/basic.toml:6: track names unknown quiz 'alpha'",
            "certificates/basic.toml:7: track names unknown role-play 'alpha'",
            "quizzes/alpha.quiz.toml:26: duplicate id 'q-one' (first used on line 9)",
            "3 problems found",
        ]
        # sync refuses the same tree and changes nothing
        result = invoke(application, "courseware", "sync")
        assert result.exit_code == 1
        assert result.output.splitlines() == lines
        with application.app_context(), \
                application.extensions["courseware.db"].session(write=False) as s:
            assert s.scalar(select(func.count()).select_from(ContentItem)
                            .where(ContentItem.slug == "alpha")) == 0
    finally:
        application.extensions["courseware.db"].engine.dispose()


def versions(app: Flask) -> dict[tuple[str, str], tuple[int, int, bool]]:
    """(kind, slug) -> (current version number, number of versions, active)."""
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        counts = dict(s.execute(select(ContentVersion.item_id, func.count())
                                .group_by(ContentVersion.item_id)).all())
        return {
            (item.kind, item.slug): (item.current_version.number if item.current_version else 0,
                                     counts.get(item.id, 0), item.active)
            for item in s.scalars(select(ContentItem))
        }


@functools.cache
def all_items() -> int:
    """How many items the real content syncs (modules, quizzes, role-plays, tracks and the
    role-plays' calibration sets)."""
    real = load_catalogue(PROJECT_ROOT)
    return len(real.modules) + len(real.quizzes) + len(real.roleplays) + len(real.tracks) + \
        len(real.calibrations)


def sync_audits(app: Flask) -> int:
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "content.sync")) or 0


def test_sync_reports_counts_and_is_idempotent(copied: tuple[Flask, Path]) -> None:
    app, root = copied
    audits = sync_audits(app)
    result = invoke(app, "courseware", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"0 added, 0 updated, {all_items()} unchanged, 0 retired"
    (root / "modules/extra.md").write_text(ALPHA.replace("order = 1", "order = 99"),
                                           encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "  added: module extra", f"1 added, 0 updated, {all_items()} unchanged, 0 retired"]
    before = versions(app)
    assert before[("module", "extra")] == (1, 1, True)
    result = invoke(app, "courseware", "sync")
    assert result.output.strip() == f"0 added, 0 updated, {all_items() + 1} unchanged, 0 retired"
    assert versions(app) == before
    # only the sync that changed something is audited
    assert sync_audits(app) == audits + 1


def test_editing_a_quiz_makes_a_new_version_of_that_quiz_only(
    copied: tuple[Flask, Path],
) -> None:
    app, root = copied
    before = versions(app)
    assert len(before) == all_items() and all(active for *_, active in before.values())
    number, count, _ = before[("quiz", "foundations")]
    path = root / "quizzes/foundations.quiz.toml"
    original = path.read_text(encoding="utf-8")
    assert original.count("What is the best reply?") >= 1
    path.write_text(original.replace("What is the best reply?", "Which reply is best?", 1),
                    encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "  updated: quiz foundations",
        f"0 added, 1 updated, {all_items() - 1} unchanged, 0 retired"]
    after = versions(app)
    assert after[("quiz", "foundations")] == (count + 1, count + 1, True)
    assert {k: v for k, v in after.items() if k != ("quiz", "foundations")} == \
        {k: v for k, v in before.items() if k != ("quiz", "foundations")}
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        item = s.scalar(select(ContentItem).where(ContentItem.kind == "quiz",
                                                  ContentItem.slug == "foundations"))
        assert item is not None and item.current_version is not None
        prompts = [q["prompt"] for q in item.current_version.data["questions"]]
        assert any("Which reply is best?" in p for p in prompts)
        old = s.scalar(select(ContentVersion).where(ContentVersion.item_id == item.id,
                                                    ContentVersion.number == number))
        assert old is not None
        assert any("What is the best reply?" in q["prompt"] for q in old.data["questions"])

    # reverting the edit points back at the earlier version without making another
    path.write_text(original, encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert result.output.splitlines() == [
        "  updated: quiz foundations",
        f"0 added, 1 updated, {all_items() - 1} unchanged, 0 retired"]
    assert versions(app)[("quiz", "foundations")] == (number, count + 1, True)
    result = invoke(app, "courseware", "sync")
    assert result.output.strip() == f"0 added, 0 updated, {all_items()} unchanged, 0 retired"


def test_removing_a_file_retires_its_item(copied: tuple[Flask, Path]) -> None:
    app, root = copied
    before = versions(app)
    roleplay_text = (root / "quizzes/referral.roleplay.toml").read_text(encoding="utf-8")
    (root / "quizzes/referral.roleplay.toml").unlink()
    # calibration anchors name their role-play: they go with it, and their item retires too
    anchors = root / "quizzes/referral.calibration.toml"
    anchors_text = anchors.read_text(encoding="utf-8")
    anchors.unlink()
    track = root / "certificates/certified-peer-mentor.toml"
    text = track.read_text(encoding="utf-8")
    needle = 'roleplays = ["active-listening", "boundaries", "crisis-response", "referral"]'
    assert needle in text
    track.write_text(text.replace(
        needle, 'roleplays = ["active-listening", "boundaries", "crisis-response"]'),
        encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "  updated: track certified-peer-mentor",
        "  retired: roleplay referral",
        "  retired: calibration referral",
        f"0 added, 1 updated, {all_items() - 3} unchanged, 2 retired",
    ]
    after = versions(app)
    roleplay = before[("roleplay", "referral")]
    track_number, track_count, _ = before[("track", "certified-peer-mentor")]
    assert after[("roleplay", "referral")] == (*roleplay[:2], False)
    assert after[("track", "certified-peer-mentor")] == (track_count + 1, track_count + 1, True)
    assert after[("module", "referral")] == before[("module", "referral")]
    # a retired item keeps its history and comes back as it was when its file returns
    (root / "quizzes/referral.roleplay.toml").write_text(roleplay_text, encoding="utf-8")
    anchors.write_text(anchors_text, encoding="utf-8")
    track.write_text(text, encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert "0 added, 3 updated" in result.output
    after = versions(app)
    assert after[("roleplay", "referral")] == roleplay
    assert after[("track", "certified-peer-mentor")] == (track_number, track_count + 1, True)


def test_sync_with_a_small_tree_retires_everything_else(database_url: str,
                                                       tmp_path: Path) -> None:
    write_tree(tmp_path / "content", FILES)
    application = content_app(database_url, tmp_path)
    try:
        result = invoke(application, "courseware", "sync")
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == f"5 added, 0 updated, 0 unchanged, " \
            f"{all_items()} retired"
        for name in ("module alpha", "module beta", "quiz alpha", "roleplay beta",
                     "track basic"):
            assert f"  added: {name}" in result.output.splitlines()
        active = {k for k, v in versions(application).items() if v[2]}
        assert active == {("module", "alpha"), ("module", "beta"), ("quiz", "alpha"),
                          ("roleplay", "beta"), ("track", "basic")}
    finally:
        application.extensions["courseware.db"].engine.dispose()


# --- rendering -----------------------------------------------------------------------------

HOSTILE = """\
## First part

<script>alert("x")</script>

<img src="x.png" onerror="alert(1)">

[a bad link](javascript:alert(1)) and [a good link](https://example.org/page).

<a href="javascript:alert(2)" onclick="alert(3)">raw link</a>

### A detail

<iframe src="https://evil.example"></iframe><div style="color:red" onmouseover="alert(4)">x</div>

## Second part

Plain **strong** text.
"""


def _assert_safe(body: str) -> None:
    lowered = body.lower()
    for bad in ("<script", "onerror", "onclick", "onmouseover", "javascript:", "<iframe",
                "<img", "style=", 'alert("x")'):
        assert bad not in lowered, (bad, body)


def test_render_markdown_sanitises() -> None:
    rendered = render_markdown(HOSTILE)
    _assert_safe(rendered.html)
    assert '<a href="https://example.org/page" rel="noopener noreferrer">a good link</a>' \
        in rendered.html
    assert "<strong>strong</strong>" in rendered.html
    assert ">a bad link</a>" in rendered.html or "a bad link" in rendered.html


def test_render_markdown_heading_ids_and_toc() -> None:
    rendered = render_markdown(HOSTILE)
    assert '<h2 id="first-part">First part</h2>' in rendered.html
    assert '<h3 id="a-detail">A detail</h3>' in rendered.html
    assert '<h2 id="second-part">Second part</h2>' in rendered.html
    assert rendered.toc == (
        {"id": "first-part", "title": "First part", "level": 2, "children": [
            {"id": "a-detail", "title": "A detail", "level": 3, "children": []}]},
        {"id": "second-part", "title": "Second part", "level": 2, "children": []},
    )


def test_render_markdown_toc_unescapes_titles_and_keeps_ids_unique() -> None:
    rendered = render_markdown("## Q & A\n\ntext\n\n## Q & A\n\nmore\n")
    ids = [entry["id"] for entry in rendered.toc]
    assert len(set(ids)) == 2
    assert [entry["title"] for entry in rendered.toc] == ["Q & A", "Q & A"]
    for ident in ids:
        assert f'id="{ident}"' in rendered.html


def test_render_shift_headings() -> None:
    rendered = render_markdown("# Title\n\nText.", shift_headings=True)
    assert "<h2" in rendered.html and "<h1" not in rendered.html


def test_synced_module_body_is_sanitised(copied: tuple[Flask, Path]) -> None:
    app, root = copied
    (root / "modules/extra.md").write_text(
        "\n".join(ALPHA.split("\n")[:8]).replace("order = 1", "order = 99") + "\n\n" + HOSTILE,
        encoding="utf-8")
    result = invoke(app, "courseware", "sync")
    assert result.exit_code == 0, result.output
    with app.app_context(), app.extensions["courseware.db"].session(write=False) as s:
        item = s.scalar(select(ContentItem).where(ContentItem.kind == "module",
                                                  ContentItem.slug == "extra"))
        assert item is not None and item.current_version is not None
        data = item.current_version.data
    _assert_safe(data["body_html"])
    assert '<h2 id="first-part">First part</h2>' in data["body_html"]
    assert [entry["id"] for entry in data["toc"]] == ["first-part", "second-part"]
    assert data["toc"][0]["children"][0]["id"] == "a-detail"
    # the source keeps the text as written; only the HTML is cleaned
    assert "<script>" in data["body"]
