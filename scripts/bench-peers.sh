#!/usr/bin/env bash
# Issue 9 in one go: installs transformers.js for bench/peers-js (CPU onnxruntime-node only: --ignore-scripts skips
# the GPU binary download), builds the C# harness in Release, exports the random GPT-2 models once into
# ${AIGC_DATA_DIR:-~/.cache/aigc-mlnet}/bench/peers, and runs every part. Results: artifacts/bench-peers/results.{md,json}.
# Extra arguments go to the harness, e.g.  scripts/bench-peers.sh --threads 4 --models small --reps 9
# Run it on a quiet machine: every runtime shares the same cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v node >/dev/null || { echo "node (18+) is required for the transformers.js side" >&2; exit 1; }
if [ ! -d bench/peers-js/node_modules/@huggingface/transformers ]; then
  (cd bench/peers-js && npm ci --ignore-scripts --no-audit --no-fund)
fi

dotnet build bench/Aigc.MLNet.Bench.Peers -c Release -nologo -v quiet
dotnet bench/Aigc.MLNet.Bench.Peers/bin/Release/net10.0/Aigc.MLNet.Bench.Peers.dll --out artifacts/bench-peers "$@"
