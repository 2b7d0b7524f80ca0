"""bench.profile_parts: py-spy's raw stacks grouped into the vote's parts."""

from __future__ import annotations

from bench.profile_parts import main, parts

SERVER = "_callback_wrapper.<locals>._runner (granian/wsgi.py:57)"
FLASK = "Flask.__call__ (flask/app.py:1536)"
STACKS = [
    ("Thread.run (threading.py:982);GroupWriter._loop (poll_service/store/writer.py:120)", 30),
    (
        f"{SERVER};{FLASK};vote (poll_service/web/api.py:111);"
        "record_vote (poll_service/store/ballots.py:80);"
        "_MarkClaim.already_marked (poll_service/store/ballots.py:120)",
        10,
    ),
    (f"{SERVER};{FLASK};CSRFProtect.init_app.<locals>.csrf_protect (flask_wtf/csrf.py:100)", 5),
    ("_callback_wrapper.<locals>._runner (granian/wsgi.py:62)", 5),  # the answer written
]


def test_samples_go_to_the_first_part_on_their_stack(tmp_path, capsys):
    profile = tmp_path / "profile.1.txt"
    profile.write_text("".join(f"{stack} {n}\n" for stack, n in STACKS))
    grouped = parts([profile])
    assert grouped["writer thread (group transaction, receipt lookup, insert)"] == 30
    # Inside the server and Flask, but the marks' read is what it was doing.
    assert grouped["marks: the duplicate read and the claim"] == 10
    assert grouped["CSRF (Flask-WTF)"] == 5
    assert grouped["the server (granian)"] == 5
    assert main([str(profile), "--cpu-ms", "2.0"]) == 0
    printed = capsys.readouterr().out
    assert "50 samples" in printed
    assert "60.0%  1.20 ms" in printed  # the writer: 30 of 50 samples of 2 ms
