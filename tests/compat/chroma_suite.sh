#!/usr/bin/env bash
# Chroma's own npm client test suite (chromadb 3.5.0, 194 tests) against a freshly started
# chromahouse: `make compat`. The suite lives outside the project, in
# ../shared/tools/chroma-js-suite (Chroma's files, run from there, never copied here); without
# that folder this script says so and exits 0.
#
#   tests/compat/chroma_suite.sh [--binary build/chromahouse] [--catalog-url postgresql://…]
#
# The server gets a temporary data directory (its embedded ClickHouse) and --allow-reset (every
# test file resets it); its log is printed when the suite fails. Exit status: the suite's.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SUITE="${CHROMA_JS_SUITE:-$ROOT/../shared/tools/chroma-js-suite}"
BINARY="$ROOT/build/chromahouse"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY="$2"; shift 2 ;;
    --catalog-url) EXTRA+=(--catalog-url "$2"); shift 2 ;;
    *) echo "chroma_suite.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [ ! -x "$SUITE/run.sh" ]; then
  echo "skipped: Chroma's npm client suite is not at $SUITE (set CHROMA_JS_SUITE to its folder)"
  exit 0
fi
[ -x "$BINARY" ] || { echo "chroma_suite.sh: no server binary at $BINARY (make build)" >&2; exit 2; }

DIR="$(mktemp -d "${TMPDIR:-/tmp}/chromahouse-compat.XXXXXX")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BINARY" run --host 127.0.0.1 --port "$PORT" --path "$DIR/data" --allow-reset "${EXTRA[@]}" \
  >"$DIR/server.log" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/v2/heartbeat" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { echo "the server exited during start-up:"; cat "$DIR/server.log"; exit 1; }
  sleep 0.1
done
"$SUITE/run.sh" "http://127.0.0.1:$PORT"
status=$?
if [ "$status" -ne 0 ]; then
  echo "== server log (last 40 lines)"
  tail -n 40 "$DIR/server.log"
fi
exit "$status"
