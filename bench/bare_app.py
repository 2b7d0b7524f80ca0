"""The peer for the vote benchmark: a bare Flask endpoint with the vote's URL.

It parses the JSON body and answers 201 with JSON, as the real vote does, but
checks nothing and stores nothing. Served by the same server with the same
settings (python -m poll_service.serve --app bench.bare_app:app), it shows what
Flask and the server alone cost on this machine.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/poll/api/polls/<poll_id>/votes")
def vote(poll_id: str):
    body = request.get_json()
    return jsonify({"status": "recorded", "poll": poll_id, "option": body.get("option")}), 201
