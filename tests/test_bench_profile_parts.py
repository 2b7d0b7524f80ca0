"""bench.profile_parts: py-spy's raw stacks grouped into the vote's parts."""

from __future__ import annotations

from bench.profile_parts import main, parts

SERVER = "_callback_wrapper.<locals>._runner (granian/wsgi.py:57)"
FLASK = "Flask.__call__ (flask/app.py:1536)"
WRITER = "Thread.run (threading.py:982);GroupWriter._loop (poll_service/store/writer.py:120)"
STACKS = [
    (WRITER, 30),
    # The writer reading the group's marks: the marks' part, not the writer's.
    (
        f"{WRITER};_StoreBallot.together (poll_service/store/ballots.py:200);"
        "SQLiteMarks.marked_among (poll_service/store/marks.py:260)",
        6,
    ),
    (
        f"{SERVER};{FLASK};vote (poll_service/web/api.py:111);"
        "record_vote (poll_service/store/ballots.py:80);"
        "_MarkClaim.__init__ (poll_service/store/ballots.py:120)",
        4,
    ),
    (f"{SERVER};{FLASK};CSRFProtect.init_app.<locals>.csrf_protect (flask_wtf/csrf.py:100)", 5),
    ("_callback_wrapper.<locals>._runner (granian/wsgi.py:62)", 5),  # the answer written
]


def test_samples_go_to_the_first_part_on_their_stack(tmp_path, capsys):
    profile = tmp_path / "profile.1.txt"
    profile.write_text("".join(f"{stack} {n}\n" for stack, n in STACKS))
    grouped = parts([profile])
    assert grouped["writer thread (group transaction, receipt lookup, insert)"] == 30
    # Inside the writer, or the server and Flask, but the marks are what it was doing.
    assert grouped["marks: the duplicate read and the claim"] == 10
    assert grouped["CSRF (Flask-WTF)"] == 5
    assert grouped["the server (granian)"] == 5
    assert main([str(profile), "--cpu-ms", "2.0"]) == 0
    printed = capsys.readouterr().out
    assert "50 samples" in printed
    assert "60.0%  1.20 ms" in printed  # the writer: 30 of 50 samples of 2 ms
