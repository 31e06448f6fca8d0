"""Item statistics for quiz questions, as plain functions over plain data.

For each question version (question id + content hash):
- facility: the share of presentations answered fully correctly (1.0 = everyone right);
- discrimination: the corrected point-biserial correlation between the item's score and the
  rest of the attempt's score (the attempt total minus this item), so an item is not
  correlated with itself;
- option pick rates: the share of presentations in which each option was chosen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_RESPONSES = 10  # fewer answers than this make the figures too noisy to flag
EASY, HARD, POOR_DISCRIMINATION = 0.9, 0.3, 0.2


@dataclass(frozen=True)
class Response:
    question_id: str
    question_hash: str
    points: float  # 0..1 for this item
    attempt_points: float  # the whole attempt's points, this item included
    chosen: Sequence[int]


@dataclass(frozen=True)
class ItemStats:
    question_id: str
    question_hash: str
    answered: int
    facility: float
    discrimination: float | None
    pick_rates: dict[int, float]

    @property
    def flags(self) -> tuple[str, ...]:
        if self.answered < MIN_RESPONSES:
            return ()
        flags = []
        if self.facility > EASY:
            flags.append("very easy")
        if self.facility < HARD:
            flags.append("very hard")
        if self.discrimination is not None and self.discrimination < POOR_DISCRIMINATION:
            flags.append("poor discrimination")
        return tuple(flags)


def point_biserial(item: Sequence[float], rest: Sequence[float]) -> float | None:
    """Pearson correlation of item and rest scores; None when either does not vary."""
    n = len(item)
    if n < 2:
        return None
    mean_i, mean_r = sum(item) / n, sum(rest) / n
    cov = sum((i - mean_i) * (r - mean_r) for i, r in zip(item, rest, strict=True))
    var_i = sum((i - mean_i) ** 2 for i in item)
    var_r = sum((r - mean_r) ** 2 for r in rest)
    if var_i == 0 or var_r == 0:
        return None
    return cov / math.sqrt(var_i * var_r)


def item_statistics(responses: Iterable[Response]) -> list[ItemStats]:
    groups: dict[tuple[str, str], list[Response]] = defaultdict(list)
    for response in responses:
        groups[(response.question_id, response.question_hash)].append(response)
    stats = []
    for (question_id, question_hash), group in sorted(groups.items()):
        n = len(group)
        correct = [1.0 if r.points >= 1 else 0.0 for r in group]
        rest = [r.attempt_points - r.points for r in group]
        picks: dict[int, int] = defaultdict(int)
        for r in group:
            for option in r.chosen:
                picks[option] += 1
        stats.append(ItemStats(
            question_id=question_id, question_hash=question_hash, answered=n,
            facility=sum(correct) / n,
            discrimination=point_biserial(correct, rest),
            pick_rates={option: count / n for option, count in sorted(picks.items())},
        ))
    return stats
