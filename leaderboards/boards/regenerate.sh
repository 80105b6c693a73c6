#!/usr/bin/env bash
# Regenerates the published boards in this folder from real runs (about 1-2 minutes on 2 CPU
# cores): MAPLE-Synth (12 questions per tag, seed 0), evaluated with maple-eval by the random
# baseline and the synth reference solver on synth_qa and synth_qa_plus, then published,
# validated and rendered with `maple-bench leaderboard`. Run from the repository root.
set -euo pipefail
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
BIN=${BIN:-.venv/bin}
HERE=leaderboards/boards
RUNS=$(mktemp -d)
trap 'rm -rf "$RUNS"' EXIT

"$BIN/maple-bench" synth --out "$RUNS/synth" --per-tag 12 --seed 0
for task in synth_qa synth_qa_plus; do
  for model in random solver; do
    "$BIN/maple-eval" run --task "$task" --model "$model" --data "$RUNS/synth" \
      --output "$RUNS/${task}__${model}" --no-progress
  done
done

rm -f "$HERE/synth_qa.json" "$HERE/synth_qa_plus.json"
rm -rf "$HERE/site"
"$BIN/maple-bench" leaderboard publish "$RUNS/synth_qa__random/results.json" --board "$HERE/synth_qa.json" \
  --model-name "random baseline" --open-weights --title "MAPLE-Synth QA (exact presentations)"
"$BIN/maple-bench" leaderboard publish "$RUNS/synth_qa_plus__random/results.json" --board "$HERE/synth_qa_plus.json" \
  --model-name "random baseline" --open-weights --title "MAPLE-Synth QA+ (all 7 presentations, None option)"
for task in synth_qa synth_qa_plus; do
  "$BIN/maple-bench" leaderboard publish "$RUNS/${task}__solver/results.json" --board "$HERE/$task.json" \
    --model-name "reference solver (synth oracle)" --open-weights
done
"$BIN/maple-bench" leaderboard validate "$HERE/synth_qa.json" "$HERE/synth_qa_plus.json"
"$BIN/maple-bench" leaderboard render "$HERE/synth_qa.json" "$HERE/synth_qa_plus.json" --out "$HERE/site"
{
  echo "# Published leaderboards"
  echo
  echo "Boards of our own runs, machine-checked against \`leaderboards/leaderboard.schema.json\`."
  echo "Regenerate with \`bash leaderboards/boards/regenerate.sh\`; open \`site/index.html\` for the page."
  echo
  tail -n +3 "$HERE/site/LEADERBOARD.md"
} > "$HERE/README.md"
