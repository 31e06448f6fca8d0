"""Calibration anchors: quizzes/<slug>.calibration.toml.

Sample answers to a role-play, each with the level it deserves on every rubric criterion and why.
Trainers grade them to check that they agree with each other and with the rubric. Here they are
parsed and validated only; whether the levels fit the role-play is checked with the catalogue.
"""

from __future__ import annotations

from typing import Any

from courseware.domain import rubric as rubric_rules
from courseware.domain.content.model import (
    ANCHOR_KINDS,
    AnchorLevelSpec,
    AnchorSpec,
    CalibrationSpec,
    RoleplaySpec,
)
from courseware.domain.content.reader import INT, TABLES, TEXT, TEXTS, Reader, open_toml
from courseware.domain.content.source import Located, Problem

MIN_ANCHORS = 3


def parse_calibration(path: str, slug: str,
                      text: str) -> tuple[CalibrationSpec | None, list[Problem]]:
    reader, problems = open_toml(path, text)
    if reader is None:
        return None, problems
    data = reader.fields(reader.doc.data, (), {"roleplay": TEXT, "anchors": TABLES},
                         {"exact_agreement_percent": INT, "adjacent_agreement_percent": INT})
    if data is None:
        return None, problems
    data = {"exact_agreement_percent": 70, "adjacent_agreement_percent": 95, **data}
    _agreement_ok(reader, data)
    anchors = [a for i, t in enumerate(data["anchors"]) if (a := _anchor(reader, t, i))]
    reader.unique_ids(data["anchors"], "anchors")
    _anchor_mix_ok(reader, data["anchors"])
    if problems:
        return None, problems
    spec = CalibrationSpec(
        slug=slug, roleplay=data["roleplay"].strip(), anchors=tuple(anchors),
        exact_agreement_percent=data["exact_agreement_percent"],
        adjacent_agreement_percent=data["adjacent_agreement_percent"],
    )
    return spec, problems


def _agreement_ok(reader: Reader, data: dict[str, Any]) -> None:
    exact = reader.int_range(data, "exact_agreement_percent", 1, 100)
    adjacent = reader.int_range(data, "adjacent_agreement_percent", 1, 100)
    if exact and adjacent and data["adjacent_agreement_percent"] < data["exact_agreement_percent"]:
        # agreeing within one level includes agreeing exactly, so it cannot be rarer
        reader.add("'adjacent_agreement_percent' cannot be below 'exact_agreement_percent'",
                   "adjacent_agreement_percent")


def _anchor(reader: Reader, table: Any, index: int) -> AnchorSpec | None:
    where = ("anchors", index)
    data = reader.fields(table, where, {"id": TEXT, "kind": TEXT, "title": TEXT,
                                        "replies": TEXTS, "levels": TABLES})
    if data is None:
        return None
    levels = []
    for l_index, level in enumerate(data["levels"]):
        lv = reader.fields(level, (*where, "levels", l_index),
                           {"criterion": TEXT, "score": INT, "rationale": TEXT})
        if lv is None:
            return None
        levels.append(AnchorLevelSpec(criterion=lv["criterion"].strip(), score=lv["score"],
                                      rationale=lv["rationale"].strip()))
    if data["kind"] not in ANCHOR_KINDS:
        reader.add(f"anchor '{data['id']}': kind must be one of {', '.join(ANCHOR_KINDS)}, "
                   f"not '{data['kind']}'", *where, "kind")
        return None
    return AnchorSpec(id=data["id"], kind=data["kind"], title=data["title"].strip(),
                      replies=tuple(r.strip() for r in data["replies"]), levels=tuple(levels))


def _anchor_mix_ok(reader: Reader, tables: list[dict[str, Any]]) -> None:
    """At least MIN_ANCHORS anchors, one of each kind (counted as written, so that one anchor's
    own problem is not reported again as a missing anchor)."""
    where = ("anchors", 0)
    if len(tables) < MIN_ANCHORS:
        reader.add(f"a calibration needs at least {MIN_ANCHORS} [[anchors]], not {len(tables)}",
                   *where)
    kinds = {t.get("kind") for t in tables}
    missing = [kind for kind in ANCHOR_KINDS if kind not in kinds]
    if missing:
        reader.add("a calibration needs at least one anchor of each kind; missing: "
                   + ", ".join(missing), *where)


