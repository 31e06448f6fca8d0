#!/usr/bin/env bash
# The whole suite on SQLite and, side by side, the tests that touch a database on a throwaway
# PostgreSQL cluster when its binaries exist.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
start=$(date +%s)

# Browser tests drive Debian's Chromium; install it once if missing (never a downloaded browser).
if [ ! -x /usr/bin/chromium ] && [ -d tests/e2e ]; then
  echo "== installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "!! could not install chromium: browser tests will fail"
  else
    echo "!! /usr/bin/chromium is missing and this is not root: install Debian's chromium package"
  fi
fi

# The job and rate-limit tests run on Redis too; a throwaway redis-server is started by the suite
# (tests/conftest.py), so only Debian's package is needed.
if [ ! -x /usr/bin/redis-server ]; then
  echo "== installing Debian's redis-server for the job and rate-limit tests"
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
      || echo "!! could not install redis-server: the Redis variants of the tests are skipped"
  else
    echo "!! /usr/bin/redis-server is missing and this is not root: the Redis variants are skipped"
  fi
fi
# Debian's package starts a redis-server service of its own; the suite never uses it.

echo "== static checks: ruff, mypy --strict, import contracts"
$BIN/ruff check . || exit 1
$BIN/mypy || exit 1
$BIN/lint-imports --no-cache || exit 1

# The two passes run side by side (each is one pytest process, so each keeps one core busy):
# the PostgreSQL pass in the background into a log, printed when the SQLite pass has finished.
pg_status=0
pg_pid=""
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
WORK=$(mktemp -d /tmp/courseware-test.XXXXXX)
cleanup() {
  [ -n "${pg_pid:-}" ] && kill "$pg_pid" 2>/dev/null
  if [ -n "${PGDIR:-}" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" stop -m fast >/dev/null 2>&1
    rm -rf "$PGDIR"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && id postgres >/dev/null 2>&1; then
  PGDIR=$(mktemp -d /tmp/courseware-pg.XXXXXX)
  chown postgres "$PGDIR"
  PORT=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  echo "== starting a throwaway PostgreSQL cluster on port $PORT"
  if runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$PGDIR/initdb.log" 2>&1 \
     && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/log" \
          -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
    echo "== test suite on PostgreSQL (the tests that touch a database), in the background"
    TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres" \
      $BIN/pytest -p no:cacheprovider --basetemp="$WORK/pg" "$@" >"$WORK/pg.log" 2>&1 &
    pg_pid=$!
  else
    echo "!! PostgreSQL failed to start:"; cat "$PGDIR/initdb.log" "$PGDIR/log" 2>/dev/null | tail -20
    pg_status=1
  fi
else
  echo "== PostgreSQL binaries not found (/usr/lib/postgresql/*/bin): skipping the PostgreSQL run"
fi

echo "== test suite on SQLite, with branch coverage of courseware/"
$BIN/pytest -p no:cacheprovider --basetemp="$WORK/sqlite" --cov=courseware --cov-branch \
  --cov-report=term:skip-covered --cov-fail-under=90 "$@"
sqlite_status=$?

if [ -n "$pg_pid" ]; then
  wait "$pg_pid"
  pg_status=$?
  echo "== test suite on PostgreSQL: its output"
  cat "$WORK/pg.log"
fi

echo "== make test took $(( $(date +%s) - start )) s (SQLite exit $sqlite_status, PostgreSQL exit $pg_status)"
[ "$sqlite_status" = 0 ] && [ "$pg_status" = 0 ]
