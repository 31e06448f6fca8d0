"""How far graders agree: plain functions over levels, for the reliability report.

A *pair* is two levels given to the same thing (one criterion of one piece of work) by two
graders, or by a grader and the reference. A *unit* is one criterion of one piece of work with
the levels every grader gave it (None where a grader gave none).

- exact agreement: the share of pairs with the same level;
- adjacent agreement: the share of pairs at most one level apart;
- severity: the mean of (first level - second level); below 0, the first grader is harsher;
- quadratic weighted kappa (Cohen 1968): 1 - sum(w O) / sum(w E) over the two graders'
  contingency table O, its chance expectation E from the margins, and weights
  w = (i - j)^2 / (k - 1)^2 over the k points of the integer scale;
- Krippendorff's alpha: 1 - D_o / D_e, observed over expected disagreement of the pairable
  values, for any number of graders and missing values; the ordinal metric weighs a difference
  by how many values were observed between the two levels (Krippendorff 2011);
- a bootstrap interval for alpha: units resampled with replacement, seeded, so the same data
  always gives the same interval.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum

Pair = tuple[int, int]
Unit = Sequence[int | None]


class Metric(StrEnum):
    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    INTERVAL = "interval"
    RATIO = "ratio"


def exact_agreement(pairs: Sequence[Pair]) -> float | None:
    """The share (0-1) of pairs with the same level; None without pairs."""
    return sum(1 for a, b in pairs if a == b) / len(pairs) if pairs else None


def adjacent_agreement(pairs: Sequence[Pair], within: int = 1) -> float | None:
    """The share (0-1) of pairs at most `within` levels apart; None without pairs."""
    return sum(1 for a, b in pairs if abs(a - b) <= within) / len(pairs) if pairs else None


def severity(pairs: Sequence[Pair]) -> float | None:
    """The mean level difference (first - second); negative when the first is harsher."""
    return sum(a - b for a, b in pairs) / len(pairs) if pairs else None


def quadratic_weighted_kappa(pairs: Sequence[Pair],
                             scale: Sequence[int] | None = None) -> float | None:
    """Cohen's weighted kappa with quadratic weights for two graders.

    `scale` is the integer scale's points (default: every integer from the lowest to the highest
    level given). None when it is undefined: no pairs, a one-point scale, or no variation.
    """
    if not pairs:
        return None
    points = sorted(scale) if scale else list(range(min(min(p) for p in pairs),
                                                    max(max(p) for p in pairs) + 1))
    k = len(points)
    if k < 2:
        return None
    index = {value: i for i, value in enumerate(points)}
    observed = Counter((index[a], index[b]) for a, b in pairs)
    rows = Counter(index[a] for a, _ in pairs)
    cols = Counter(index[b] for _, b in pairs)
    n = len(pairs)

    def weight(i: int, j: int) -> float:
        return (i - j) ** 2 / (k - 1) ** 2

    disagreement = sum(weight(i, j) * count for (i, j), count in observed.items())
    chance = sum(weight(i, j) * rows[i] * cols[j] / n for i in rows for j in cols)
    if chance == 0:
        return None
    return 1 - disagreement / chance


# --- Krippendorff's alpha -----------------------------------------------------------------------

Coincidences = dict[tuple[int, int], float]


def _unit_coincidences(unit: Unit) -> Coincidences | None:
    """One unit's share of the coincidence matrix (None when it has fewer than two values)."""
    values = [v for v in unit if v is not None]
    m = len(values)
    if m < 2:
        return None
    found: Coincidences = defaultdict(float)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if i != j:
                found[(a, b)] += 1 / (m - 1)
    return found


def _delta(metric: Metric, totals: dict[int, float]) -> Callable[[int, int], float]:
    """The squared difference function of the metric, over the values' marginal totals."""
    if metric is Metric.NOMINAL:
        return lambda c, k: 0.0 if c == k else 1.0
    if metric is Metric.INTERVAL:
        return lambda c, k: float((c - k) ** 2)
    if metric is Metric.RATIO:
        return lambda c, k: ((c - k) / (c + k)) ** 2 if c + k else 0.0
    ordered = sorted(totals)
    position = {value: i for i, value in enumerate(ordered)}
    cumulative = [0.0]
    for value in ordered:
        cumulative.append(cumulative[-1] + totals[value])

    def ordinal(c: int, k: int) -> float:
        low, high = sorted((position[c], position[k]))
        between = cumulative[high + 1] - cumulative[low]  # n_g for g from c to k, inclusive
        return (between - (totals[c] + totals[k]) / 2) ** 2

    return ordinal


def _alpha(matrix: Coincidences, metric: Metric) -> float | None:
    totals: dict[int, float] = defaultdict(float)
    for (c, _k), count in matrix.items():
        totals[c] += count
    n = sum(totals.values())
    if n <= 1:
        return None
    delta = _delta(metric, totals)
    observed = sum(count * delta(c, k) for (c, k), count in matrix.items())
    expected = sum(totals[c] * totals[k] * delta(c, k) for c in totals for k in totals) / (n - 1)
    if expected == 0:
        return None  # no variation among the values: alpha is undefined
    return 1 - observed / expected


def _sum(parts: Iterable[Coincidences]) -> Coincidences:
    matrix: Coincidences = defaultdict(float)
    for part in parts:
        for key, count in part.items():
            matrix[key] += count
    return matrix


def krippendorff_alpha(units: Sequence[Unit], metric: Metric = Metric.ORDINAL) -> float | None:
    """Krippendorff's alpha over units of any number of graders with missing values (None).

    Units with fewer than two values are not pairable and do not count. None when undefined
    (no pairable values, or no variation among them).
    """
    parts = [p for p in map(_unit_coincidences, units) if p is not None]
    return _alpha(_sum(parts), metric) if parts else None


def bootstrap_alpha(units: Sequence[Unit], metric: Metric = Metric.ORDINAL, *,
                    samples: int = 1000, seed: int = 2011,
                    confidence: float = 0.95) -> tuple[float, float] | None:
    """A percentile bootstrap interval for alpha, resampling the pairable units.

    Seeded: the same units always give the same interval. None when fewer than two units are
    pairable or alpha is undefined in most resamples.
    """
    parts = [p for p in map(_unit_coincidences, units) if p is not None]
    if len(parts) < 2:
        return None
    draw = random.Random(seed)
    found = []
    for _ in range(samples):
        value = _alpha(_sum(draw.choice(parts) for _ in parts), metric)
        if value is not None:
            found.append(value)
    if len(found) < samples / 2:
        return None
    found.sort()
    tail = (1 - confidence) / 2
    low = found[max(0, math.floor(tail * len(found)))]
    high = found[min(len(found) - 1, math.ceil((1 - tail) * len(found)) - 1)]
    return low, high
