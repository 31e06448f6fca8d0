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

from courseware.domain.content.model import (
    rubric_from_data,
    to_data,
)
from courseware.domain.rubric import (
    CriterionSpec,
    LevelSpec,
    RubricError,
    RubricSpec,
    check_levels,
    comment_required,
    pass_rule,
    rubric_outcome,
)

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


# --- floors: [rubric] min_score and a criterion's own min_score ---------------------------------
#
# Generated the way the parser accepts them: a criterion's own floor is one of its level scores
# and at most meets_score; the rubric's floor is at most meets_score (None: a rubric stored before
# floors existed, which has none).


@st.composite
def floored_rubric_and_levels(draw: st.DrawFn) -> tuple[RubricSpec, dict[str, int]]:
    rubric = draw(rubrics())
    criteria = []
    for criterion in rubric.criteria:
        allowed = [lv.score for lv in criterion.levels if lv.score <= rubric.meets_score]
        own = draw(st.none() | st.sampled_from(allowed))
        criteria.append(replace(criterion, min_score=own))
    floor = draw(st.none() | st.integers(min_value=0, max_value=rubric.meets_score))
    rubric = replace(rubric, criteria=tuple(criteria), min_score=floor)
    levels = {c.id: draw(st.sampled_from([lv.score for lv in c.levels])) for c in rubric.criteria}
    return rubric, levels


def floor_of(rubric: RubricSpec, criterion: CriterionSpec) -> int | None:
    return criterion.min_score if criterion.min_score is not None else rubric.min_score


def expected_pass_with_floors(rubric: RubricSpec, levels: dict[str, int]) -> bool:
    floors_ok = all(levels[c.id] >= (floor_of(rubric, c) or 0) for c in rubric.criteria)
    return expected_pass(rubric, levels) and floors_ok


@SETTINGS
@given(floored_rubric_and_levels())
def test_outcome_with_floors_follows_the_three_part_rule(
    case: tuple[RubricSpec, dict[str, int]],
) -> None:
    rubric, levels = case
    result = rubric_outcome(rubric, levels)
    assert result.passed is expected_pass_with_floors(rubric, levels)
    under = [c.id for c in rubric.criteria
             if floor_of(rubric, c) is not None and levels[c.id] < (floor_of(rubric, c) or 0)]
    assert result.below_minimum is bool(under)
    # the outcome still names exactly the criteria below meets_score (a floor is never above it)
    assert [f.id for f in result.failing] == \
        [c.id for c in rubric.criteria if levels[c.id] < rubric.meets_score]
    assert set(under) <= {f.id for f in result.failing}
    assert result.needs_moderation is result.critical_failed


