#!/usr/bin/env bash
# node-binaries.sh [--arch x64|arm64] MAJOR...: Node's official Linux binaries of those majors
# (x64 by default), from the npm registry's node-linux-<arch> packages (no other download),
# cached by exact version under $SIGLIP_NODE_CACHE (default ~/.cache/siglip-loss/node).
# Prints one bin directory a line.
set -euo pipefail
arch=x64
if [[ "${1:-}" == --arch ]]; then
  arch=$2
  shift 2
fi
cache="${SIGLIP_NODE_CACHE:-$HOME/.cache/siglip-loss/node}"
mkdir -p "$cache"
for major in "$@"; do
  # the newest release of that major (npm view lists every match, in no promised order)
  version=$(npm view "node-linux-$arch@$major" version --json | tr -d '[]", ' | grep . | sort -V | tail -1)
  dir="$cache/linux-$arch-$version"
  if [[ ! -f "$dir/bin/node" ]]; then
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "node-linux-$arch@$version" > /dev/null && tar xzf ./*.tgz)
    rm -rf "$dir" && mv "$work/package" "$dir" && rm -rf "$work"
  fi
  # An arm64 binary is checked by its ELF header: it runs only under qemu here.
  if [[ $arch == x64 && "$("$dir/bin/node" --version)" != "v$version" ]] ||
    [[ $arch == arm64 && "$(head -c 20 "$dir/bin/node" | od -An -tu2 -j18 | tr -d ' ')" != 183 ]]; then
    echo "node-binaries.sh: $dir/bin/node is not Node $version for $arch" >&2
    exit 1
  fi
  echo "$dir/bin"
done
