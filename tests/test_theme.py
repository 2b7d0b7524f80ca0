"""The theme on the built real site: safeguarding on every page, markup contracts,
no third-party requests, the page-weight budget, and fingerprinted assets."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from campaign_model.assets import AssetManifest, fingerprinted_name
from tests.support.paths import ROOT
from tests.support.service import csrf_token_from
from tests.support.site import build_site
from tests.support.site_content import campaign_article

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

ARTICLE = campaign_article().save_as
BUDGET_BYTES = 50 * 1024
# <link rel> values that make the browser fetch something.
FETCHING_RELS = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest"}
FETCHING_ATTRS = {"src", "srcset", "poster", "data"}


class Resources(HTMLParser):
    """What a page makes the browser fetch: stylesheets, scripts, icons, images."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and FETCHING_RELS & set((attrs.get("rel") or "").split()):
            self.urls.append(attrs["href"])
            if "stylesheet" in attrs["rel"].split():
                self.stylesheets.append(attrs["href"])
        for name in FETCHING_ATTRS & attrs.keys():
            self.urls.append(attrs[name])
        if tag == "script" and "src" in attrs:
            self.scripts.append(attrs["src"])


def resources(html: str) -> Resources:
    parser = Resources()
    parser.feed(html)
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "polls" not in p.parts)


def test_every_page_loads_only_files_from_our_own_site(built_site):
    pages = html_pages(built_site)
    assert len(pages) >= 9
    for page in pages:
        for url in resources(page.read_text(encoding="utf-8")).urls:
            assert url.startswith("/") and not url.startswith("//"), f"{page}: {url}"
            assert (built_site / url.lstrip("/")).is_file(), f"{page}: {url} is missing"


def test_stylesheets_and_scripts_fetch_nothing_from_other_sites():
    for path in (ROOT / "theme" / "static").rglob("*"):
        if path.suffix in {".css", ".js"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"https?://|@import|@font-face|url\(\s*['\"]?//", text), path


def test_no_page_has_inline_script_or_style(built_site):
    """The Content-Security-Policy allows neither, so they would silently not work.

    JSON-LD is data, not script, and is allowed."""
    for page in html_pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/ld\+json\"))", html), page
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), page


def test_every_page_has_our_favicon(built_site):
    for page in html_pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert '<link rel="icon" href="/theme/favicon.svg" type="image/svg+xml">' in html
    assert (built_site / "theme" / "favicon.svg").read_text().startswith("<svg")


def page_weight(site: Path, page: Path) -> int:
    """The page's HTML plus every stylesheet, script and icon it loads, in bytes."""
    html = page.read_text(encoding="utf-8")
    found = resources(html)
    assert found.stylesheets and found.scripts  # the sum covers real files
    files = {site / url.lstrip("/") for url in found.urls}  # scripts are among them
    return len(html.encode()) + sum(f.stat().st_size for f in files)


def test_every_article_page_with_its_css_and_js_weighs_under_50_kb(built_site):
    articles = sorted(built_site.glob("[0-9][0-9][0-9][0-9]/*/index.html"))
    assert built_site / ARTICLE in articles
    for article in articles:
        weight = page_weight(built_site, article)
        print(f"{article.relative_to(built_site)}: {weight} bytes")
        assert weight < BUDGET_BYTES, article


def test_the_quick_exit_comes_right_after_the_skip_link_on_every_page(built_site):
    for page in html_pages(built_site):
        html = page.read_text(encoding="utf-8")
        links = re.findall(r"<a [^>]*>", html)
        assert 'class="skip-link"' in links[0], page
        assert 'class="exit-this-page__button"' in links[1], page
        assert 'href="https://www.bbc.co.uk/weather"' in links[1], page
        assert 'id="help-panel-heading"' in html, page


