"""The reliability statistics, against published worked examples and with hypothesis."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseware.domain.reliability import (
    Metric,
    adjacent_agreement,
    bootstrap_alpha,
    exact_agreement,
    krippendorff_alpha,
    quadratic_weighted_kappa,
    severity,
)

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania. Section C: four observers (A-D), twelve units,
# values 1-5, None where an observer gave none.
N = None
OBSERVERS = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    "C": [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
}
UNITS = list(zip(*OBSERVERS.values(), strict=True))


def test_krippendorff_2011_values_published_in_the_paper() -> None:
    """The paper works this example for the nominal (.743), interval (.849) and ratio (.797)
    metrics; unit 12 has one value and is not pairable."""
    assert krippendorff_alpha(UNITS, Metric.NOMINAL) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(UNITS, Metric.INTERVAL) == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(UNITS, Metric.RATIO) == pytest.approx(0.797, abs=5e-4)


def _alpha_by_pairs(units: list[tuple[int | None, ...]], delta) -> Fraction:  # type: ignore[no-untyped-def]
    """An independent oracle: alpha straight from its definition over pairs of pairable values,
    in exact fractions (no coincidence matrix): 1 - (n - 1) * sum over units of
    sum_{i != j} delta(v_i, v_j) / (m_u - 1), divided by sum over all i != j of delta."""
    values = [[v for v in u if v is not None] for u in units]
    values = [v for v in values if len(v) >= 2]
    pooled = [v for vs in values for v in vs]
    n = len(pooled)
    within = sum(Fraction(sum(delta(a, b, pooled) for i, a in enumerate(vs)
                              for j, b in enumerate(vs) if i != j), len(vs) - 1)
                 for vs in values)
    between = sum(delta(a, b, pooled) for i, a in enumerate(pooled)
                  for j, b in enumerate(pooled) if i != j)
    return 1 - (n - 1) * within / between


def _ordinal_delta(c: int, k: int, pooled: list[int]) -> Fraction:
    """Krippendorff's ordinal metric: (sum of n_g for g from c to k - (n_c + n_k) / 2)^2."""
    low, high = sorted((c, k))
    between = sum(1 for v in pooled if low <= v <= high)
    return (between - Fraction(pooled.count(c) + pooled.count(k), 2)) ** 2


def test_krippendorff_2011_ordinal_value_derived_from_the_definition() -> None:
    """The paper does not print the ordinal alpha of this example; derived here from its
    definition in exact fractions: 108,577 / 133,160 = 0.815388 (.815 to three places)."""
    expected = _alpha_by_pairs(UNITS, _ordinal_delta)
    assert expected == Fraction(108577, 133160)
    assert krippendorff_alpha(UNITS, Metric.ORDINAL) == pytest.approx(float(expected), abs=1e-12)
    assert round(float(expected), 3) == 0.815


def test_the_bootstrap_interval_is_reproducible_and_holds_alpha() -> None:
    interval = bootstrap_alpha(UNITS, samples=400, seed=7)
    assert interval == bootstrap_alpha(UNITS, samples=400, seed=7)
    assert interval is not None
    low, high = interval
    assert low < 0.815 < high <= 1.0
    assert bootstrap_alpha(UNITS, samples=400, seed=8) != interval  # the seed is used
    assert bootstrap_alpha(UNITS[:1]) is None  # one pairable unit: no interval


def test_quadratic_weighted_kappa_worked_examples() -> None:
    """Maple's EssayTools[QuadraticWeightedKappa] documentation: two graders' essay scores on
    the integer scale of the scores given (1-10): 0.758620689655172 (= 22/29) and
    0.438095238095238 (= 46/105)."""
    first = [9, 7, 8, 7, 6, 8, 3, 5, 10]
    assert quadratic_weighted_kappa(list(zip(first, [8, 8, 6, 6, 7, 6, 1, 4, 8], strict=True))) \
        == pytest.approx(22 / 29, abs=1e-12)
    assert quadratic_weighted_kappa(list(zip(first, [3, 5, 6, 6, 7, 6, 1, 4, 8], strict=True))) \
        == pytest.approx(46 / 105, abs=1e-12)


