"""The browser verifier (/check-your-vote/, theme/static/js/ledger-check.js) in
Debian's Chromium: votes with and without JavaScript, then each receipt is found
with a verified signature and inclusion proof, the CLI agrees, and every kind of
tampering is named for what it is."""

from __future__ import annotations

import io
import re
import shutil
import time
from argparse import Namespace
from pathlib import Path

import pytest
from playwright.sync_api import expect

from campaign_model.ledger import notes, verify
from campaign_model.ledger.entries import Entry, parse_receipt
from campaign_model.ledger.static_log import publish_ledger
from campaign_model.ledger.tiles import bundle_path, decode_bundle, encode_bundle
from poll_service.store.ledger import read_entries
from tests.support.live_server import start_live_server

pytestmark = pytest.mark.browser

ARTICLE = "/2014/why-we-need-an-inquiry/"
VOTERS = iter(range(1, 250))
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{1,4}){6}")


@pytest.fixture
def server(tmp_path):
    server = start_live_server(tmp_path, TRUSTED_PROXY_HOPS=1)
    yield server
    server.stop()


def new_voter(browser, **options):
    """A browser context that comes from a network of its own (one proxy hop trusted)."""
    address = f"198.51.100.{next(VOTERS)}"
    return browser.new_context(extra_http_headers={"X-Forwarded-For": address}, **options)


def vote_with_javascript(server, browser, option: str) -> str:
    context = new_voter(browser)
    page = context.new_page()
    page.goto(server.url + ARTICLE)
    page.get_by_label(option, exact=True).check()
    page.get_by_role("button", name="Vote").click()
    code = page.locator(".poll-receipt__code")
    expect(code).to_have_text(CODE)
    expect(page.get_by_role("link", name="Check my vote later")).to_have_attribute(
        "href", "/check-your-vote/"
    )
    text = code.text_content()
    context.close()
    return text


