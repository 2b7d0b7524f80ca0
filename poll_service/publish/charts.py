"""Charts as SVG, drawn from a results document (see results.py).

Each chart names itself for screen readers (``role="img"`` labelled by its
``<title>`` and ``<desc>``, which states every number as text). Colours are
presentation attributes, not ``style``, so the files obey a strict CSP, and a
white background keeps them legible on a dark page.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .document import ledger_stamp

# Narrow, so that the text stays legible when a phone scales the chart down to
# fit: on a 375 px screen 16 px text is drawn at about 13 px.
WIDTH = 420
INK = "#0b0c0c"
MUTED = "#484949"
BAR = "#1d4ed8"
TRACK = "#e8e8e8"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
# How many days the trend chart shows; the CSV and JSON have them all.
TREND_DAYS = 60


def attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


def votes(n: int) -> str:
    return f"{n:,} vote" + ("" if n == 1 else "s")


def summary(document: dict) -> str:
    """Every number in the document as one sentence, for ``<desc>`` and alt text."""
    if not document["results_visible"]:
        return f"Results are shown when the poll closes. Votes so far: {document['total']:,}."
    parts = [
        f"{option['label']}: {votes(option['count'])} ({option['percentage']}%)"
        for option in document["options"]
    ]
    return f"{'; '.join(parts)}. Total: {votes(document['total'])}."


def _svg(document: dict, height: int, title: str, desc: str, body: list[str]) -> str:
    # The ledger line is metadata: not drawn, and not read out with the chart.
    ledger = ledger_stamp(document)
    metadata = [f"<metadata>{escape(ledger)}</metadata>"] if ledger else []
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title chart-desc" '
            f'font-family="{attr(FONT)}">',
            f'<title id="chart-title">{escape(title)}</title>',
            f'<desc id="chart-desc">{escape(desc)}</desc>',
            *metadata,
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            *body,
            "</svg>",
            "",
        ]
    )


def _text(
    x: float, y: float, content: str, size: int = 16, fill: str = INK, bold=False, **extra
) -> str:
    if bold:
        extra["font_weight"] = "bold"
    attributes = "".join(f' {name.replace("_", "-")}="{attr(v)}"' for name, v in extra.items())
    return (
        f'<text x="{x:g}" y="{y:g}" font-size="{size}" fill="{fill}"{attributes}>'
        f"{escape(content)}</text>"
    )


def _hidden_body(document: dict, height: int) -> list[str]:
    return [
        _text(24, height / 2 - 8, "Results are shown when the poll closes."),
        _text(24, height / 2 + 20, f"Votes so far: {document['total']:,}", font_weight="bold"),
    ]


def results_svg(document: dict) -> str:
    """A horizontal bar chart: per answer its label, its count and share, then its bar.
    Each on a line of its own, so a long label never runs into the numbers."""
    title = f"Poll results: {document['question']}"
    if not document["results_visible"]:
        return _svg(document, 120, title, summary(document), _hidden_body(document, 120))
    row, top, bar_width = 80, 16, WIDTH - 48
    body = []
    for index, option in enumerate(document["options"]):
        y = top + index * row
        filled = bar_width * option["percentage"] / 100
        body += [
            _text(24, y + 18, option["label"]),
            _text(24, y + 40, f"{votes(option['count'])} ({option['percentage']}%)", bold=True),
            f'<rect x="24" y="{y + 50}" width="{bar_width}" height="18" fill="{TRACK}"/>',
            f'<rect x="24" y="{y + 50}" width="{filled:.1f}" height="18" fill="{BAR}"/>',
        ]
    height = top + len(document["options"]) * row + 32
    body.append(_text(24, height - 14, f"Total: {votes(document['total'])}", fill=MUTED))
    return _svg(document, height, title, summary(document), body)


def trend_svg(document: dict) -> str:
    """Votes cast each day, as columns: the daily series at a glance."""
    title = f"Votes per day: {document['question']}"
    height = 200
    if not document["results_visible"]:
        return _svg(document, 120, title, summary(document), _hidden_body(document, 120))
    days = document["daily"][-TREND_DAYS:]
    if not days:
        body = [_text(24, height / 2, "No votes yet.")]
        return _svg(document, height, title, "No votes yet.", body)
    desc = "; ".join(f"{day['date']}: {votes(day['total'])}" for day in days) + "."
    peak = max(day["total"] for day in days) or 1
    left, right, top, bottom = 24, WIDTH - 24, 32, height - 32
    step = (right - left) / len(days)
    body = [_text(left, 20, f"Most in one day: {peak:,}", fill=MUTED)]
    for index, day in enumerate(days):
        column = (bottom - top) * day["total"] / peak
        body.append(
            f'<rect x="{left + index * step + step * 0.1:.1f}" y="{bottom - column:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{column:.1f}" fill="{BAR}"/>'
        )
    body += [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{MUTED}"/>',
        _text(left, height - 10, days[0]["date"], fill=MUTED),
        _text(right, height - 10, days[-1]["date"], fill=MUTED, text_anchor="end"),
    ]
    return _svg(document, height, title, desc, body)
