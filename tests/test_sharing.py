"""What a campaigner shares: the share card says whose poll it is and where to
find it, every post previews with an image, and the embed code works when
pasted on another site (an absolute address, a frame that fits its content on
a phone, with help and the quick exit in view)."""

import html
import json
import re
import threading
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
from PIL import ImageDraw
from playwright.sync_api import expect
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from campaign_model.site import EXIT_URL, POLL_CAVEAT, SITENAME, SITESUBTITLE
from poll_service.config import load_settings
from poll_service.publish import share_card
from poll_service.publish.publisher import poll_output_dir, publish
from tests.conftest import ROOT, build_site, start_live_server
from tests.test_accessibility import Reader, axe_violations
from tests.test_publish import make_app, vote

SITEURL = "https://inquiry.example.org"
POST = "2014/why-we-need-an-inquiry/index.html"
REBLOGS = sorted((ROOT / "content" / "reblogs").glob("*.md"))


# --- The share card ----------------------------------------------------------------------


@pytest.fixture
def drawn_text(monkeypatch):
    """Every piece of text drawn on a card, with where it was drawn and how wide it is."""
    drawn = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        width = self.textlength(text, font=kwargs.get("font"))
        drawn.append((text, xy[0], xy[1], width))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    return drawn


@pytest.mark.parametrize("visible", [True, False])
def test_the_share_card_names_the_site_its_address_and_what_kind_of_poll_it_is(
    tmp_path, drawn_text, visible
):
    app = make_app(tmp_path, SITE_URL="https://inquiry.example.org")
    vote(app, "inquiry", "no")
    publish(app)
    document = json.loads((poll_output_dir(app, "inquiry") / "results.json").read_text())
    drawn_text.clear()
    if not visible:
        document = {key: document[key] for key in document if key not in ("options", "daily")}
        document["results_visible"] = False
    share_card.share_png(document, SITENAME, "inquiry.example.org")
    texts = [text for text, *_ in drawn_text]
    assert any(SITENAME in text for text in texts)
    assert "inquiry.example.org" in texts
    assert any(POLL_CAVEAT in text for text in texts)
    assert any(text.startswith("Total: 1 vote ") for text in texts)
    # Everything fits on the 1200 × 630 card, inside its margins.
    for text, x, y, width in drawn_text:
        assert x >= share_card.MARGIN and x + width <= 1200 - share_card.MARGIN + 1, text
        assert 0 <= y <= 630 - share_card.MARGIN, text


def test_the_published_card_carries_the_configured_address(tmp_path, drawn_text):
    app = make_app(tmp_path, SITE_URL="https://inquiry.example.org/")
    publish(app)
    assert "inquiry.example.org" in [text for text, *_ in drawn_text]


def test_without_a_configured_address_the_service_uses_siteurl(tmp_path, monkeypatch):
    """`SITEURL=https://… make publish` puts the address on the card too."""
    monkeypatch.setenv("SITEURL", "https://from-the-build.example.org/")
    assert load_settings(tmp_path)["SITE_URL"] == "https://from-the-build.example.org"
    monkeypatch.setenv("POLL_SITE_URL", "https://the-service-setting.example.org")
    assert load_settings(tmp_path)["SITE_URL"] == "https://the-service-setting.example.org"


def test_the_committed_site_card_is_the_one_the_script_draws_today():
    """Pages without a poll preview with theme/static/site-card.png: it must name
    the site as campaign_model/site.py does now (scripts/site_card.py redraws it)."""
    from io import BytesIO

    from PIL import Image, ImageChops

    committed = Image.open(ROOT / "theme" / "static" / "site-card.png").convert("RGB")
    drawn = Image.open(BytesIO(share_card.site_png(SITENAME, SITESUBTITLE))).convert("RGB")
    assert committed.size == (1200, 630)
    assert ImageChops.difference(committed, drawn).getbbox() is None


# --- og:image on every post ----------------------------------------------------------------


class Meta(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content")


def meta_of(page) -> dict:
    parser = Meta()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.meta


def published_site(folder, settings_file="pelicanconf.py", **settings):
    """The real content, built after its polls' results were published."""
    publish(make_app(folder))
    return build_site(folder / "output", settings_file, **settings)


@pytest.fixture(scope="module")
def production_site(tmp_path_factory):
    return published_site(tmp_path_factory.mktemp("sharing"), "publishconf.py", SITEURL=SITEURL)


def article_pages(site):
    return [
        path
        for path in site.glob("[0-9][0-9][0-9][0-9]/*/index.html")
        if 'property="og:type" content="article"' in path.read_text()
    ]


@pytest.mark.no_database
def test_every_post_and_reblog_has_an_absolute_og_image(production_site):
    pages = article_pages(production_site)
    assert len(pages) >= 1 + len(REBLOGS)
    for page in pages:
        meta = meta_of(page)
        assert meta.get("og:image", "").startswith(SITEURL + "/"), page
        assert meta.get("og:image:alt"), page
        assert meta["twitter:card"] == "summary_large_image"
        image = production_site / meta["og:image"].removeprefix(SITEURL + "/")
        text = page.read_text()
        if "data-poll=" in text:  # a post that carries a poll previews with its card
            poll = re.search(r'data-poll="([^"]+)"', text)[1]
            assert meta["og:image"] == f"{SITEURL}/polls/{poll}/share.png", page
        else:
            assert image.is_file(), page  # the site card, built with the site


@pytest.mark.no_database
def test_a_post_without_a_poll_previews_with_the_site_card(production_site):
    page = next(p for p in article_pages(production_site) if "data-poll=" not in p.read_text())
    meta = meta_of(page)
    assert meta["og:image"] == f"{SITEURL}/theme/site-card.png"
    assert (production_site / "theme" / "site-card.png").is_file()
    assert SITENAME in meta["og:image:alt"]


# --- The embed code ------------------------------------------------------------------------


def embed_code(page: str, poll: str = "inquiry") -> str:
    """The embed code the results page offers for ``poll`` (it lists every poll)."""
    codes = [html.unescape(c) for c in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)]
    return next(code for code in codes if f"/polls/{poll}/embed.html" in code)


