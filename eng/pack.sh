#!/usr/bin/env bash
# Packs the three library packages (Aigc.MLNet.Onnx, .Transforms, .Trainers) with symbols, and the `aigc` tool
# (a pointer package + Aigc.MLNet.Cli.linux-x64), into artifacts/packages: the local feed that the notebooks
# (`#i "nuget: ../artifacts/packages"`), the consumer tests and `dotnet tool install --add-source` use.
# Usage: bash eng/pack.sh [extra dotnet pack arguments]     AIGC_PACK_TOOL=0 skips the tool (≈ 140 MB, 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/packages
mkdir -p "$out"
rm -f "$out"/Aigc.MLNet.*nupkg
for project in src/Onnx/Aigc.MLNet.Onnx.csproj src/Transforms/Aigc.MLNet.Transforms.csproj src/Trainers/Aigc.MLNet.Trainers.csproj; do
  dotnet pack "$project" -c Release -o "$out" --nologo -v quiet "$@"
done
if [ "${AIGC_PACK_TOOL:-1}" != 0 ]; then
  # RID-specific tool packages publish per runtime, so this one always builds (no --no-build).
  dotnet pack src/Cli/Aigc.MLNet.Cli.csproj -c Release -o "$out" --nologo -v quiet
fi
ls -l "$out"/Aigc.MLNet.*nupkg | awk '{ print $5, $NF }'