# --- against the role-play ---------------------------------------------------------------------

def check_calibration(spec: CalibrationSpec, roleplays: dict[str, RoleplaySpec],
                      doc: Located) -> list[Problem]:
    """Problems with the anchors as answers to their role-play, graded by its rubric."""
    roleplay = roleplays.get(spec.roleplay)
    if roleplay is None:
        return [doc.problem(f"calibration for unknown role-play '{spec.roleplay}'", "roleplay")]
    problems: list[Problem] = []
    for index, anchor in enumerate(spec.anchors):
        problems.extend(_anchor_fits(anchor, index, roleplay, doc))
    return problems


def _anchor_fits(anchor: AnchorSpec, index: int, roleplay: RoleplaySpec,
                 doc: Located) -> list[Problem]:
    where = ("anchors", index)
    problems = []
    if len(anchor.replies) != len(roleplay.lines):
        problems.append(doc.problem(
            f"anchor '{anchor.id}' has {len(anchor.replies)} replies, but the role-play has "
            f"{len(roleplay.lines)} mentee lines: write one reply per line", *where, "replies"))
    level_problems = _levels_fit(anchor, index, roleplay, doc)
    if level_problems:
        return problems + level_problems
    return problems + _kind_fits(anchor, index, roleplay, doc)


def _levels_fit(anchor: AnchorSpec, index: int, roleplay: RoleplaySpec,
                doc: Located) -> list[Problem]:
    criteria = {c.id: c for c in roleplay.rubric.criteria}
    problems = []
    seen: set[str] = set()
    for l_index, level in enumerate(anchor.levels):
        at = ("anchors", index, "levels", l_index)
        criterion = criteria.get(level.criterion)
        if criterion is None:
            problems.append(doc.problem(f"anchor '{anchor.id}': '{level.criterion}' is not a "
                                        "criterion of the role-play's rubric", *at, "criterion"))
        elif level.criterion in seen:
            problems.append(doc.problem(f"anchor '{anchor.id}' gives '{level.criterion}' a "
                                        "level twice", *at, "criterion"))
        elif criterion.level(level.score) is None:
            scores = ", ".join(str(lv.score) for lv in criterion.levels)
            problems.append(doc.problem(f"anchor '{anchor.id}': {level.score} is not a level "
                                        f"score of '{level.criterion}' ({scores})",
                                        *at, "score"))
        seen.add(level.criterion)
    missing = [c for c in criteria if c not in seen]
    if missing:
        problems.append(doc.problem(f"anchor '{anchor.id}' has no level for: "
                                    + ", ".join(missing), "anchors", index))
    return problems


def _kind_fits(anchor: AnchorSpec, index: int, roleplay: RoleplaySpec,
               doc: Located) -> list[Problem]:
    """A pass anchor passes the rubric rule; a critical-fail anchor fails a critical criterion."""
    rubric = roleplay.rubric
    outcome = rubric_rules.rubric_outcome(rubric, anchor.scores())
    if anchor.kind == "pass" and not outcome.passed:
        return [doc.problem(f"anchor '{anchor.id}' is a pass anchor, but its levels do not pass "
                            f"the rubric ({_why(outcome)})", "anchors", index, "kind")]
    if anchor.kind == "critical-fail" and not outcome.critical_failed:
        return [doc.problem(f"anchor '{anchor.id}' is a critical-fail anchor, but no critical "
                            f"criterion is below meets_score ({rubric.meets_score})",
                            "anchors", index, "kind")]
    return []


def _why(outcome: rubric_rules.RubricOutcome) -> str:
    reasons = []
    if outcome.below_threshold:
        reasons.append(f"{outcome.total} of {outcome.max_total} points is below "
                       f"{outcome.pass_percent}%")
    if outcome.critical_failed:
        reasons.append("a critical criterion is below meets_score")
    if outcome.below_minimum:
        reasons.append("a criterion is below its min_score")
    return "; ".join(reasons)
