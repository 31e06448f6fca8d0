"""The rubric rule (courseware/rubric.py) over generated rubrics and levels.

Rubrics are generated the way the content parser accepts them: at least one criterion, each with
at least two levels in strictly ascending, non-negative scores that include the rubric's
`meets_score`; random critical flags; `pass_percent` in 1..100.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from courseware.domain.content.model import CriterionSpec, LevelSpec, RubricSpec
from courseware.domain.rubric import RubricError, check_levels, comment_required, rubric_outcome

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rubrics(draw: st.DrawFn) -> RubricSpec:
    meets = draw(st.integers(min_value=0, max_value=4))
    count = draw(st.integers(min_value=1, max_value=7))
    criteria = []
    for index in range(count):
        others = draw(st.sets(st.integers(min_value=0, max_value=8), min_size=1, max_size=5))
        scores = sorted(others | {meets})
        if len(scores) < 2:
            scores = sorted({meets, meets + 1})
        criteria.append(CriterionSpec(
            id=f"c{index}", title=f"Criterion {index}",
            critical=draw(st.booleans()),
            levels=tuple(LevelSpec(score=s, label=f"L{s}", descriptor=f"level {s}")
                         for s in scores),
        ))
    return RubricSpec(pass_percent=draw(st.integers(min_value=1, max_value=100)),
                      meets_score=meets, criteria=tuple(criteria))


@st.composite
def rubric_and_levels(draw: st.DrawFn) -> tuple[RubricSpec, dict[str, int]]:
    rubric = draw(rubrics())
    levels = {c.id: draw(st.sampled_from([lv.score for lv in c.levels])) for c in rubric.criteria}
    return rubric, levels


def expected_pass(rubric: RubricSpec, levels: dict[str, int]) -> bool:
    total = sum(levels.values())
    max_total = sum(max(lv.score for lv in c.levels) for c in rubric.criteria)
    critical_ok = all(levels[c.id] >= rubric.meets_score for c in rubric.criteria if c.critical)
    return total * 100 >= rubric.pass_percent * max_total and critical_ok


@SETTINGS
@given(rubric_and_levels())
def test_total_max_and_outcome_follow_the_rule(case: tuple[RubricSpec, dict[str, int]]) -> None:
    rubric, levels = case
    result = rubric_outcome(rubric, levels)
    assert result.total == sum(levels.values())
    assert result.max_total == sum(max(lv.score for lv in c.levels) for c in rubric.criteria)
    assert result.pass_percent == rubric.pass_percent
    assert result.passed is expected_pass(rubric, levels)
    assert result.outcome == ("passed" if expected_pass(rubric, levels) else "returned")
    assert result.below_threshold is (result.total * 100 < rubric.pass_percent * result.max_total)


@SETTINGS
@given(rubric_and_levels())
def test_failing_lists_exactly_the_criteria_below_meets(
    case: tuple[RubricSpec, dict[str, int]],
) -> None:
    rubric, levels = case
    result = rubric_outcome(rubric, levels)
    below = [c for c in rubric.criteria if levels[c.id] < rubric.meets_score]
    assert [f.id for f in result.failing] == [c.id for c in below]
    for failing, criterion in zip(result.failing, below, strict=True):
        assert failing.title == criterion.title
        assert failing.score == levels[criterion.id]
        assert failing.critical is criterion.critical
        assert failing.to_data() == {"id": criterion.id, "title": criterion.title,
                                     "score": levels[criterion.id],
                                     "critical": criterion.critical}


@SETTINGS
@given(rubric_and_levels(), st.data())
def test_raising_one_level_never_turns_a_pass_into_a_fail(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, levels = case
    criterion = data.draw(st.sampled_from(rubric.criteria))
    higher = [lv.score for lv in criterion.levels if lv.score > levels[criterion.id]]
    assume(higher)
    raised = {**levels, criterion.id: data.draw(st.sampled_from(higher))}
    before, after = rubric_outcome(rubric, levels), rubric_outcome(rubric, raised)
    if before.passed:
        assert after.passed
    assert after.total > before.total
    assert {f.id for f in after.failing} <= {f.id for f in before.failing}


@SETTINGS
@given(rubric_and_levels(), st.data())
def test_a_critical_criterion_below_meets_always_fails_and_needs_moderation(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, levels = case
    below = [c for c in rubric.criteria
             if any(lv.score < rubric.meets_score for lv in c.levels)]
    assume(below)
    victim = data.draw(st.sampled_from(below))
    rubric = replace(rubric, criteria=tuple(
        replace(c, critical=True) if c.id == victim.id else c for c in rubric.criteria))
    # every other criterion at its top level: the total alone would pass
    levels = {c.id: max(lv.score for lv in c.levels) for c in rubric.criteria}
    levels[victim.id] = data.draw(st.sampled_from(
        [lv.score for lv in victim.levels if lv.score < rubric.meets_score]))
    result = rubric_outcome(rubric, levels)
    assert result.critical_failed
    assert not result.passed
    assert result.outcome == "returned"
    assert result.needs_moderation
    assert victim.id in {f.id for f in result.failing if f.critical}


@SETTINGS
@given(rubric_and_levels())
def test_moderation_only_when_a_critical_criterion_fails(
    case: tuple[RubricSpec, dict[str, int]],
) -> None:
    rubric, levels = case
    result = rubric_outcome(rubric, levels)
    critical_below = any(c.critical and levels[c.id] < rubric.meets_score
                         for c in rubric.criteria)
    assert result.needs_moderation is critical_below
    assert result.critical_failed is critical_below


@SETTINGS
@given(rubric_and_levels(), st.data())
def test_check_levels_rejects_a_missing_criterion(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, levels = case
    missing = data.draw(st.sampled_from(rubric.criteria))
    partial = {k: v for k, v in levels.items() if k != missing.id}
    with pytest.raises(RubricError, match="choose a level"):
        check_levels(rubric, partial)
    with pytest.raises(RubricError):
        rubric_outcome(rubric, partial)
    check_levels(rubric, levels)  # the complete set is fine


@SETTINGS
@given(rubric_and_levels(), st.integers(min_value=0, max_value=20))
def test_check_levels_rejects_an_unknown_criterion(
    case: tuple[RubricSpec, dict[str, int]], score: int,
) -> None:
    rubric, levels = case
    with pytest.raises(RubricError, match="not a criterion"):
        check_levels(rubric, {**levels, "no-such-criterion": score})
    with pytest.raises(RubricError):
        rubric_outcome(rubric, {**levels, "no-such-criterion": score})


@SETTINGS
@given(rubric_and_levels(), st.data())
def test_check_levels_rejects_an_unknown_level_score(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, levels = case
    criterion = data.draw(st.sampled_from(rubric.criteria))
    scores = {lv.score for lv in criterion.levels}
    bad = data.draw(st.integers(min_value=-5, max_value=30).filter(lambda n: n not in scores))
    with pytest.raises(RubricError, match="no level scored"):
        check_levels(rubric, {**levels, criterion.id: bad})
    with pytest.raises(RubricError):
        rubric_outcome(rubric, {**levels, criterion.id: bad})


@SETTINGS
@given(rubrics(), st.integers(min_value=-3, max_value=12))
def test_comment_required_below_meets_only(rubric: RubricSpec, score: int) -> None:
    assert comment_required(rubric, score) is (score < rubric.meets_score)


def test_a_worked_example() -> None:
    levels = tuple(LevelSpec(s, label, "") for s, label in
                   [(0, "Not yet"), (1, "Developing"), (2, "Meets"), (3, "Exceeds")])
    rubric = RubricSpec(pass_percent=70, meets_score=2, criteria=(
        CriterionSpec("a", "A", False, levels),
        CriterionSpec("b", "B", True, levels),
        CriterionSpec("c", "C", False, levels),
    ))
    # 7/9 = 77.8%: passes, though "a" is below meets (not critical): named, still passed
    result = rubric_outcome(rubric, {"a": 1, "b": 3, "c": 3})
    assert (result.total, result.max_total, result.passed) == (7, 9, True)
    assert [f.id for f in result.failing] == ["a"]
    assert result.percent == pytest.approx(700 / 9)
    # 6/9 = 66.7%: below 70
    result = rubric_outcome(rubric, {"a": 2, "b": 2, "c": 2})
    assert (result.below_threshold, result.critical_failed, result.outcome) == \
        (True, False, "returned")
    # a critical at 1 with 8/9 total: returned, for moderation
    result = rubric_outcome(rubric, {"a": 3, "b": 1, "c": 3})
    assert result.outcome == "returned" and result.needs_moderation and not result.below_threshold
    # exactly on the threshold passes: 7 * 100 >= 70 * 10
    exact = RubricSpec(70, 2, (CriterionSpec("x", "X", False, tuple(
        LevelSpec(s, str(s), "") for s in (0, 2, 7, 10))),))
    assert rubric_outcome(exact, {"x": 7}).passed
    assert not rubric_outcome(exact, {"x": 2}).passed
