#!/usr/bin/env bash
# Regenerates the README's worked example: runs its commands in a fresh folder beside ../shared (as the doc
# test does), prints their output (what the README shows), and copies the figure into docs/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
ln -s "$repo/../shared" "$root/shared"
mkdir "$root/work" && cd "$root/work"
export REVERIE_MODEL_PATH="${REVERIE_MODEL_PATH:-$repo/../shared/models}"
reverie() { node "$repo/bin/reverie.js" "$@"; }
reverie dream --target 'blocks.4.mlp.hook_post[0]' --out reverie-runs/thank-you
reverie scan --target 'blocks.4.mlp.hook_post[0]' \
  --corpus ../shared/corpora/tinystories/validation-head.txt --out reverie-runs/thank-you-scan.json
reverie compare --runs reverie-runs/thank-you --scan reverie-runs/thank-you-scan.json \
  --out reverie-runs/thank-you.svg --png reverie-runs/thank-you.png --html reverie-runs/thank-you.html
reverie attribute --run reverie-runs/thank-you --max-xent 3.676
cp reverie-runs/thank-you.svg "$repo/docs/thank-you-neuron.svg"
cp reverie-runs/thank-you.png "$repo/docs/thank-you-neuron.png"
echo "copied the figure to $repo/docs/thank-you-neuron.{svg,png}" >&2
