#!/usr/bin/env bash
# Packs the three library packages (Aigc.MLNet.Onnx, .Transforms, .Trainers) with symbols into artifacts/packages,
# the local feed that the notebooks (`#i "nuget: ../artifacts/packages"`) and the consumer tests use.
# Usage: bash eng/pack.sh [extra dotnet pack arguments]   (e.g. --no-build after a Release build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/packages
mkdir -p "$out"
rm -f "$out"/Aigc.MLNet.Onnx.*nupkg "$out"/Aigc.MLNet.Transforms.*nupkg "$out"/Aigc.MLNet.Trainers.*nupkg
for project in src/Onnx/Aigc.MLNet.Onnx.csproj src/Transforms/Aigc.MLNet.Transforms.csproj src/Trainers/Aigc.MLNet.Trainers.csproj; do
  dotnet pack "$project" -c Release -o "$out" --nologo -v quiet "$@"
done
ls -l "$out"/Aigc.MLNet.*.nupkg "$out"/Aigc.MLNet.*.snupkg | awk '{ print $5, $NF }'
