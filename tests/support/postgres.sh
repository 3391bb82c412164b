#!/usr/bin/env bash
# tests/support/postgres.sh — a throwaway PostgreSQL server for the tests (the ctest fixture
# "postgres"), on a unix socket only, with its files in a temp folder.
#
#   postgres.sh start STATE_DIR   starts it; writes STATE_DIR/uri (a libpq URI of its "postgres"
#                                 database) and STATE_DIR/run (its folder)
#   postgres.sh stop STATE_DIR    stops it (fast) and removes its files
#   postgres.sh halt STATE_DIR    stops the server (fast: open transactions are rolled back),
#                                 keeping its data, for outage tests
#   postgres.sh resume STATE_DIR  starts it again after halt
#   postgres.sh freeze STATE_DIR  stops every process of the server with SIGSTOP: it hangs (its
#                                 sockets accept, nothing answers), as a wedged database does
#   postgres.sh thaw STATE_DIR    lets them run again (SIGCONT)
#
# PostgreSQL refuses to run as root: as root, it runs as Debian's "postgres" user (from the
# postgresql-15 package), from a folder that user owns; otherwise as the caller.
set -euo pipefail
self=$(realpath "$0")  # called again below, after the cd
cmd=${1:?start, stop, halt, resume, freeze or thaw}
state=$(realpath -m "${2:?STATE_DIR}")
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/setup installs postgresql-15)" >&2; exit 1; }
cd /tmp  # the server's user may not be able to enter the caller's folder
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_start() {  # RUN_DIR
  as_pg "$bin/pg_ctl" -D "$1/data" -l "$1/log" -w -t 60 \
    -o "-k $1 -c listen_addresses='' -p 5432 -c max_connections=400 -c shared_buffers=64MB" start >/dev/null
}
pg_stop() {  # RUN_DIR
  as_pg "$bin/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

case $cmd in
start)
  "$self" stop "$state"
  mkdir -p "$state"
  run=$(mktemp -d /tmp/localdx-pg.XXXXXX)
  chmod 755 "$run"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$run"; fi
  as_pg "$bin/initdb" -D "$run/data" --auth=trust -U postgres -E UTF8 --no-instructions >/dev/null
  pg_start "$run"
  echo "$run" >"$state/run"
  echo "postgresql://postgres@/postgres?host=$run&port=5432" >"$state/uri"
  ;;
stop)
  [ -f "$state/run" ] || exit 0
  run=$(cat "$state/run")
  pg_stop "$run"
  rm -rf "$run" "$state/run" "$state/uri"
  ;;
halt) pg_stop "$(cat "$state/run")" ;;
resume) pg_start "$(cat "$state/run")" ;;
freeze | thaw)
  run=$(cat "$state/run")
  pid=$(head -1 "$run/data/postmaster.pid")
  sig=STOP; [ "$cmd" = thaw ] && sig=CONT
  # shellcheck disable=SC2046
  kill -s "$sig" "$pid" $(pgrep -P "$pid" || true)
  ;;
*) echo "postgres.sh: start, stop, halt, resume, freeze or thaw" >&2; exit 2 ;;
esac
