"""Inline SVG pictures generated at build time: readable without JavaScript,
each with a text alternative (<title>/<desc>). Every text that comes from
content is escaped here, because these strings are marked safe for templates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from html import escape

from .model import Metric, Session

WEEKS = 52
CELL = 11


def heatmap(sessions: list[Session], today: dt.date | None, weeks: int = WEEKS) -> str:
    """Sessions per day over the last `weeks` ISO weeks ending with today's."""
    today = today or dt.date.today()
    start = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    counts = Counter(s.day for s in sessions if start <= s.day <= today)
    total = sum(counts.values())
    active = len(counts)
    cells = []
    for offset in range((today - start).days + 1):
        day = start + dt.timedelta(days=offset)
        n = counts.get(day, 0)
        level = min(n, 4)
        label = f"{day.isoformat()}: {n} session{'s' if n != 1 else ''}"
        cells.append(f'<rect x="{(offset // 7) * CELL}" y="{(offset % 7) * CELL}" width="{CELL - 2}" '
                     f'height="{CELL - 2}" rx="2" class="heat heat-{level}"><title>{label}</title></rect>')
    width, height = weeks * CELL, 7 * CELL
    summary = (f"{total} sessions on {active} days between {start.isoformat()} and {today.isoformat()}")
    return (f'<svg class="heatmap" viewBox="0 0 {width} {height}" role="img" aria-labelledby="hm-t hm-d" '
            f'xmlns="http://www.w3.org/2000/svg"><title id="hm-t">Activity, last {weeks} weeks</title>'
            f'<desc id="hm-d">{escape(summary)}</desc>{"".join(cells)}</svg>')


def metric_chart(metric: Metric, sessions: list[Session], best: dict | None, ident: str) -> str:
    """A line of one metric's values over time, with the target and the personal best."""
    points = [(s, s.metrics[metric.name]) for s in sessions if metric.name in s.metrics]
    if not points:
        return ""
    values = [v for _, v in points] + ([metric.target] if metric.target is not None else [])
    low, high = min(values), max(values)
    span = (high - low) or 1
    width, height, pad = 600, 200, 24

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(len(points) - 1, 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * ((v - low) / span)

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts = [f'<polyline class="series" fill="none" points="{line}"/>']
    if metric.target is not None:
        parts.append(f'<line class="target" x1="{pad}" x2="{width - pad}" y1="{y(metric.target):.1f}" '
                     f'y2="{y(metric.target):.1f}"/>')
    for i, (s, v) in enumerate(points):
        is_best = best is not None and best["session"] == s.slug
        label = f"{s.day.isoformat()}: {format_measure(v, metric)}{' (personal best)' if is_best else ''}"
        parts.append(f'<circle class="{"best" if is_best else "point"}" cx="{x(i):.1f}" cy="{y(v):.1f}" '
                     f'r="{5 if is_best else 3}"><title>{escape(label)}</title></circle>')
    direction = "lower is better" if metric.better == "lower" else "higher is better"
    desc = (f"{len(points)} values from {format_measure(points[0][1], metric)} to "
            f"{format_measure(points[-1][1], metric)}, {direction}"
            + (f"; target {format_measure(metric.target, metric)}" if metric.target is not None else "")
            + (f"; personal best {format_measure(best['value'], metric)} on {best['date']}" if best else ""))
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}-t {ident}-d" '
            f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}-t">{escape(metric.name)}</title>'
            f'<desc id="{ident}-d">{escape(desc)}</desc>{"".join(parts)}</svg>')


def format_measure(value: float | int | None, metric: Metric | None, unit: bool = True) -> str:
    """A metric value as people write it: "5:26 min/km" for clock metrics, "10.5 km" otherwise."""
    if value is None:
        return ""
    text = _clock(value) if metric is not None and metric.clock else _num(value)
    return f"{text} {metric.unit}".rstrip() if unit and metric is not None else text


def _clock(seconds: float | int) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _num(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