def test_the_exit_url_is_configurable(tmp_path):
    site = build_site(tmp_path / "output", EXIT_URL="https://www.example.org/")
    html = (site / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://www.example.org/" class="exit-this-page__button"' in html


def test_the_content_note_comes_before_the_article_text(built_site):
    html = (built_site / ARTICLE).read_text(encoding="utf-8")
    note = html.index('class="content-note"')
    assert campaign_article().metadata["content_note"] in html[note : note + 400]
    assert note < html.index('class="article__body"')
    home = (built_site / "index.html").read_text(encoding="utf-8")
    summary = home[home.index(f'href="/{ARTICLE.removesuffix("index.html")}"') :]
    assert summary.index('class="content-note"') < summary.index('class="summary__text"')


def test_a_content_note_is_shown_as_text_not_markup(tmp_path):
    post = tmp_path / "content" / "posts" / "a.md"
    post.parent.mkdir(parents=True)
    post.write_text(
        "Title: A\nDate: 2014-07-20\nSlug: a\nContent_note: Abuse <script>x()</script>\n\nText.\n"
    )
    site = build_site(tmp_path / "output", PATH=str(tmp_path / "content"))
    html = (site / "2014" / "a" / "index.html").read_text(encoding="utf-8")
    assert "Abuse &lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script>x()" not in html


def test_the_current_page_is_marked_in_the_navigation(built_site):
    html = (built_site / "results" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', html) == ["/results/"]


def test_the_article_poll_is_an_accessible_form(built_site):
    html = (built_site / ARTICLE).read_text(encoding="utf-8")
    form = html[html.index("<form") : html.index("</form>")]
    assert '<fieldset class="fieldset">' in form
    assert "<legend" in form and " checked" not in form
    assert len(re.findall(r'<label class="radios__label" for="option[^"]*">', form)) == 4
    assert '<button type="submit" class="button">Vote</button>' in form


# The poll service renders the same theme.


def test_the_service_pages_have_the_theme_exit_and_help(client):
    html = client.get("/poll/inquiry/").get_data(as_text=True)
    assert 'class="exit-this-page__button"' in html and "0800 1111" in html
    assert "/theme/js/error-summary." in html


def test_the_service_shows_a_themed_404(client):
    for path in ("/poll/no-such-poll/", "/poll/no/such/page"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "<title>Error: " in html
        assert 'class="exit-this-page__button"' in html and "0800 1111" in html
        assert '<link rel="stylesheet" href="/theme/css/site.css">' in html


def test_a_vote_without_an_answer_gets_an_error_summary_and_inline_error(client):
    token = csrf_token_from(client.get("/poll/inquiry/").get_data(as_text=True))
    response = client.post(
        "/poll/inquiry/vote", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"<title>Error: ", html)
    assert 'data-module="error-summary"' in html and 'href="#option"' in html
    assert '<fieldset class="fieldset" aria-describedby="option-error">' in html
    assert '<span class="visually-hidden">Error:</span>' in html
    assert 'id="option" name="option"' in html


# Fingerprinted assets, for long caching.


def test_css_and_js_are_fingerprinted_with_a_manifest(built_site):
    manifest = json.loads((built_site / "theme" / "manifest.json").read_text())
    sources = ROOT / "theme" / "static"
    expected = {
        p.relative_to(sources).as_posix() for p in sources.rglob("*") if p.suffix in {".css", ".js"}
    }
    assert set(manifest) == expected
    for name, hashed in manifest.items():
        served = (built_site / "theme" / hashed).read_bytes()
        digest = hashlib.sha256(served).hexdigest()[:10]
        assert hashed == re.sub(r"(\.\w+)$", f".{digest}\\1", name)  # named by what is served
        # Served minified: the sources' comments are for us, not for a reader's data.
        source = (sources / name).read_text(encoding="utf-8")
        assert len(served) < len(source.encode()), name
        if "/*" in source:
            assert b"/*" not in served, name


def test_pages_link_the_fingerprinted_files(built_site):
    manifest = json.loads((built_site / "theme" / "manifest.json").read_text())
    hashed_urls = {"/theme/" + hashed for hashed in manifest.values()}
    html = (built_site / ARTICLE).read_text(encoding="utf-8")
    found = resources(html)
    assert set(found.stylesheets + found.scripts) <= hashed_urls
    assert "/theme/" + manifest["css/site.css"] in found.stylesheets


def test_the_service_reads_the_same_urls_from_the_manifest(built_site):
    asset_url = AssetManifest.published(built_site).url
    html = (built_site / "index.html").read_text(encoding="utf-8")
    assert f'<link rel="stylesheet" href="{asset_url("css/site.css")}">' in html
    assert asset_url("css/site.css") != "/theme/css/site.css"


def test_a_changed_stylesheet_gets_a_new_name(tmp_path):
    theme = shutil.copytree(ROOT / "theme", tmp_path / "theme")
    first = build_site(tmp_path / "first", THEME=str(theme))
    css = theme / "static" / "css" / "site.css"
    css.write_text(css.read_text() + "\n.new-rule { color: red; }\n")
    second = build_site(tmp_path / "second", THEME=str(theme))

    def stylesheet(site):
        return json.loads((site / "theme" / "manifest.json").read_text())["css/site.css"]

    assert stylesheet(first) != stylesheet(second)
    assert stylesheet(second) in (second / "index.html").read_text(encoding="utf-8")
    assert ".new-rule" in (second / "theme" / stylesheet(second)).read_text()


def test_other_assets_keep_their_names(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("a{}")
    (tmp_path / "icon.svg").write_text("<svg/>")
    manifest = AssetManifest.from_folder(tmp_path)
    assert manifest.url("icon.svg") == "/theme/icon.svg"
    assert manifest.url("css/a.css") == "/theme/" + fingerprinted_name("css/a.css", b"a{}")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("css/site.css", b"", "css/site.e3b0c44298.css"),
        ("js/exit-this-page.js", b"x", "js/exit-this-page.2d711642b7.js"),
    ],
)
def test_fingerprinted_names(name, content, expected):
    assert fingerprinted_name(name, content) == expected
