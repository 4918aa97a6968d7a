#!/usr/bin/env bash
# The main job from a fresh clone: set up the machine, fetch data, build and run samples/Quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/setup.sh
bash eng/fetch-data.sh
dotnet run --project samples/Quickstart -c Release -- "$@"