@pytest.mark.no_database
def test_the_embed_code_and_share_links_carry_the_public_address(production_site):
    page = (production_site / "results" / "index.html").read_text()
    code = embed_code(page)
    assert f'<iframe src="{SITEURL}/polls/inquiry/embed.html"' in code
    assert f'<script src="{SITEURL}/polls/embed.js" async></script>' in code
    assert "data-local-address" not in page
    assert f'data-share-url="{SITEURL}/results/#poll-inquiry"' in page


@pytest.mark.no_database
def test_a_development_build_uses_the_local_address_and_says_it_is_local(tmp_path):
    site = published_site(tmp_path, LOCAL_ORIGIN="http://127.0.0.1:8123")
    page = (site / "results" / "index.html").read_text()
    code = embed_code(page)
    assert '<iframe src="http://127.0.0.1:8123/polls/inquiry/embed.html"' in code
    assert '<script src="http://127.0.0.1:8123/polls/embed.js" async></script>' in code
    assert 'data-share-url="http://127.0.0.1:8123/results/#poll-inquiry"' in page
    notice = re.search(r"<p [^>]*data-local-address>(.*?)</p>", page, re.S)[1]
    assert "http://127.0.0.1:8123" in notice and "only on this computer" in notice


def test_the_embed_puts_help_and_the_quick_exit_first(tmp_path):
    app = make_app(tmp_path)
    publish(app)
    page = (poll_output_dir(app, "inquiry") / "embed.html").read_text()
    main = page[page.index("<main") :]
    assert main.index('href="/get-help/"') < main.index("<h1")
    exit_link = re.search(r'<a class="embed__exit" href="([^"]+)" target="_top"', main)
    assert exit_link and exit_link[1] == EXIT_URL
    assert POLL_CAVEAT in main


def test_a_publish_replaces_an_outdated_embed_script(tmp_path):
    """embed.js keeps its name (pasted code names it), so a new version must overwrite it."""
    app = make_app(tmp_path)
    script = tmp_path / "output" / "polls" / "embed.js"
    script.parent.mkdir(parents=True)
    script.write_text("// an older version")
    publish(app)
    assert script.read_bytes() == (ROOT / "poll_service/publish/static/embed.js").read_bytes()


def host_page(code: str) -> str:
    """Another organisation's page, as narrow as a phone, with our code pasted in."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>A friend of the campaign</title></head>"
        f"<body><h1>Our news</h1>{code}<p id='after'>More news.</p></body></html>"
    )


@contextmanager
def another_site(body: str, csp: str):
    """A page on another origin (another port on this machine) that serves ``body``."""
    app = Response(body, mimetype="text/html", headers={"Content-Security-Policy": csp})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


@pytest.mark.browser
def test_pasted_on_another_site_the_embed_fits_its_content_at_375px(tmp_path, browser):
    server = start_live_server(tmp_path)
    context = browser.new_context(viewport={"width": 375, "height": 700})
    try:
        code = embed_code((server.output / "results" / "index.html").read_text())
        # The other site allows our script and frame by address, and nothing inline.
        csp = f"default-src 'none'; script-src {server.url}; frame-src {server.url}"
        with another_site(host_page(code), csp) as address:
            page = context.new_page()
            messages = []
            page.on("console", lambda message: messages.append(message.text))
            page.goto(address)
            frame = page.frame_locator("iframe")
            expect(frame.get_by_role("link", name="Where to get help")).to_be_visible()
            expect(frame.get_by_role("link", name="Exit this page")).to_be_visible()
            # embed.js sized the frame to the widget's content, within the page's width.
            page.wait_for_function("document.querySelector('iframe').style.height !== ''")
            widget = page.frame(url=re.compile(r".*/embed\.html$"))
            content_height = widget.evaluate(
                "document.documentElement.getBoundingClientRect().height"
            )
            box = page.locator("iframe").bounding_box()
            inside = page.evaluate("document.querySelector('iframe').clientHeight")
            assert 0 <= inside - content_height < 1  # its border aside, exactly the widget
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375
            # So the last link is inside the frame, and nothing is cut off sideways.
            last = frame.get_by_role("link", name="Full results and how this poll works")
            link = last.bounding_box()
            assert link["y"] + link["height"] <= box["y"] + box["height"]
            scroll_width, client_width = widget.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert scroll_width <= client_width
            assert not [text for text in messages if "Content Security Policy" in text]
    finally:
        context.close()
        server.stop()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/polls/inquiry/embed.html", "/polls/inquiry/sheet.html"])
def test_the_embed_and_the_sheet_pass_axe_and_reflow_at_320px(live_server, browser, path):
    for scheme in ("light", "dark"):
        reader = Reader(browser, viewport={"width": 320, "height": 640}, color_scheme=scheme)
        try:
            reader.page.goto(live_server.url + path)
            assert axe_violations(reader.page) == [], scheme
            widths = reader.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1] == 320
            assert reader.outside == []
        finally:
            reader.close()
