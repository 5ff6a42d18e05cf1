"""How figures read on the page, in CSV and in charts. Pure: values in, strings and chart data out."""

from __future__ import annotations

from html import escape as _escape

from django.utils.safestring import SafeString, mark_safe

from kpis.definitions import Measure
from kpis.selectors import EMPTY, FigureResult, Value


def html_escape(text: str) -> str:
    """What Django's escape() does to a plain string (html.escape), without its lazy-string wrapper, which cost
    more than the escaping itself over a thousand cells."""
    return _escape(str(text), quote=True)


def format_number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "minutes":
        if value >= 120:
            return f"{value / 60:.1f} h"
        return f"{value:.1f} min"
    return f"{int(round(value)):,}"


def plain_number(value: float | None, unit: str) -> str:
    """For CSV: no thousands separators or units, a dot for decimals."""
    if value is None:
        return ""
    if unit == "count":
        return str(int(round(value)))
    return f"{value:.2f}"


def format_change(value: Value, measure: Measure) -> dict | None:
    """The change from the previous period, and whether it is good news ("good", "bad" or "same")."""
    change = value.change
    if change is None:
        return None
    if measure.unit == "percent":
        text = f"{change:+.1f} pts"
    elif measure.unit == "minutes":
        text = f"{change:+.1f} min"
    else:
        ratio = value.change_ratio
        text = f"{change:+,.0f}" + (f" ({ratio:+.0%})" if ratio is not None else "")
    if abs(change) < 1e-9:
        mood = "same"
    elif measure.better is None:
        mood = "neutral"
    else:
        mood = "good" if (change > 0) == (measure.better == "up") else "bad"
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "■")
    return {"text": f"{arrow} {text}", "mood": mood}


def chart_data(result: FigureResult) -> dict | None:
    """Chart.js data for a figure: bars or lines of the chart's measures, numbers kept for the tooltips."""
    chart = result.figure.chart
    if chart is None or not result.rows:
        return None
    measures = [m for m in result.measures if not chart.measures or m.key in chart.measures]
    if not measures:
        return None
    unit = measures[0].unit
    if result.figure.dimension is None:
        labels = [row.label for row in result.rows]
        values = [row.values[row.key] for row in result.rows]
        datasets = [
            {"label": "This period", "data": [_round(v.current) for v in values]},
            {"label": "Previous period", "data": [_round(v.previous) for v in values]},
        ]
    else:
        labels = [row.label for row in result.rows]
        datasets = [
            {"label": m.heading if len(measures) > 1 else m.label,
             "data": [_round(row.values.get(m.key, EMPTY).current) for row in result.rows]}
            for m in measures
        ]
    return {
        "type": chart.kind, "horizontal": chart.horizontal, "stacked": chart.stacked, "unit": unit,
        "labels": labels, "datasets": datasets, "title": result.figure.title,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def breakdown_table(result: FigureResult, *, leads_url) -> SafeString:
    """The body rows of a breakdown table, each cell with its text and drill-down link, as HTML.

    Built here rather than in the template: a leaderboard of a large group has well over a thousand cells, and the
    template's inner loop cost about 60 µs a cell (most of the dashboard's rendering time); here every value is
    escaped the same way. `leads_url(scope, measure)` gives the link of the leads behind a cell ("" for none).
    """
    rows = []
    for row in result.rows:
        cells = []
        for measure in result.measures:
            value = row.values.get(measure.key, EMPTY)
            text = html_escape(format_number(value.current, measure.unit))
            url = leads_url(row.scope, measure) if value.current else ""
            cells.append(f'<td class="num"><a href="{html_escape(url)}">{text}</a></td>' if url
                         else f'<td class="num">{text}</td>')
        rows.append(f'<tr><th scope="row">{html_escape(row.label)}</th>{"".join(cells)}</tr>')
    return mark_safe("\n".join(rows))