def test_kappa_on_two_categories_is_cohens_kappa() -> None:
    """Cohen's kappa example (50 proposals read by two readers: 20 yes/yes, 5 yes/no, 10 no/yes,
    15 no/no): observed agreement .7, chance .5, kappa .4. With two categories the quadratic
    weights are 0 and 1, so the weighted kappa is Cohen's."""
    pairs = [(1, 1)] * 20 + [(1, 0)] * 5 + [(0, 1)] * 10 + [(0, 0)] * 15
    assert quadratic_weighted_kappa(pairs) == pytest.approx(0.4)
    assert exact_agreement(pairs) == pytest.approx(0.7)


def test_agreement_and_severity() -> None:
    pairs = [(3, 3), (2, 3), (4, 2), (1, 1)]
    assert exact_agreement(pairs) == 0.5
    assert adjacent_agreement(pairs) == 0.75
    assert severity(pairs) == pytest.approx((0 - 1 + 2 + 0) / 4)
    assert exact_agreement([]) is None and adjacent_agreement([]) is None
    assert severity([]) is None


def test_undefined_values_are_none() -> None:
    assert quadratic_weighted_kappa([]) is None
    assert quadratic_weighted_kappa([(3, 3), (3, 3)]) is None  # a one-point scale
    assert krippendorff_alpha([(3, 3), (3, 3)]) is None  # no variation
    assert krippendorff_alpha([(3, None), (None, 2)]) is None  # nothing pairable


# --- properties ---------------------------------------------------------------------------------

levels = st.integers(min_value=1, max_value=4)
pair_lists = st.lists(st.tuples(levels, levels), min_size=1, max_size=40)


@given(st.lists(levels, min_size=2, max_size=30).filter(lambda v: len(set(v)) > 1))
def test_perfect_agreement_gives_one(values: list[int]) -> None:
    pairs = [(v, v) for v in values]
    assert quadratic_weighted_kappa(pairs, range(1, 5)) == pytest.approx(1.0)
    for metric in Metric:
        assert krippendorff_alpha([(v, v, v) for v in values], metric) == pytest.approx(1.0)
    assert exact_agreement(pairs) == 1.0 and severity(pairs) == 0


@given(pair_lists)
def test_kappa_is_symmetric_and_bounded(pairs: list[tuple[int, int]]) -> None:
    kappa = quadratic_weighted_kappa(pairs, range(1, 5))
    swapped = quadratic_weighted_kappa([(b, a) for a, b in pairs], range(1, 5))
    if kappa is None:
        assert swapped is None
        return
    assert swapped == pytest.approx(kappa)
    assert -1 - 1e-9 <= kappa <= 1 + 1e-9


@given(pair_lists)
def test_agreement_shares_and_severity_relations(pairs: list[tuple[int, int]]) -> None:
    exact, adjacent = exact_agreement(pairs), adjacent_agreement(pairs)
    assert exact is not None and adjacent is not None
    assert 0 <= exact <= adjacent <= 1
    reverse = severity([(b, a) for a, b in pairs])
    assert reverse == pytest.approx(-(severity(pairs) or 0))


units = st.lists(st.lists(st.one_of(st.none(), levels), min_size=2, max_size=4),
                 min_size=1, max_size=25)


@settings(max_examples=60)
@given(units, st.randoms(use_true_random=False))
def test_alpha_ignores_the_order_of_units_and_graders(data: list[list[int | None]],
                                                      rng: random.Random) -> None:
    alpha = krippendorff_alpha(data)
    shuffled = [rng.sample(u, len(u)) for u in rng.sample(data, len(data))]
    again = krippendorff_alpha(shuffled)
    if alpha is None:
        assert again is None
        return
    assert again == pytest.approx(alpha)
    assert alpha <= 1 + 1e-9


@settings(max_examples=40)
@given(units)
def test_alpha_matches_its_definition(data: list[list[int | None]]) -> None:
    alpha = krippendorff_alpha(data)
    pairable = [u for u in data if sum(v is not None for v in u) >= 2]
    pooled = [v for u in pairable for v in u if v is not None]
    if alpha is None:
        assert len(set(pooled)) < 2
        return
    assert alpha == pytest.approx(float(_alpha_by_pairs([tuple(u) for u in data],
                                                        _ordinal_delta)))