@SETTINGS
@given(floored_rubric_and_levels(), st.data())
def test_at_the_floor_passes_the_floor_and_one_level_below_fails(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, _ = case
    floored = [c for c in rubric.criteria
               if any(lv.score < (floor_of(rubric, c) or 0) for lv in c.levels)]
    assume(floored)
    victim = data.draw(st.sampled_from(floored))
    floor = floor_of(rubric, victim)
    assert floor is not None
    # everything else at its top level, so only the victim's level can make the difference
    top = {c.id: c.max_score for c in rubric.criteria}
    at_floor = min(lv.score for lv in victim.levels if lv.score >= floor)
    below = max(lv.score for lv in victim.levels if lv.score < floor)
    assert not rubric_outcome(rubric, {**top, victim.id: at_floor}).below_minimum
    result = rubric_outcome(rubric, {**top, victim.id: below})
    assert result.below_minimum and not result.passed and result.outcome == "returned"
    assert victim.id in {f.id for f in result.failing}


@SETTINGS
@given(floored_rubric_and_levels(), st.data())
def test_with_floors_raising_one_level_never_turns_a_pass_into_a_fail(
    case: tuple[RubricSpec, dict[str, int]], data: st.DataObject,
) -> None:
    rubric, levels = case
    criterion = data.draw(st.sampled_from(rubric.criteria))
    higher = [lv.score for lv in criterion.levels if lv.score > levels[criterion.id]]
    assume(higher)
    raised = {**levels, criterion.id: data.draw(st.sampled_from(higher))}
    if rubric_outcome(rubric, levels).passed:
        assert rubric_outcome(rubric, raised).passed


@SETTINGS
@given(floored_rubric_and_levels())
def test_a_stored_rubric_keeps_its_floors_and_an_old_one_has_none(
    case: tuple[RubricSpec, dict[str, int]],
) -> None:
    rubric, levels = case
    assert rubric_from_data(to_data(rubric)) == rubric
    # a version synced before floors existed: no min_score anywhere in its data
    old = to_data(rubric)
    del old["min_score"]
    for criterion in old["criteria"]:
        del criterion["min_score"]
    rebuilt = rubric_from_data(old)
    assert rebuilt.min_score is None
    assert all(c.min_score is None for c in rebuilt.criteria)
    assert rubric_outcome(rebuilt, levels).passed is expected_pass(rubric, levels)


LEVELS = tuple(LevelSpec(s, label, "") for s, label in
               [(1, "Not yet"), (2, "Developing"), (3, "Meets"), (4, "Exceeds")])


def test_floor_worked_example() -> None:
    rubric = RubricSpec(pass_percent=70, meets_score=3, min_score=2, criteria=(
        CriterionSpec("a", "A", False, LEVELS),
        CriterionSpec("b", "B", True, LEVELS),
        CriterionSpec("c", "C", False, LEVELS),
        CriterionSpec("d", "D", False, LEVELS),
    ))
    # 13/16 = 81%, no critical below meets: only the floor fails it ("a" at "Not yet")
    result = rubric_outcome(rubric, {"a": 1, "b": 4, "c": 4, "d": 4})
    assert (result.below_threshold, result.critical_failed, result.below_minimum) == \
        (False, False, True)
    assert result.outcome == "returned" and not result.needs_moderation
    assert [f.id for f in result.failing] == ["a"]
    # at "Developing" the floor holds: 14/16 passes though "a" is named below meets
    result = rubric_outcome(rubric, {"a": 2, "b": 4, "c": 4, "d": 4})
    assert result.passed and [f.id for f in result.failing] == ["a"]
    # a criterion's own floor wins over the rubric's
    strict = replace(rubric, criteria=tuple(
        replace(c, min_score=3) if c.id == "a" else c for c in rubric.criteria))
    assert not rubric_outcome(strict, {"a": 2, "b": 4, "c": 4, "d": 4}).passed
    assert rubric_outcome(strict, {"a": 3, "b": 4, "c": 4, "d": 1}).below_minimum
    # the same levels under a rubric stored without floors pass, as they did then
    assert rubric_outcome(replace(rubric, min_score=None),
                          {"a": 1, "b": 4, "c": 4, "d": 4}).passed


def test_the_pass_rule_in_plain_words() -> None:
    rubric = RubricSpec(pass_percent=70, meets_score=3, min_score=2, criteria=(
        CriterionSpec("a", "Listens", False, LEVELS),
        CriterionSpec("b", "Follows protocol", True, LEVELS),
    ))
    assert pass_rule(rubric) == ("To pass: at least 70% of the points, “Meets” or better on "
                                 "the critical criteria, and no criterion at “Not yet”.")
    assert pass_rule(replace(rubric, min_score=None)) == (
        "To pass: at least 70% of the points and “Meets” or better on the critical criteria.")
    assert pass_rule(replace(rubric, min_score=3)) == (
        "To pass: at least 70% of the points, “Meets” or better on the critical criteria, and "
        "no criterion below “Meets”.")
    mixed = replace(rubric, criteria=(
        CriterionSpec("a", "Listens", False, LEVELS, min_score=3),
        CriterionSpec("c", "Warmth", False, LEVELS),
    ))
    assert pass_rule(mixed) == ("To pass: at least 70% of the points, “Meets” or better on "
                                "“Listens”, and “Developing” or better on “Warmth”.")
