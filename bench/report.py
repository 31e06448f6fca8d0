"""Figures, targets and the printed table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarize(phases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merge the rounds of one load phase: total completions over total window time."""
    latencies = [x for ph in phases for x in ph["latencies_ms"]]
    completed = sum(ph["completed"] for ph in phases)
    window = sum(ph["window_s"] for ph in phases)
    statuses: dict[str, int] = {}
    for ph in phases:
        for status, n in ph["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    errors = sum(n for status, n in statuses.items() if not 200 <= int(status) < 400)
    server_cpu = [ph.get("server_cpu_s") for ph in phases]
    cpu_ms = (1000 * sum(server_cpu) / completed  # type: ignore[arg-type]
              if completed and all(c is not None for c in server_cpu) else math.nan)
    return {
        "rps": completed / window if window else math.nan, "completed": completed,
        # each round's own throughput, in the order the rounds ran (paired with the other side
        # of a comparison round by round: how far one round's ratio strays from the next)
        "round_rps": [ph["completed"] / ph["window_s"] if ph["window_s"] else math.nan
                      for ph in phases],
        "window_s": window, "requests_timed": len(latencies),
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99), "max_ms": max(latencies, default=math.nan),
        "statuses": statuses, "errors": errors,
        "connections": phases[0]["connections"] if phases else 0,
        "client_cpu_share": sum(ph["client_cpu_s"] for ph in phases) / window if window else 0,
        "server_cpu_ms_per_request": cpu_ms,
        "server_cpu_groups_ms_per_request": {
            name: 1000 * sum(ph.get("server_cpu_groups_s", {}).get(name, 0.0) for ph in phases)
            / completed if completed else math.nan
            for name in (phases[0].get("server_cpu_groups_s", {}) if phases else {})},
    }


@dataclass
class Row:
    section: str
    metric: str
    value: str
    target: str = ""
    result: str = ""  # "pass", "FAIL" or "" (information only)
    figure: float | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def info(self, section: str, metric: str, value: str, figure: float | None = None) -> None:
        self.rows.append(Row(section, metric, value, figure=figure))

    def check(self, section: str, metric: str, figure: float, shown: str, target: str,
              ok: Callable[[float], bool]) -> None:
        result = "pass" if not math.isnan(figure) and ok(figure) else "FAIL"
        self.rows.append(Row(section, metric, shown, target, result, figure))

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rows]

    def table(self) -> str:
        widths = [max([len(r.metric) for r in self.rows] + [6]),
                  max([len(r.value) for r in self.rows] + [5]),
                  max([len(r.target) for r in self.rows] + [6])]
        header = f"{'Metric':<{widths[0]}}  {'Value':<{widths[1]}}  {'Target':<{widths[2]}}  Result"
        rule = "-" * len(header)
        lines = [rule, header, rule]
        section = None
        for r in self.rows:
            if r.section != section:
                section = r.section
                lines.append(f"== {section}")
            lines.append(f"{r.metric:<{widths[0]}}  {r.value:<{widths[1]}}  "
                         f"{r.target:<{widths[2]}}  {r.result}".rstrip())
        lines.append(rule)
        return "\n".join(lines)


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def secs(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def load_line(s: dict[str, Any], rate: bool = True) -> str:
    text = f"p50 {ms(s['p50_ms'])}, p99 {ms(s['p99_ms'])}"
    if rate:
        text = f"{s['rps']:,.0f} req/s, {text}"
        if not math.isnan(s["server_cpu_ms_per_request"]):
            text += f", server CPU {s['server_cpu_ms_per_request']:.2f} ms/req"
    if s["errors"]:
        text += f", {s['errors']} ERRORS {s['statuses']}"
    return text
