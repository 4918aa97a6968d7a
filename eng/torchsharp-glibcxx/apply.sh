#!/usr/bin/env bash
# Makes TorchSharp 0.107.0 load where the system libstdc++ predates GCC 13 (no GLIBCXX_3.4.32), e.g. Debian 12.
# Usage: apply.sh OUTPUT_DIR TOOLS_DIR
# Patches the copy of libLibTorchSharp.so in OUTPUT_DIR or OUTPUT_DIR/runtimes/linux-x64/native (build output,
# never the NuGet cache) and does nothing when the system already has GLIBCXX_3.4.32, when there is no such
# library, or when it is already patched.
set -euo pipefail
tools=$2
shim_name=libaigc_glibcxx_shim.so
here=$(cd "$(dirname "$0")" && pwd)

out=
for dir in "$1" "$1/runtimes/linux-x64/native"; do
  if [ -f "$dir/libLibTorchSharp.so" ]; then out=$dir; fi
done
[ -n "$out" ] || exit 0
lib="$out/libLibTorchSharp.so"

# True when the library already lists the shim as needed (readelf's whole output is read first: no SIGPIPE).
has_shim() {
  local dynamic
  dynamic=$(readelf -d "$1")
  [[ "$dynamic" == *"$shim_name"* ]]
}
[ "$(uname -s)" = Linux ] || exit 0

# awk reads all of ldconfig's output (no early exit): with pipefail, a writer killed by SIGPIPE would fail the script.
stdcxx=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p) | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found { print $NF; found = 1 }')
if [ -z "$stdcxx" ] || grep -q 'GLIBCXX_3\.4\.32' "$stdcxx"; then
  exit 0
fi
if has_shim "$lib"; then
  [ -f "$out/$shim_name" ] && exit 0
fi

for tool in gcc patchelf readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: TorchSharp needs GLIBCXX_3.4.32, which $stdcxx lacks; the build patches its copy of libLibTorchSharp.so, but '$tool' is not installed. Run: bash eng/setup.sh" >&2
    exit 1
  fi
done

mkdir -p "$tools"
gcc -O2 -Wall -o "$tools/retarget-verneed" "$here/retarget_verneed.c"
gcc -shared -fPIC -nostdlib -O2 -o "$out/$shim_name.tmp" "$here/shim.c"
mv -f "$out/$shim_name.tmp" "$out/$shim_name"

if ! has_shim "$lib"; then
  tmp="$lib.aigc-tmp"
  cp -f "$lib" "$tmp"
  set +e
  "$tools/retarget-verneed" "$tmp" GLIBCXX_3.4.32
  rc=$?
  set -e
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then rm -f "$tmp"; exit 1; fi
  patchelf --add-needed "$shim_name" "$tmp"
  patchelf --add-rpath '$ORIGIN' "$tmp" 2>/dev/null || patchelf --set-rpath '$ORIGIN' "$tmp"
  mv -f "$tmp" "$lib"
  echo "aigc: patched $lib for $stdcxx (no GLIBCXX_3.4.32)"
fi
