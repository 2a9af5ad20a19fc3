"""Inline SVG pictures generated at build time.

They need no JavaScript, scale with the page, take their colours from the
theme's CSS (classes, not inline colours, so dark mode and print work), and
each carries a text alternative: a <title> and a <desc> that says in words what
the picture shows. Every text that comes from content is escaped here, because
these strings are marked safe for the templates.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
import re
from collections import Counter
from collections.abc import Iterable
from html import escape

from markupsafe import Markup

from .model import Goal, Metric, Milestone, Portfolio, Session

WEEKS = 52
CELL = 12
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _svg(ident: str, cls: str, width: float, height: float, title: str, desc: str, body: str) -> str:
    return (f'<svg class="{cls}" viewBox="0 0 {width:g} {height:g}" role="img" '
            f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
            f"{body}</svg>")


def _text(x: float, y: float, text: str, cls: str = "label", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


# -- activity heatmap ------------------------------------------------------
def heatmap(sessions: list[Session], today: dt.date | None, ident: str = "heatmap", weeks: int = WEEKS) -> str:
    """Sessions per day over the last `weeks` ISO weeks ending with today's, Mondays on top.
    `sessions` are in time order (see model.Portfolio): those of the weeks shown are found
    by bisection (a dashboard's heatmap counted 10,000 sessions to show a year of them)."""
    today = today or (sessions[-1].day if sessions else dt.date(2000, 1, 1))
    start = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    shown = sessions[bisect.bisect_left(sessions, start, key=_DAY):bisect.bisect_right(sessions, today, key=_DAY)]
    counts = Counter(s.day for s in shown)
    left, top = 26, 16
    cells, months = [], []
    for offset in range((today - start).days + 1):
        day = start + dt.timedelta(days=offset)
        n = counts.get(day, 0)
        x, y = left + (offset // 7) * CELL, top + (offset % 7) * CELL
        if day.day == 1 and offset < (today - start).days - 14:
            months.append(_text(x, 10, MONTHS[day.month - 1]))
        cells.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" rx="2" '
                     f'class="heat heat-{min(n, 4)}"><title>{day.isoformat()}: {n} session'
                     f'{"s" if n != 1 else ""}</title></rect>')
    days = [_text(0, top + i * CELL + 9, name) for i, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"))]
    busiest = max(counts.values(), default=0)
    desc = (f"{sum(counts.values())} sessions on {len(counts)} of the {(today - start).days + 1} days from "
            f"{start.isoformat()} to {today.isoformat()}; at most {busiest} on one day.")
    return _svg(ident, "heatmap", left + weeks * CELL, top + 7 * CELL, f"Activity, last {weeks} weeks", desc,
                "".join(months + days + cells))


# -- time series -----------------------------------------------------------
class _Frame:
    """Maps dates and values onto a plot area; `invert` puts low values on top."""

    width, height, left, right, top, bottom = 640, 220, 48, 16, 14, 30

    def __init__(self, days: list[dt.date], low: float, high: float, invert: bool = False):
        self.first, self.last = min(days), max(days)
        pad = (high - low) * 0.08 or 1
        self.low, self.high, self.invert = low - pad, high + pad, invert

    def x(self, day: dt.date) -> float:
        span = (self.last - self.first).days or 1
        return self.left + (self.width - self.left - self.right) * (day - self.first).days / span

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        if self.invert:
            share = 1 - share
        return self.height - self.bottom - (self.height - self.top - self.bottom) * share

    def xs(self, days: list[dt.date]) -> list[float]:
        """`x` of each day, the same floats: a chart's points are placed once, not for each
        shape drawn at them (a goal's page: 3 charts of 500 points, ~40 % of their time)."""
        span, first = (self.last - self.first).days or 1, self.first
        left, wide = self.left, self.width - self.left - self.right
        return [left + wide * (day - first).days / span for day in days]

    def ys(self, values: list[float]) -> list[float]:
        """`y` of each value, the same floats."""
        low, spread = self.low, self.high - self.low
        bottom, tall = self.height - self.bottom, self.height - self.top - self.bottom
        if self.invert:
            return [bottom - tall * (1 - (value - low) / spread) for value in values]
        return [bottom - tall * ((value - low) / spread) for value in values]

    def axes(self, ticks: list[tuple[float, str]]) -> str:
        parts = [f'<line class="axis" x1="{self.left}" x2="{self.width - self.right}" '
                 f'y1="{self.height - self.bottom}" y2="{self.height - self.bottom}"/>']
        for value, label in ticks:
            y = self.y(value)
            parts.append(f'<line class="grid" x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                         f'y2="{y:.1f}"/>')
            parts.append(_text(self.left - 6, y + 4, label, anchor="end"))
        parts.append(_text(self.left, self.height - 8, _short(self.first)))
        if self.last != self.first:
            parts.append(_text(self.width - self.right, self.height - 8, _short(self.last), anchor="end"))
        return "".join(parts)


def _short(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _polyline(points: Iterable[tuple[float, float]], cls: str) -> str:
    return f'<polyline class="{cls}" fill="none" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>'


def metric_chart(metric: Metric, sessions: list[Session], ident: str) -> str:
    """One metric over time: target line, and every new personal best marked.

    With `better: lower` the axis is turned over, so that progress always climbs."""
    points = [(s, s.metrics[metric.name]) for s in sessions if metric.name in s.metrics]
    if not points:
        return ""
    values = [v for _, v in points] + ([metric.target] if metric.target is not None else [])
    frame = _Frame([s.day for s, _ in points], min(values), max(values), invert=metric.better == "lower")
    ticks = sorted({min(values), max(values)} | ({metric.target} if metric.target is not None else set()))
    body = [frame.axes([(v, format_measure(v, metric, unit=False)) for v in ticks])]
    if metric.target is not None:
        y = frame.y(metric.target)
        body.append(f'<line class="target" x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
                    f'y2="{y:.1f}"/>')
        body.append(_text(frame.width - frame.right, y - 5, f"target {format_measure(metric.target, metric)}",
                          "label target-label", "end"))
    xs, ys = frame.xs([s.day for s, _ in points]), frame.ys([v for _, v in points])
    body.append(_polyline(zip(xs, ys, strict=True), "series"))
    best: float | None = None
    lower = metric.better == "lower"
    for (s, v), x, y in zip(points, xs, ys, strict=True):
        is_best = best is None or (v < best if lower else v > best)
        best = v if is_best else best
        label = f"{s.day.isoformat()}: {format_measure(v, metric)}{' (new personal best)' if is_best else ''}"
        body.append(f'<circle class="{"best" if is_best else "point"}" cx="{x:.1f}" '
                    f'cy="{y:.1f}" r="{5 if is_best else 3}"><title>{escape(label)}</title></circle>')
    direction = "lower is better, so the axis is turned over" if metric.better == "lower" else "higher is better"
    desc = (f"{len(points)} values from {format_measure(points[0][1], metric)} on {points[0][0].day.isoformat()} "
            f"to {format_measure(points[-1][1], metric)} on {points[-1][0].day.isoformat()}; {direction}; "
            f"personal best {format_measure(best, metric)}"
            + (f"; target {format_measure(metric.target, metric)}." if metric.target is not None else "."))
    return _svg(ident, "chart", frame.width, frame.height, f"{metric.name} over time", desc, "".join(body))


def difficulty_chart(sessions: list[Session], ident: str) -> str:
    """Difficulty (1-5) of each session, with the running mean of the last five."""
    rated = [s for s in sessions if s.difficulty is not None]
    if len(rated) < 2:
        return ""
    frame = _Frame([s.day for s in rated], 1, 5)
    body = [frame.axes([(v, str(v)) for v in (1, 3, 5)])]
    levels = [s.difficulty for s in rated]
    xs = frame.xs([s.day for s in rated])
    means = frame.ys([sum(levels[max(0, i - 4): i + 1]) / min(i + 1, 5) for i in range(len(levels))])
    body.append(_polyline(zip(xs, means, strict=True), "series"))
    body += [f'<circle class="point outcome-{s.outcome}" cx="{x:.1f}" '
             f'cy="{y:.1f}" r="3.5"><title>{s.day.isoformat()}: difficulty {s.difficulty}, '
             f"{s.outcome}</title></circle>" for s, x, y in zip(rated, xs, frame.ys(levels), strict=True)]
    half = len(rated) // 2
    early = sum(s.difficulty for s in rated[:half]) / half
    late = sum(s.difficulty for s in rated[-half:]) / half
    desc = (f"{len(rated)} rated sessions; mean difficulty {early:.1f} in the earlier half and {late:.1f} in the "
            f"later half. The line is the mean of the last five sessions.")
    return _svg(ident, "chart", frame.width, frame.height, "Difficulty over time", desc, "".join(body))


def confidence_chart(sessions: list[Session], ident: str) -> str:
    """Self-rated confidence (1-10) before and after sessions."""
    rated = [s for s in sessions if s.confidence_before is not None or s.confidence_after is not None]
    if not rated:
        return ""
    frame = _Frame([s.day for s in rated], 1, 10)
    body = [frame.axes([(v, str(v)) for v in (1, 5, 10)])]
    for attr, cls in (("confidence_before", "before"), ("confidence_after", "series")):
        points = [(s, getattr(s, attr)) for s in rated if getattr(s, attr) is not None]
        xs, ys = frame.xs([s.day for s, _ in points]), frame.ys([v for _, v in points])
        body.append(_polyline(zip(xs, ys, strict=True), cls))
        point, said = "point-before" if cls == "before" else "point", cls.replace("series", "after")
        body += [f'<circle class="{point}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{s.day.isoformat()}: {said} '
                 f"{v}</title></circle>" for (s, v), x, y in zip(points, xs, ys, strict=True)]
    after = [s.confidence_after for s in rated if s.confidence_after is not None]
    desc = (f"{len(rated)} sessions with a confidence rating; after-session confidence went from "
            f"{after[0]} to {after[-1]}." if after else f"{len(rated)} sessions rated before only.")
    body.append(_text(frame.left + 4, frame.top + 10, "— after   - - before", "label legend"))
    return _svg(ident, "chart", frame.width, frame.height, "Confidence before and after sessions", desc,
                "".join(body))


# -- milestone ladder --------------------------------------------------------
def ladder(rungs: list[tuple[Milestone, dict | None]], ident: str = "ladder") -> str:
    """A staircase, lowest rung at the bottom; reached rungs filled, the next one outlined."""
    if not rungs:
        return ""
    step, width = 34, 640
    height = step * len(rungs) + 8
    next_rung = next((m for m, reached in rungs if not reached), None)
    body = []
    for i, (m, reached) in enumerate(rungs):
        y = height - (i + 1) * step
        bar = 40 + (180 * (i + 1)) / len(rungs)
        state = "reached" if reached else "next" if m is next_rung else "open"
        when = {"reached": f" · {_short(dt.date.fromisoformat(reached['date']))}" if reached else "",
                "next": " · next", "open": ""}[state]
        title = m.title if len(m.title) <= 44 else m.title[:43] + "…"
        body.append(f'<g class="rung rung-{state}"><rect x="0" y="{y + 4}" width="{bar:.0f}" height="{step - 6}" '
                    f'rx="4"/>{_text(8, y + step / 2 + 6, f"L{m.level}", "label level")}'
                    f'{_text(bar + 10, y + step / 2 + 6, title + when, "label")}</g>')
    done = sum(1 for _, reached in rungs if reached)
    desc = (f"{done} of {len(rungs)} milestones reached"
            + (f"; next: {next_rung.title} (level {next_rung.level})." if next_rung else "; the ladder is climbed."))
    return _svg(ident, "ladder-chart", width, height, "Milestone ladder", desc, "".join(body))


# -- areas -------------------------------------------------------------------
def areas_chart(areas: dict[str, dict], titles: dict[str, str], ident: str = "areas") -> str:
    """Sessions per area as bars; untouched areas keep their row with an empty bar."""
    row, width, label = 30, 640, 150
    most = max((a["sessions"] for a in areas.values()), default=0) or 1
    body = []
    for i, (slug, record) in enumerate(areas.items()):
        y = i * row
        bar = (width - label - 140) * record["sessions"] / most
        note = (f"{record['goals']} goal{'s' if record['goals'] != 1 else ''}, {record['sessions']} sessions"
                if record["goals"] else "not started yet")
        body.append(f'<g class="area-row{" untouched" if not record["sessions"] else ""}">'
                    f'{_text(0, y + 19, titles.get(slug, slug))}'
                    f'<rect class="bar" x="{label}" y="{y + 6}" width="{max(bar, 2):.0f}" '
                    f'height="{row - 12}" rx="3"/>'
                    f'{_text(label + max(bar, 2) + 8, y + 19, note)}</g>')
    desc = "; ".join(f"{titles.get(s, s)}: {a['goals']} goals, {a['sessions']} sessions" for s, a in areas.items())
    return _svg(ident, "areas-chart", width, row * len(areas), "Sessions per area", desc + ".", "".join(body))


# -- numbers -----------------------------------------------------------------
def format_measure(value: float | int | None, metric: Metric | None, unit: bool = True) -> str:
    """A metric value as people write it: "5:26 min/km" for clock metrics, "10.5 km" otherwise."""
    if value is None:
        return ""
    text = _clock(value) if metric is not None and metric.clock else _num(value)
    return f"{text} {metric.unit}".rstrip() if unit and metric is not None else text


_DAY = operator.attrgetter("day")


def _clock(seconds: float | int) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _num(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Pictures:
    """What templates call (`pictures.metric(m, goal)`): the charts of one build, marked safe."""

    def __init__(self, portfolio: Portfolio, stats: dict, today: dt.date | None):
        self.portfolio, self.stats, self.today = portfolio, stats, today

    def heatmap(self, goal: Goal | None = None) -> Markup:
        sessions = self.portfolio.sessions_of(goal.slug) if goal else self.portfolio.sessions
        return Markup(heatmap(sessions, self.today, f"heatmap-{goal.slug}" if goal else "heatmap"))

    def metric(self, metric: Metric, goal: Goal) -> Markup:
        ident = f"chart-{re.sub(r'[^a-z0-9]+', '-', metric.name.lower())}"
        return Markup(metric_chart(metric, self.portfolio.sessions_of(goal.slug), ident))

    def difficulty(self, goal: Goal) -> Markup:
        return Markup(difficulty_chart(self.portfolio.sessions_of(goal.slug), "difficulty"))

    def confidence(self, goal: Goal) -> Markup:
        return Markup(confidence_chart(self.portfolio.sessions_of(goal.slug), "confidence"))

    def ladder(self, rungs: list[tuple[Milestone, dict | None]]) -> Markup:
        return Markup(ladder(rungs))

    def areas(self) -> Markup:
        titles = {slug: area.title for slug, area in self.portfolio.config.areas.items()}
        return Markup(areas_chart(self.stats["areas"], titles))
