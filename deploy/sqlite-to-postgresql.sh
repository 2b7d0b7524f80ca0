#!/usr/bin/env bash
# Copies the votes, the duplicate-check marks and the hashing keys from the
# single-machine SQLite database into PostgreSQL, when moving to more than one
# machine (docs/operators.md, "Adding a machine").
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
  IF EXISTS (SELECT 1 FROM ballots) THEN
    RAISE EXCEPTION 'ballots is not empty: copy only into a new database';
  END IF;
END \$\$;
\copy ballots(id, poll_id, option_id, cast_hour) FROM PROGRAM 'sqlite3 -bail -csv "$sqlite_file" "SELECT id, poll_id, option_id, cast_hour FROM ballots"' WITH (FORMAT csv)
\copy hash_keys(id, secret, created_at) FROM PROGRAM 'sqlite3 -bail -csv "$sqlite_file" "SELECT id, char(92, 120) || hex(secret), created_at FROM hash_keys"' WITH (FORMAT csv)
\copy vote_marks(digest, expires_at) FROM PROGRAM 'sqlite3 -bail -csv "$sqlite_file" "SELECT char(92, 120) || hex(digest), expires_at FROM vote_marks"' WITH (FORMAT csv)
SELECT setval(pg_get_serial_sequence('ballots', 'id'), coalesce(max(id), 0) + 1, false) FROM ballots;
SELECT setval(pg_get_serial_sequence('hash_keys', 'id'), coalesce(max(id), 0) + 1, false) FROM hash_keys;
SELECT (SELECT count(*) FROM ballots) AS ballots_copied,
       (SELECT count(*) FROM vote_marks) AS marks_copied,
       (SELECT count(*) FROM hash_keys) AS keys_copied;
SQL
