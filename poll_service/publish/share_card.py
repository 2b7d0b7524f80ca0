"""share.png: a 1200×630 Open Graph card with the site's name, the question, the
bars, the total, the date, what kind of poll it is ("an open online poll, not a
survey") and the site's address, drawn from a results document with Pillow. On
its own in a feed, the card still says whose poll it is and where to find it.

It uses Pillow's bundled font (``ImageFont.load_default(size=...)``, Pillow ≥
10.1 with FreeType), so it needs no system fonts and draws the same card on
every machine. The PNG carries no timestamp, so the same document always gives
the same bytes.
"""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from campaign_model.site import POLL_CAVEAT

from .document import ledger_stamp

SIZE = (1200, 630)
MARGIN = 64
BACKGROUND = "#ffffff"
INK = "#0b0c0c"
MUTED = "#484949"
BAR = "#1d4ed8"
TRACK = "#e8e8e8"
ACCENT_HEIGHT = 12


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def wrap(draw: ImageDraw.ImageDraw, text: str, face, width: int, max_lines: int) -> list[str]:
    """Break text into lines that fit ``width``; end with "…" if it needs more lines."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=face) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        while draw.textlength(lines[-1] + " …", font=face) > width and " " in lines[-1]:
            lines[-1] = lines[-1].rsplit(" ", 1)[0]
        lines[-1] += " …"
    return lines


def long_date(iso_moment: str | None) -> str:
    if iso_moment is None:
        return "no votes counted yet"
    moment = datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


def _draw_bars(draw: ImageDraw.ImageDraw, options: list[dict], top: int, bottom: int) -> None:
    row = min(88, (bottom - top) // max(len(options), 1))
    label_size = max(18, min(30, row // 3))
    face, bold = font(label_size), font(label_size)
    width = SIZE[0] - 2 * MARGIN
    for index, option in enumerate(options):
        y = top + index * row
        value = f"{option['percentage']}%"
        value_width = draw.textlength(value, font=bold)
        label = wrap(draw, option["label"], face, int(width - value_width - 24), 1)[0]
        draw.text((MARGIN, y), label, font=face, fill=INK)
        draw.text((SIZE[0] - MARGIN - value_width, y), value, font=bold, fill=INK)
        bar_top = y + label_size + 6
        bar_height = max(4, row - label_size - 24)  # leaves a gap above the next label
        draw.rectangle((MARGIN, bar_top, MARGIN + width, bar_top + bar_height), fill=TRACK)
        filled = round(width * option["percentage"] / 100)
        if filled:
            draw.rectangle((MARGIN, bar_top, MARGIN + filled, bar_top + bar_height), fill=BAR)


def share_png(document: dict, site_name: str, site_host: str = "") -> bytes:
    """The card as PNG bytes; ``site_host`` is the address as read, e.g. inquiry-now.org."""
    image = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SIZE[0], ACCENT_HEIGHT), fill=BAR)
    y = MARGIN - 16
    draw.text((MARGIN, y), f"{site_name} · Poll results", font=font(28), fill=MUTED)
    y += 48
    question_face = font(40)
    for line in wrap(draw, document["question"], question_face, SIZE[0] - 2 * MARGIN, 3):
        draw.text((MARGIN, y), line, font=question_face, fill=INK)
        y += 50
    y += 16
    footer_top = SIZE[1] - MARGIN - 64
    if document["results_visible"]:
        _draw_bars(draw, document["options"], y, footer_top - 12)
    else:
        draw.text(
            (MARGIN, y + 24), "Results are shown when the poll closes.", font=font(36), fill=INK
        )
    total = f"{document['total']:,} vote" + ("" if document["total"] == 1 else "s")
    footer = f"Total: {total} · {long_date(document['counted_to'])}"
    draw.text((MARGIN, footer_top), footer, font=font(30), fill=INK)
    small = font(24)
    draw.text((MARGIN, footer_top + 42), f"{POLL_CAVEAT}.", font=small, fill=MUTED)
    if site_host:
        width = draw.textlength(site_host, font=small)
        draw.text((SIZE[0] - MARGIN - width, footer_top + 42), site_host, font=small, fill=INK)
    # The ledger line rides in a PNG text chunk: a copy of the card can be recounted too.
    info = PngInfo()
    stamp = ledger_stamp(document)
    if stamp:
        info.add_text("Comment", stamp)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def site_png(site_name: str, subtitle: str) -> bytes:
    """The site's own card, for link previews of pages that carry no poll
    (scripts/site_card.py writes it to theme/static/site-card.png)."""
    image = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SIZE[0], ACCENT_HEIGHT), fill=BAR)
    draw.text((MARGIN, MARGIN + 60), site_name, font=font(88), fill=INK)
    y = MARGIN + 200
    subtitle_face = font(44)
    for line in wrap(draw, subtitle, subtitle_face, SIZE[0] - 2 * MARGIN, 4):
        draw.text((MARGIN, y), line, font=subtitle_face, fill=MUTED)
        y += 58
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
