"""How a poll is run, in words: the methodology note the results page and the
service's pages show. It is drawn from a results document (its duplicate
policy, rate limits and visibility), so the words always match the settings
in force when the numbers were counted.
"""

from __future__ import annotations

from datetime import date


def _hours(hours: int) -> str:
    return "hour" if hours == 1 else f"{hours} hours"


def _limit(text: str) -> str:
    """Flask-Limiter's "5 per minute", "5/minute" or "5 per minute;100 per day" in words."""
    parts = []
    for part in text.replace(",", ";").split(";"):
        amount, _, period = part.replace("/", " per ").strip().partition(" ")
        period = period.strip()
        period = period if period.startswith("per ") else f"per {period}"
        parts.append(f"{amount} {'vote' if amount == '1' else 'votes'} {period}")
    return " and ".join(parts)


def one_vote_rule(policy: str, window_hours: int) -> str:
    """The duplicate rule in one sentence, for a reader whose vote it refused."""
    window = _hours(window_hours)
    if policy == "cookie+network":
        return (
            f"This poll counts one vote from each browser, and one from each internet "
            f"connection, every {window}."
        )
    if policy == "cookie":
        return f"This poll counts one vote from each browser every {window}."
    return "This poll counts every vote."


def methodology(document: dict) -> list[str]:
    """What one vote means and how the count is kept, from the poll's real settings."""
    policy = document["duplicate_policy"]
    window = _hours(policy["window_hours"])
    limits = document["rate_limits"]
    duplicates = {
        "cookie+network": (
            f"Each browser can vote once every {window}, and so can each internet "
            "connection (a home, an office or a mobile network address). A second vote "
            "from the same browser or the same connection in that time is refused, so "
            "people who share a connection may find that only one of them can vote."
        ),
        "cookie": (
            f"Each browser can vote once every {window}; a cookie set only when you "
            "vote remembers this. Someone who clears their cookies can vote again."
        ),
        "none": (
            "Nothing stops the same person voting more than once, so the totals "
            "count votes, not people."
        ),
    }[policy["policy"]]
    notes = [
        "This is an open poll: anyone who finds it can answer. It shows what the people "
        "who chose to vote think, not the views of the whole population.",
        duplicates,
        f"To stop automated voting, each connection can send at most "
        f"{_limit(limits['burst'])} and {_limit(limits['sustained'])}, and the poll "
        f"accepts at most {_limit(limits['global'])} from everyone together.",
        "No personal data is kept. For each vote we store only the answer and the hour "
        "it was cast. Duplicate checks use a keyed hash of the connection's address, "
        "never the address itself, and the keys are destroyed after 48 hours, after "
        "which no hash can be linked to anyone.",
    ]
    if document["results_visible"]:
        notes.append(
            "Totals are recounted within seconds of each vote. Percentages are rounded "
            "to one decimal place, so they may not add up to exactly 100. Days are in UTC."
        )
    else:
        notes.append(
            "The answers are counted but not shown until the poll closes, so that early "
            "results cannot sway later votes. Until then only the number of votes is published."
        )
    return notes


def corrections(document: dict) -> list[str]:
    """Each ballot withdrawal a maintainer made, in words, oldest first: when, how
    many, of which answers (where the poll shows them) and why."""
    labels = {option["id"]: option["label"] for option in document.get("options", [])}
    sentences = []
    for correction in document.get("corrections", []):
        n = correction["ballots"]
        when = _day(correction["date"]) if correction["date"] else "On a date not recorded"
        counts = [
            f"{labels.get(option_id, option_id)}: {count:,}"
            for option_id, count in correction.get("options", {}).items()
            if count
        ]
        which = f" ({'; '.join(counts)})" if counts else ""
        votes = "vote was" if n == 1 else "votes were"
        sentences.append(f"{when}, {n:,} {votes} withdrawn{which}. Reason: {correction['reason']}")
    return sentences


def _day(iso_date: str) -> str:
    day = date.fromisoformat(iso_date)
    return f"On {day.day} {day:%B %Y}"
