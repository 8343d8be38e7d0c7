"""The dashboard's charts: what each agent did over time, drawn as SVG on the server.

:func:`timeline` cuts the last ``span`` into equal buckets and reads each agent's
:class:`~agentguard.activity.Counts` per bucket from an :class:`~agentguard.activity.Activity`
(a window ending now minus the window one bucket shorter is exactly that bucket).
:func:`bars` draws one series as an SVG bar chart and :func:`gauge` one budget's use; both
return markup that needs no script and no inline style, so the dashboard's content
security policy stays strict. Every value they draw is a number the functions compute
themselves; labels go through :func:`html.escape`.

Example::

    series = timeline(activity, span=timedelta(hours=1), buckets=12, now=clock.now())
    svg = bars([c.denied for c in series["bot"]], label="denials", unit="")
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import Decimal

from agentguard.activity import Activity, Counts

WIDTH, HEIGHT = 240, 56
_GAP = 2


def timeline(
    activity: Activity, *, span: timedelta, buckets: int, now: datetime
) -> dict[str, list[Counts]]:
    """Each agent's counts in ``buckets`` equal slices of the last ``span``, oldest first
    (agents with no action in ``span`` are left out)."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    step = span / buckets
    # cumulative[k]: the last (k + 1) steps; bucket k from the end is the difference
    cumulative = [activity.by_agent(step * (k + 1), now=now) for k in range(buckets)]
    out: dict[str, list[Counts]] = {}
    for agent in cumulative[-1]:
        slices = []
        previous = Counts()
        for window in cumulative:
            total = window.get(agent, Counts())
            slices.append(_minus(total, previous))
            previous = total
        out[agent] = list(reversed(slices))
    return out


def error_rates(series: Sequence[Counts]) -> list[float | None]:
    """The share of calls that ran and failed, per bucket (None where none ran)."""
    return [c.error_rate for c in series]


def bars(
    values: Sequence[float | int | Decimal | None],
    *,
    label: str,
    unit: str = "",
    top: float | None = None,
    css: str = "bar",
) -> str:
    """An SVG bar chart of ``values`` (None or 0: no bar); ``top`` the value of a
    full-height bar (the largest value by default). Each bar carries its value as a
    tooltip."""
    numbers = [None if v is None else float(v) for v in values]
    highest = top if top is not None else max((v for v in numbers if v is not None), default=0)
    width = (WIDTH - _GAP * (len(numbers) - 1)) / max(len(numbers), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{html.escape(label)}">',
        f'<line class="axis" x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}"/>',
    ]
    for index, value in enumerate(numbers):
        if value is None or value <= 0:
            continue
        share = 0.0 if highest <= 0 else min(value / highest, 1.0)
        height = max(share * (HEIGHT - 4), 1.0)
        x = index * (width + _GAP)
        shown = _number(value, unit)
        parts.append(
            f'<rect class="{html.escape(css)}" x="{x:.1f}" y="{HEIGHT - 1 - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}"><title>{html.escape(shown)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def gauge(spent: Decimal, budget: Decimal, *, label: str) -> str:
    """One budget as a horizontal bar: the share spent, red from 100 %."""
    share = float(spent / budget) if budget > 0 else 1.0
    filled = min(max(share, 0.0), 1.0) * WIDTH
    css = "over" if share >= 1 else "warn" if share >= 0.8 else "fine"
    return (
        f'<svg class="gauge" viewBox="0 0 {WIDTH} 12" width="{WIDTH}" height="12" role="img" '
        f'aria-label="{html.escape(label)}"><rect class="track" x="0" y="0" width="{WIDTH}" '
        f'height="12"/><rect class="{css}" x="0" y="0" width="{filled:.1f}" height="12">'
        f"<title>{share:.0%}</title></rect></svg>"
    )


def _minus(total: Counts, previous: Counts) -> Counts:
    return Counts(*(getattr(total, f.name) - getattr(previous, f.name) for f in fields(Counts)))


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0%}"
    if unit == "$":
        return f"${value:,.2f}"
    return f"{value:g}"
