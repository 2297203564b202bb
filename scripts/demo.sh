#!/usr/bin/env bash
# make demo: the whole granary story on one machine, end to end.
# Starts `granary dev` (Temporal dev server + UI, a worker, a file:// lake
# under .granary/), runs every step a user would, then stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."

GRANARY=${GRANARY:-./bin/granary}
STATE=${GRANARY_DEMO_STATE:-.granary}
PORT=${GRANARY_DEMO_PORT:-7233}
UI_PORT=${GRANARY_DEMO_UI_PORT:-8233}
SERVE_PORT=${GRANARY_DEMO_SERVE_PORT:-8090}
export GRANARY_TEMPORAL_ADDRESS="127.0.0.1:${PORT}"
export GRANARY_LAKE="file://${STATE}/lake"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mkdir -p "$STATE"
rm -f "$STATE/dev.json"
step "starting the local stack: $GRANARY dev (logs in $STATE/dev.out)"
"$GRANARY" dev --state-dir "$STATE" --port "$PORT" --ui-port "$UI_PORT" --serve-port "$SERVE_PORT" >"$STATE/dev.out" 2>&1 &
DEV_PID=$!
cleanup() {
  if kill -0 "$DEV_PID" 2>/dev/null; then
    kill -TERM "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  [[ -f "$STATE/dev.json" ]] && break
  if ! kill -0 "$DEV_PID" 2>/dev/null; then
    echo "granary dev exited early:" >&2; cat "$STATE/dev.out" >&2; exit 1
  fi
  sleep 0.5
done
[[ -f "$STATE/dev.json" ]] || { echo "granary dev did not become ready in 120s" >&2; cat "$STATE/dev.out" >&2; exit 1; }
cat "$STATE/dev.out"

step "1. the stack works: a workflow round-trips an object through the lake"
"$GRANARY" lake check

step "2. generate the shop example's data (deterministic, seed 7)"
go run ./examples/shop/gen --out "$STATE/data"
sed -n 1,3p "$STATE/data/orders.csv"

step "3. import orders.csv as a dataset version (CommitDataset workflow)"
"$GRANARY" dataset import orders "$STATE/data/orders.csv" --tag demo --wait

step "4. import the same bytes again: same version id, nothing rewritten"
"$GRANARY" dataset import orders "$STATE/data/orders.csv" --tag demo --wait

step "5. inspect it: schema, statistics, lineage, the run in the Temporal UI"
"$GRANARY" dataset show orders@demo

step "6. import the churn labels (the training spine), list datasets, see the ref log"
"$GRANARY" dataset import churn_labels "$STATE/data/churn_labels.csv" --wait
"$GRANARY" dataset list
"$GRANARY" dataset log orders

step "7. export the version as CSV"
"$GRANARY" dataset export orders@demo --out "$STATE/export/orders" --format csv
sed -n 1,3p "$STATE/export/orders/part-00000.csv"

step "8. validate and apply the feature spec (entities, sources, feature views, training sets)"
cat examples/shop/features.yaml
"$GRANARY" features validate examples/shop/features.yaml
"$GRANARY" features apply examples/shop/features.yaml

step "9. extract the user_orders feature view (ExtractFeatures workflow: partition by user, sort by time)"
"$GRANARY" extract user_orders --shards 4 --wait
"$GRANARY" features show user_orders

step "10. build the churn training set: exact point-in-time join onto the labels, split by user"
"$GRANARY" build churn --wait --out "$STATE/training/churn"
ls -R "$STATE/training/churn" | sed -n 1,12p
"$GRANARY" dataset show training.churn | sed -n 1,30p

step "11. register two model versions trained on it, promote through gates and an approval"
printf 'churn model v1\n' > "$STATE/model-v1.bin"; printf '{"auc": 0.81, "loss": 0.42}' > "$STATE/metrics-v1.json"
printf 'churn model v2\n' > "$STATE/model-v2.bin"; printf '{"auc": 0.84, "loss": 0.39}' > "$STATE/metrics-v2.json"
V1=$("$GRANARY" --output json model register churn "$STATE/model-v1.bin" --metrics "$STATE/metrics-v1.json" --dataset training.churn --framework demo | sed -n 's/.*"version": "\(.*\)".*/\1/p')
V2=$("$GRANARY" --output json model register churn "$STATE/model-v2.bin" --metrics "$STATE/metrics-v2.json" --dataset training.churn --framework demo | sed -n 's/.*"version": "\(.*\)".*/\1/p')
"$GRANARY" model promote "churn@$V1" --to prod --gate 'auc >= 0.8' --wait
"$GRANARY" model promote "churn@$V2" --to prod --gate 'auc >= champion.auc - 0.01' --require-approval
for _ in $(seq 1 50); do "$GRANARY" model status churn --alias prod | grep -q 'step approval' && break; sleep 0.2; done
"$GRANARY" model status churn --alias prod
"$GRANARY" model approve "churn@$V2" --alias prod --by demo --comment "offline eval looks good"
for _ in $(seq 1 50); do "$GRANARY" model status churn --alias prod | grep -q 'no promotion running' && break; sleep 0.2; done
"$GRANARY" model list
"$GRANARY" model show churn@prod
"$GRANARY" model history churn --alias prod

step "12. materialize user_orders for online serving: every user's latest features as of the newest order (Materialize workflow)"
"$GRANARY" materialize user_orders --alias prod --wait

step "13. serve a lookup: the web service asks granary serve (started by granary dev) for user 42's features and the prod model, through the Go client"
SERVE_URL=$(sed -n 's/.*"serve_url": "\(.*\)".*/\1/p' "$STATE/dev.json")
"$GRANARY" lookup user_orders user_id=42 --version prod --model churn@prod --url "$SERVE_URL" --token-file "$STATE/serve-token"

step "14. find the runs the way an operator would"
"$GRANARY" runs list --limit 10

step "15. scrub the lake: re-hash every blob any version names (LakeVerify workflow; --repair would quarantine damage)"
"$GRANARY" lake verify

step "done: stopping the stack"
cleanup
trap - EXIT
echo "demo finished; state kept in $STATE (run 'make dev' to explore it in the Temporal UI at http://127.0.0.1:${UI_PORT})"
