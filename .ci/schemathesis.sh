#!/usr/bin/env bash
# Runs schemathesis (every check; coverage, fuzzing and stateful phases) against a fresh `hocd` on SQLite, driven by
# the server's own /openapi.json. Exit status is schemathesis's: any failure fails CI.
#
#   .ci/schemathesis.sh [MAX_EXAMPLES] [SEED]      defaults: 50 examples per operation, a fixed seed (reproducible);
#                                                  pass SEED=random to explore.
# What the configuration allows and why: .ci/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${1:-50}"
seed="${2:-20261128}"

# The current release, every run: its checks grow (4.32 validates each Server-Sent Event against the document).
python3 -m pip install -q --upgrade --disable-pip-version-check --root-user-action=ignore schemathesis
schemathesis --version

cargo build -q -p hoc-server --bin hocd
hocd="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/hocd"

work="$(mktemp -d)"
db="sqlite://$work/hoc.db?mode=rwc"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="$("$hocd" keys create --database-url "$db" --tenant schemathesis --actor fuzzer --scope write)"
ingest_key="$("$hocd" keys create --database-url "$db" --tenant schemathesis --actor monitor --scope ingest)"
"$hocd" serve --database-url "$db" --bind "127.0.0.1:$port" >"$work/hocd.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

seed_args=(--seed "$seed")
[ "$seed" = random ] && seed_args=()
# One worker: CPython 3.11's ast.parse is not thread-safe, and hypothesis calls it while describing strategies.
schemathesis --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --checks all --phases coverage,fuzzing,stateful --max-examples "$max_examples" "${seed_args[@]}" \
  --workers 1 --no-color -H "Authorization: Bearer $key" \
  --exclude-operation-id alertmanager_webhook --exclude-operation-id pagerduty_enqueue
# The alert integrations with the key they take (an `ingest` key, which reaches nothing else).
schemathesis --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --checks all --phases coverage,fuzzing --max-examples "$max_examples" "${seed_args[@]}" \
  --workers 1 --no-color -H "Authorization: Bearer $ingest_key" \
  --include-operation-id alertmanager_webhook --include-operation-id pagerduty_enqueue
