#!/usr/bin/env bash
# One chunk of a gray recipe's campaign, continued on a lent GPU within its 15-minute window.
#
# Here, once:   python scripts/gpu_pack.py CORPUS_DIR      (writes .corpus-gray, about 35 MiB)
# With the device tool:
#   run(command="bash scripts/gpu_chunk.sh gray-gaussian 9", carry=[".corpus-gray"], timeout_s=720)
# The recipe resumes from the committed stage files in campaigns/FOLDER/ (`recipes.folder_name`;
# they travel with the tree); a recipe with color stages is refused, as the pack is gray. It
# trains MINUTES (default 9: the machine's start and the transfers take the rest), and the stage files
# it changed come back under the reply's files_at: copy them into campaigns/FOLDER/, score the point
# as after a CPU chunk, and commit. OUT is set by the device tool; outside it, set it to any folder.
# CORPUS (default .corpus-gray), CAMPAIGNS (default campaigns) and SMOKE=1 (the recipe's --smoke, no
# corpus) are for the test.
set -euo pipefail
recipe=${1:?usage: gpu_chunk.sh RECIPE [MINUTES]}
minutes=${2:-9}
out=${OUT:?OUT: the folder whose files come back}
cd "$(dirname "$0")/.."
home=$(python3 -c 'import sys; from denoiser.training.recipes import folder_name, get_recipe, plan
from denoiser.scenarios import get_scenario
recipe = get_recipe(sys.argv[1])
if any(get_scenario(owner.scenario).channels != 1 for owner, _ in plan(recipe)):
    sys.exit(f"error: {recipe.name} has color stages, and the pack is gray: they run on the CPU.")
print(folder_name(recipe))' "$recipe")
folder="${CAMPAIGNS:-campaigns}/$home"
mkdir -p "$folder"
marker=$(mktemp)
if [ -n "${SMOKE:-}" ]; then data=(--smoke); else data=(--corpus "${CORPUS:-.corpus-gray}"); fi
PYTHONUNBUFFERED=1 python3 -m denoiser recipe "$recipe" "${data[@]}" --out "$folder" --resume --minutes "$minutes" \
  2>&1 | tee "$out/chunk.log"
find "$folder" -maxdepth 1 -type f -newer "$marker" \( -name '*.pt' -o -name '*.log.jsonl' \) \
  -exec cp {} "$out/" \;
rm -f "$marker"
ls -l "$out"
