#!/usr/bin/env bash
# The eval gate as CI runs it: the team's cases (evals/cases/*.yaml) with the local default model
# (SmolLM2-135M, in-process), compared with the committed baseline in evals/baselines/.
# Exits 1 when a metric drops beyond the tolerance its case file allows, 2 on bad input.
#
# Cost: responses recorded in the baseline are replayed (keyed by model + the exact rendered
# messages), so with unchanged prompts, retrieval and chunking no model call is made; a change
# re-runs exactly the cases whose messages changed, with the real model.
#
# Usage (after `make setup`):  bash evals/ci.sh
# Env: EVAL_OUT (work dir, default $TMPDIR/paperbrief-eval-ci), PAPERBRIEF_SHARED_DIR (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
OUT="${EVAL_OUT:-${TMPDIR:-/tmp}/paperbrief-eval-ci}"
rm -rf "$OUT/run"
# the local default model, named explicitly: an API key in the environment or a .env must not swap it
MODEL="$("$BIN/python" -c 'from agent.llm.local import default_gguf; print(default_gguf())')"
started=$SECONDS
"$BIN/paperbrief" --data-dir "$OUT/data" eval run --cases 'evals/cases/*.yaml' --model "$MODEL" \
    --out "$OUT/run" --cache-dir "$OUT/cache"
"$BIN/paperbrief" eval compare evals/baselines "$OUT/run"
echo "eval gate passed in $((SECONDS - started)) s (report: $OUT/run/report.md)"
