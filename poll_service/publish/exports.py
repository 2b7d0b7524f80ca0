"""results.csv and embed.html, drawn from a results document (see results.py)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
EMBED_STYLESHEET = HERE / "static" / "embed.css"
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    keep_trailing_newline=True,
)


def _cell(value) -> str:
    """A cell a spreadsheet shows as text: never starts a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_csv(document: dict) -> bytes:
    """One row per day, one column per answer, then the totals.

    UTF-8 with a byte-order mark, so spreadsheet programs read the labels right.
    A poll that hides its results gets only its status and total.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if not document["results_visible"]:
        writer.writerow(["status", "total"])
        writer.writerow([document["status"], document["total"]])
    else:
        options = document["options"]
        writer.writerow(["Date (UTC)", *(_cell(o["label"]) for o in options), "Total"])
        for day in document["daily"]:
            writer.writerow(
                [day["date"], *(day["counts"].get(o["id"], 0) for o in options), day["total"]]
            )
        writer.writerow(["All days", *(o["count"] for o in options), document["total"]])
        writer.writerow(["Share (%)", *(o["percentage"] for o in options), ""])
    return buffer.getvalue().encode("utf-8-sig")


def embed_stylesheet() -> tuple[str, bytes]:
    """The widget's stylesheet and its fingerprinted file name under /polls/."""
    data = EMBED_STYLESHEET.read_bytes()
    return f"embed.{hashlib.sha256(data).hexdigest()[:10]}.css", data


def human_time(iso_moment: str | None) -> str:
    if iso_moment is None:
        return "no batch yet"
    moment = datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def embed_html(document: dict, stylesheet: str) -> bytes:
    html = _templates.get_template("embed.html").render(
        results=document, stylesheet=stylesheet, counted_to=human_time(document["counted_to"])
    )
    return html.encode("utf-8")
