"""The tables, as SQLAlchemy Core metadata. Alembic's migrations (migrations/) build them."""

from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

# One row per vote: which poll, which option, and the hour it was cast. Nothing
# here can be joined to vote_marks or to a person.
ballots = Table(
    "ballots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poll_id", String(64), nullable=False, index=True),
    Column("option_id", String(64), nullable=False),
    Column("cast_hour", DateTime(timezone=True), nullable=False),
)

# Duplicate checks: HMAC digests of (network address + poll) under a rotating
# key. The digest is the primary key so rows are stored in random order and
# carry no insertion sequence that could be lined up with ballots.
vote_marks = Table(
    "vote_marks",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    sqlite_with_rowid=False,
)

# The keys for those digests. Each is random, used for one day, and deleted
# 48 hours after it was made.
hash_keys = Table(
    "hash_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# Only one publisher may write the published results at a time, across
# processes and machines: the holder claims a lease by updating this row
# (see poll_service/publish/lock.py). Owned by the publishing work.
publish_lock = Table(
    "publish_lock",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


# Transparency: how many vote requests were accepted and refused, by reason,
# per poll per hour. Counters only: nothing here says who asked.
vote_outcomes = Table(
    "vote_outcomes",
    metadata,
    Column("poll_id", String(64), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("outcome", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
)

# The trending-network report: vote requests per network digest per poll per
# hour, under the rotating keys (keys.py). Rows go with the keys, after 48 h.
network_activity = Table(
    "network_activity",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("poll_id", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Proof-of-work challenges already used for a vote: each may carry one vote
# only, so its digest is kept until the challenge would have expired anyway.
spent_challenges = Table(
    "spent_challenges",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    sqlite_with_rowid=False,
)
