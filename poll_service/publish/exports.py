"""results.csv, embed.html and sheet.html, drawn from a results document (see document.py).

Besides the numbers, the two HTML files need to know the site they belong to
(``SiteContext``: its name and address) and the shared assets the publisher
wrote under /polls/ (``published_assets``): the widget's stylesheet and frame
script, the sheet's stylesheet, and ``embed.js``, the small script that the
embed code asks other sites to load so that the frame fits its content.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from campaign_model.methodology import corrections, methodology
from campaign_model.site import DATA_LICENCE, EXIT_URL, POLL_CAVEAT, SITENAME

from .document import ledger_stamp

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# Published under /polls/ with a content hash in the name, so cached for a year.
FINGERPRINTED_ASSETS = ("embed.css", "embed-frame.js", "sheet.css")
# Published under /polls/ by its own name: other sites' pages name it in the
# embed code they copied, so its address may never change.
STABLE_ASSETS = ("embed.js",)
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class SiteContext:
    """What the published pages say about the site: its name, its address, its assets."""

    url: str = ""  # absolute, e.g. https://inquiry-now.org; "" when not known
    name: str = SITENAME
    # Shared asset -> the name it was published under ("embed.css" -> "embed.1a2b….css").
    assets: dict[str, str] = field(default_factory=dict)

    def asset(self, name: str) -> str:
        return self.assets.get(name, name)

    @property
    def host(self) -> str:
        """The address as people read it: ``inquiry-now.org``, ``127.0.0.1:8000``."""
        parts = urlsplit(self.url)
        return (parts.netloc + parts.path.rstrip("/")) if parts.netloc else ""

    def results_url(self, poll_id: str) -> str:
        return f"{self.url}/results/#poll-{poll_id}"


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
    stamp = ledger_stamp(document)
    if stamp:  # padded like every row: the CSV stays a clean table
        writer.writerow(["Ledger", stamp, *([""] * len(options))])
    return buffer.getvalue().encode("utf-8-sig")


def published_assets() -> dict[str, tuple[str, bytes]]:
    """Each shared asset: the name to publish it under in /polls/, and its bytes."""
    assets = {}
    for name in FINGERPRINTED_ASSETS:
        data = (STATIC / name).read_bytes()
        stem, suffix = name.rsplit(".", 1)
        assets[name] = (f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}.{suffix}", data)
    for name in STABLE_ASSETS:
        assets[name] = (name, (STATIC / name).read_bytes())
    return assets


def human_time(iso_moment: str | None) -> str:
    if iso_moment is None:
        return "no batch yet"
    moment = datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def human_date(iso_moment: str | None) -> str:
    if not iso_moment:
        return ""
    moment = datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


def status_sentence(document: dict) -> str:
    """The poll's state in words, as the results page says it."""
    if document["status"] == "open":
        closes = document.get("closes")
        return f"Open until {human_date(closes)}." if closes else "Open."
    if document["status"] == "closed":
        return f"Closed on {human_date(document['closes'])}."
    return f"Opens on {human_date(document['opens'])}."


def embed_html(document: dict, site: SiteContext) -> bytes:
    html = _templates.get_template("embed.html").render(
        results=document,
        site=site,
        exit_url=EXIT_URL,
        caveat=POLL_CAVEAT,
        status=status_sentence(document),
        counted_to=human_time(document["counted_to"]),
        ledger=ledger_stamp(document),
    )
    return html.encode("utf-8")


def milestones_of(document: dict) -> list[dict]:
    """The poll's milestones, if it declares any: each with its count, what follows
    and, once reached, when (``reached_at``)."""
    return [
        {
            "count": milestone["count"],
            "outcome": milestone.get("then") or "",  # docs/results-schema.md: `then`
            "reached": human_date(milestone.get("reached_at")),
        }
        for milestone in document.get("milestones") or []
    ]


def sheet_html(document: dict, site: SiteContext) -> bytes:
    """The one-page results sheet to print and hand over: question, totals,
    milestones, method, date and address."""
    html = _templates.get_template("sheet.html").render(
        results=document,
        site=site,
        exit_url=EXIT_URL,
        caveat=POLL_CAVEAT,
        licence=DATA_LICENCE,
        status=status_sentence(document),
        method=methodology(document),
        corrections=corrections(document),
        ledger=ledger_stamp(document),
        milestones=milestones_of(document),
        counted_to=human_time(document["counted_to"]),
    )
    return html.encode("utf-8")
