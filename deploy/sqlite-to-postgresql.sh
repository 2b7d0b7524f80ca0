#!/usr/bin/env bash
# Copies the votes (the sealed ledger and the pending ballots) from the
# single-machine SQLite database into PostgreSQL, when moving to more than one
# machine (docs/operators.md, "Adding a machine"). Duplicate marks and hashing
# keys are not in that database (poll_service/store/marks.py) and are not
# copied: the machines share them in Redis (POLL_MARKS_URL), starting afresh.
#
#   deploy/sqlite-to-postgresql.sh instance/votes.sqlite3 postgresql://poll:PASSWORD@10.0.0.11/poll
#
# The PostgreSQL database must have its tables (`flask --app poll_service poll
# init-db` with POLL_DATABASE_URL pointing at it) and no votes yet. Stop the
# poll service first, so no vote arrives in SQLite during the copy. Everything
# is copied in one transaction: on any error nothing is kept.
# Needs the sqlite3 and psql programs (Debian packages sqlite3, postgresql-client).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SQLITE_FILE POSTGRESQL_URL" >&2
  exit 2
fi
sqlite_file=$1
postgresql_url=${2/postgresql+psycopg:/postgresql:}  # psql wants the plain form

if [ ! -r "$sqlite_file" ] || [[ "$sqlite_file" == *"'"* ]]; then
  echo "$0: cannot read $sqlite_file (or its name has a quote in it)" >&2
  exit 2
fi

# SQLite keeps times as UTC text without a zone, so PostgreSQL reads them in UTC.
# Binary columns travel as \x-prefixed hex (char(92, 120) is "\x").
export PGOPTIONS="-c timezone=UTC"
psql "$postgresql_url" --quiet --no-psqlrc --single-transaction -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF EXISTS (SELECT 1 FROM ledger_entries) OR EXISTS (SELECT 1 FROM pending_ballots) THEN
    RAISE EXCEPTION 'ledger_entries is not empty: copy only into a new database';
  END IF;
END \$\$;
\copy ledger_entries(poll_id, position, batch, kind, option_id, receipt, note) FROM PROGRAM 'sqlite3 -bail -csv "$sqlite_file" "SELECT poll_id, position, batch, kind, option_id, char(92, 120) || hex(receipt), note FROM ledger_entries ORDER BY poll_id, position"' WITH (FORMAT csv)
\copy pending_ballots(receipt, poll_id, option_id, cast_hour) FROM PROGRAM 'sqlite3 -bail -csv "$sqlite_file" "SELECT char(92, 120) || hex(receipt), poll_id, option_id, cast_hour FROM pending_ballots ORDER BY receipt"' WITH (FORMAT csv)
SELECT (SELECT count(*) FROM ledger_entries) AS entries_copied,
       (SELECT count(*) FROM pending_ballots) AS pending_copied;
SQL