def vote_without_javascript(server, browser, option: str) -> str:
    context = new_voter(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/poll/inquiry/")
    page.get_by_label(option, exact=True).check()
    page.get_by_role("button", name="Vote").click()
    code = page.locator(".poll-receipt__code").text_content()
    assert CODE.fullmatch(code) and code not in page.url
    context.close()
    return code


def wait_for_ledger(server, size: int) -> None:
    checkpoint = Path(server.output) / "ledger/inquiry/checkpoint"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if checkpoint.exists() and checkpoint.read_text().split("\n")[1] == str(size):
            return
        time.sleep(0.1)
    raise AssertionError(f"the ledger did not reach {size} entries")


def check(page, server, code: str):
    page.goto(server.url + "/check-your-vote/")
    page.get_by_label("Poll").select_option("inquiry")
    page.get_by_label("Your receipt").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Check").click()
    result = page.locator("#ledger-result")
    expect(result).not_to_have_text(re.compile("^Checking"), timeout=15_000)
    return result


def test_every_receipt_verifies_in_the_browser_and_with_the_cli(server, browser, tmp_path):
    codes = {
        vote_with_javascript(server, browser, "Yes, led by a judge"): "yes-judge",
        vote_without_javascript(server, browser, "No"): "no",
    }
    wait_for_ledger(server, 2)
    context = browser.new_context()
    page = context.new_page()
    for code, option in codes.items():
        result = check(page, server, code)
        expect(result).to_contain_text("signature verified")
        expect(result).to_contain_text("Your vote is in the ledger: entry")
        expect(result).to_contain_text(f"a vote for \u201c{option}\u201d")
        out = io.StringIO()
        args = Namespace(
            site=str(server.output), poll="inquiry", key=[], receipt=code,
            state=tmp_path / "cli.json", no_save=False,
        )  # fmt: skip
        assert verify.run(args, out) == 0, out.getvalue()
        assert "All checks passed." in out.getvalue()
    # The second visit checks consistency with the checkpoint saved by the first.
    expect(check(page, server, next(iter(codes)))).to_contain_text("consistency proof verified")
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert not any(parse_receipt(c).hex() in stored or c in stored for c in codes)
    context.close()


def test_tampering_is_named_in_the_browser(server, browser):
    code = vote_with_javascript(server, browser, "Yes, led by a judge")
    vote_with_javascript(server, browser, "No")
    vote_with_javascript(server, browser, "Yes, led by a child abuse expert")
    wait_for_ledger(server, 3)
    server.publisher.stop()
    server.publisher.join()
    folder = Path(server.output) / "ledger/inquiry"
    pristine = folder.parent / "pristine"
    shutil.copytree(folder, pristine)
    receipt = parse_receipt(code).hex().encode()
    bundle_file = folder / bundle_path(0, 3)
    entries = decode_bundle(bundle_file.read_bytes())
    mine = next(i for i, e in enumerate(entries) if receipt in e)
    context = browser.new_context()
    page = context.new_page()
    expect(check(page, server, code)).to_contain_text("Your vote is in the ledger")

    def restore():
        shutil.rmtree(folder)
        shutil.copytree(pristine, folder)

    changed = list(entries)
    changed[mine] = changed[mine].replace(b"\tyes-judge\t", b"\tno\t")
    bundle_file.write_bytes(encode_bundle(changed))
    expect(check(page, server, code)).to_contain_text(
        f"The entry with your receipt (position {mine}) was changed"
    )
    restore()
    bundle_file.write_bytes(
        encode_bundle([e for i, e in enumerate(entries) if i != (mine + 1) % 3])
    )
    expect(check(page, server, code)).to_contain_text(
        "holds 2 entries; the signed tree needs 3 there (an entry was dropped or added)"
    )
    restore()
    other = (mine + 1) % 3
    swapped = list(entries)
    swapped[mine], swapped[other] = swapped[other], swapped[mine]
    bundle_file.write_bytes(encode_bundle(swapped))
    expect(check(page, server, code)).to_contain_text(
        f"is at position {other}, but the signed tree holds it at {mine}:"
        " the entries were reordered"
    )
    restore()
    note = notes.Note.parse((folder / "checkpoint").read_text())
    impostor = notes.SignerKey.generate("localhost/ledger")
    (folder / "checkpoint").write_text(str(notes.sign_note(note.text, impostor)))
    expect(check(page, server, code)).to_contain_text("The checkpoint is not signed by our key")
    restore()
    (folder / "checkpoint").write_text(str(note).replace("\n3\n", "\n2\n"))
    expect(check(page, server, code)).to_contain_text(
        "does not match its text: the checkpoint was altered"
    )
    restore()
    # The operator rewrites history under the real key: an earlier entry changed,
    # one added. This browser saw the 3-entry checkpoint before.
    real = notes.SignerKey.parse(
        next((Path(server.output).parent / "ledger-keys").glob("*.key")).read_text()
    )
    current = read_entries(server.app.extensions["poll_db"], "inquiry")
    victim = (mine + 1) % 3
    flipped = {"no": "yes-judge", "yes-judge": "no", "yes-expert": "no"}
    forged = [
        Entry(e.kind, e.poll, e.batch, flipped[e.option], e.receipt) if i == victim else e
        for i, e in enumerate(current)
    ] + [Entry("ballot", "inquiry", current[-1].batch[:14] + "-99", "no", b"\xfe" * 16)]
    shutil.rmtree(folder)
    publish_ledger(folder, "localhost/ledger/inquiry", forged, real)
    expect(check(page, server, code)).to_contain_text(
        "The ledger no longer extends the checkpoint you saw on your last visit (3 entries)"
    )
    context.close()


def test_a_browser_without_ed25519_says_the_signature_was_not_checked(server, browser):
    code = vote_with_javascript(server, browser, "No")
    wait_for_ledger(server, 1)
    context = browser.new_context()
    # What a browser older than Chrome 137 / Firefox 129 / Safari 17 does.
    context.add_init_script(
        """
        const importKey = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
          (algorithm && algorithm.name === "Ed25519")
            ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
            : importKey(format, data, algorithm, ...rest);
        """
    )
    page = context.new_page()
    result = check(page, server, code)
    expect(result).to_contain_text("the checkpoint's signature was NOT checked")
    expect(result).to_contain_text("Your vote is in the ledger")
    assert page.evaluate("localStorage.length") == 0  # nothing unverified is remembered
    context.close()
