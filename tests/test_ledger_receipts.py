"""Receipts: the browser's receipt goes with the vote and comes back on the
confirmation; the server draws one when none is sent; a sealed ballot is found
in the published ledger under it; it never reaches a log or a cookie."""

from __future__ import annotations

import io
import logging
import time
from argparse import Namespace
from pathlib import Path

from campaign_model.ledger import verify
from campaign_model.ledger.entries import parse_receipt, receipt_code
from poll_service.publish.publisher import publish
from poll_service.store.tables import ledger_entries, pending_ballots
from tests.support.service import api_vote, client_from, count, make_app, seal_all


def voters(app, n):
    return [client_from(app, f"198.51.100.{i + 1}") for i in range(n)]


def test_the_browsers_receipt_is_stored_returned_and_found_in_the_published_ledger(
    tmp_path, caplog
):
    app = make_app(tmp_path, {"test": {}})
    caplog.set_level(logging.DEBUG)
    sent = [bytes([i]) * 16 for i in range(12)]
    cookies = []
    for client, receipt in zip(voters(app, 12), sent, strict=True):
        response = api_vote(client, "test", {"option": "yes", "receipt": receipt.hex()})
        assert response.status_code == 201, response.json
        assert response.json["receipt"] == receipt.hex()
        assert parse_receipt(response.json["receipt_code"]) == receipt
        assert response.headers["Cache-Control"] == "no-store"
        cookies += [c.value for c in client._cookies.values()]
    drawn = api_vote(client_from(app, "198.51.100.200"), "test", {"option": "no"}).json
    assert len(bytes.fromhex(drawn["receipt"])) == 16  # the server drew one
    seal_all(app)
    publish(app, force=True)
    site = Path(app.config["SITE_OUTPUT_DIR"])
    for receipt in [*sent, bytes.fromhex(drawn["receipt"])]:
        out = io.StringIO()
        args = Namespace(
            site=str(site), poll="test", key=[], receipt=receipt_code(receipt),
            state=tmp_path / "state.json", no_save=True,
        )  # fmt: skip
        assert verify.run(args, out) == 0, out.getvalue()
        assert f"receipt {receipt_code(receipt)}: entry" in out.getvalue()
    logged = caplog.text.lower()
    for receipt in sent:
        assert receipt.hex() not in logged and receipt_code(receipt).lower() not in logged
        assert not any(receipt.hex() in c or receipt_code(receipt) in c for c in cookies)
    app.extensions["poll_db"].dispose()


def test_a_malformed_or_reused_receipt_is_refused_and_stores_nothing(tmp_path):
    app = make_app(tmp_path, {"test": {}})
    first, second, third = voters(app, 3)
    for bad in ("abc", "G" * 32, "00" * 15, "AA" * 16, 12):
        response = api_vote(first, "test", {"option": "yes", "receipt": bad})
        assert response.status_code == 422, bad
        assert response.headers["Content-Type"] == "application/problem+json"
    assert count(app, pending_ballots) == 0
    assert api_vote(second, "test", {"option": "yes", "receipt": "ab" * 16}).status_code == 201
    again = api_vote(third, "test", {"option": "no", "receipt": "ab" * 16})
    assert again.status_code == 409 and again.json["type"].endswith("/receipt-in-use")
    assert count(app, pending_ballots) == 1 and count(app, ledger_entries) == 0
    app.extensions["poll_db"].dispose()


def test_the_cli_recounts_from_the_sites_address_over_http(tmp_path):
    from tests.support.live_server import start_live_server

    server = start_live_server(tmp_path, TRUSTED_PROXY_HOPS=1)
    try:
        codes = []
        for i in range(3):
            client = server.app.test_client()
            client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{i + 1}"
            codes.append(api_vote(client, "inquiry", {"option": "no"}).json["receipt_code"])
        checkpoint = Path(server.output) / "ledger/inquiry/checkpoint"
        for _ in range(100):
            if checkpoint.exists() and checkpoint.read_text().split("\n")[1] == "3":
                break
            time.sleep(0.1)
        out = io.StringIO()
        args = Namespace(
            site=server.url, poll="inquiry", key=[], receipt=codes[1],
            state=tmp_path / "state.json", no_save=False,
        )  # fmt: skip
        assert verify.run(args, out) == 0, out.getvalue()
        assert f"receipt {codes[1]}: entry" in out.getvalue()
        assert "All checks passed." in out.getvalue()
    finally:
        server.stop()
