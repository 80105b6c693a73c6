#!/usr/bin/env bash
# Regenerates the published boards in this folder from real runs (about 1-2 minutes on 2 CPU
# cores): MAPLE-Synth (12 questions per tag, seed 0), evaluated with maple-eval by the random
# baseline and the synth reference solver on synth_qa and synth_qa_plus, then published,
# validated and rendered with `maple-bench leaderboard`. Run from the repository root.
# With REGEN_DEMO=1 it also reruns the full demo (seed 0, a few more minutes) and copies its
# boards into demo/. One site, site/, shows every board (ours and the demo's).
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
      --out "$RUNS/${task}__${model}" --no-progress
  done
done

if [ "${REGEN_DEMO:-0}" = 1 ]; then
  "$BIN/maple-bench" demo --out "$RUNS/demo" --seed 0
  cp "$RUNS/demo/leaderboards/maple_qa.json" "$RUNS/demo/leaderboards/maple_qa_plus.json" "$HERE/demo/"
fi

rm -f "$HERE/synth_qa.json" "$HERE/synth_qa_plus.json"
rm -rf "$HERE/site" "$HERE/demo/site"
"$BIN/maple-bench" leaderboard publish "$RUNS/synth_qa__random/results.json" --board "$HERE/synth_qa.json" \
  --model-name "random baseline" --open-weights --title "MAPLE-Synth QA (exact presentations)"
"$BIN/maple-bench" leaderboard publish "$RUNS/synth_qa_plus__random/results.json" --board "$HERE/synth_qa_plus.json" \
  --model-name "random baseline" --open-weights --title "MAPLE-Synth QA+ (all 7 presentations, None option)"
for task in synth_qa synth_qa_plus; do
  "$BIN/maple-bench" leaderboard publish "$RUNS/${task}__solver/results.json" --board "$HERE/$task.json" \
    --model-name "reference solver (synth oracle)" --open-weights
done
BOARDS=("$HERE/synth_qa.json" "$HERE/synth_qa_plus.json" "$HERE/demo/maple_qa.json" "$HERE/demo/maple_qa_plus.json")
"$BIN/maple-bench" leaderboard validate "${BOARDS[@]}"
"$BIN/maple-bench" leaderboard render "${BOARDS[@]}" --out "$HERE/site" --title "maple-bench published leaderboards"
{
  echo "# Published leaderboards"
  echo
  echo "Boards of our own runs, machine-checked against \`leaderboards/leaderboard.schema.json\`."
  echo "Regenerate with \`bash leaderboards/boards/regenerate.sh\` (\`REGEN_DEMO=1\` also reruns the"
  echo "demo for \`demo/\`); open \`site/index.html\` for the page, the one rendered site of every board."
  echo
  echo "\`demo/maple_qa.json\` and \`demo/maple_qa_plus.json\` are the boards \`maple-bench demo\` (seed 0,"
  echo "full size) published from its own runs: the random baseline, the compact policy trained with the"
  echo "MUPO and MAPO presets, and the reference solver, on the held-out split of a 100-video"
  echo "MAPLE-Synth set."
  echo
  tail -n +3 "$HERE/site/LEADERBOARD.md"
} > "$HERE/README.md"
