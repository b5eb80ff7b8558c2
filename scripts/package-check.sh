#!/usr/bin/env bash
# The package as users get it (docs/install.md): npm run prebuild && npm pack, then the
# tarball installed into empty projects on a PATH where compilers, cmake, make and python
# are shims that fail (and say they were called), with and without --ignore-scripts; used
# from CommonJS, ESM and a strict TypeScript consumer of the shipped .d.ts; a loss compared
# with its known value; the CUDA module loads and says why it cannot run without a GPU.
# Nothing here reads build/ of the checkout. SIGLIP_SKIP_PREBUILD=1 packs prebuilds/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/siglip-package-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ "${SIGLIP_SKIP_PREBUILD:-}" != 1 ]]; then
  echo "== npm run prebuild"
  npm run prebuild --silent > "$work/prebuild.log" 2>&1 || { tail -40 "$work/prebuild.log"; exit 1; }
fi
echo "== symbol versions of the prebuilds"
node scripts/check-symbol-versions.js prebuilds

echo "== npm pack"
tarball="$work/$(npm pack --pack-destination "$work" --silent 2> "$work/pack.log" | tail -1)"
for file in prebuilds/linux-x64/siglip-loss.napi.glibc.node prebuilds/linux-x64/cuda/siglip_cuda.node \
  dist/index.d.ts dist/raw.d.ts dist/index.mjs scripts/install.js; do
  tar -tzf "$tarball" "package/$file" > /dev/null || { echo "the tarball lacks $file"; exit 1; }
done
if tar -tzf "$tarball" | grep -qE '^package/(build|build-prebuild)/'; then
  echo "the tarball ships a build folder"
  exit 1
fi
echo "$(basename "$tarball"): $(du -h "$tarball" | cut -f1)"

# The tools a source build would need: each shim records its call and fails.
poison="$work/poison"
mkdir -p "$poison"
for tool in cc c++ gcc g++ clang clang++ cmake make gmake ninja python python3 nvcc; do
  printf '#!/bin/sh\necho "package-check: %s was called ($*)" >&2\necho %s >> %s/called\nexit 1\n' \
    "$tool" "$tool" "$work" > "$poison/$tool"
  chmod +x "$poison/$tool"
done

# The consumers. Known value: x = y = I (2x2), t' = log 10, b = -10: logits 0 on the
# diagonal, -10 off it, L = (2 softplus(0) + 2 softplus(-10)) / 2 = ln 2 + ln(1 + e^-10).
cat > "$work/consumer.cjs" << 'JS'
'use strict';
const assert = require('node:assert');
const path = require('node:path');
const siglip = require('siglip-loss');
const packageDir = path.dirname(require.resolve('siglip-loss/package.json'));
const loaded = require('node-gyp-build').path(packageDir);
assert.ok(loaded.includes(`${path.sep}prebuilds${path.sep}`), `loaded ${loaded}, not a prebuild`);
const eye = new Float32Array([1, 0, 0, 1]);
const expected = Math.log(2) + Math.log1p(Math.exp(-10));
const { loss, dx } = siglip.siglipLossAndGrads(eye, eye, 2, Math.log(10), -10);
assert.ok(Math.abs(loss - expected) < 1e-6 * expected, `loss ${loss}, expected ${expected}`);
assert.strictEqual(dx.length, 4);
const info = siglip.backendInfo();
if (info.cuda.available) {
  console.log(`cjs: CUDA device ${info.cuda.name}`);
} else {
  assert.ok(info.cuda.error && !/has no CUDA module/.test(info.cuda.error), `CUDA module: ${info.cuda.error}`);
  assert.throws(() => siglip.siglipLossValue(eye, eye, 2, 0, 0, { device: 'cuda' }), /CUDA/);
}
console.log(`cjs: loss ${loss} (expected ${expected}) from ${path.relative(packageDir, loaded)}; isa ${info.isa}`);
console.log(`cjs: cuda: ${info.cuda.available ? 'available' : info.cuda.error}`);
JS
cat > "$work/consumer.mjs" << 'JS'
import assert from 'node:assert';
import { siglipLossValue, backendInfo } from 'siglip-loss';
import * as raw from 'siglip-loss/raw';
const eye = new Float32Array([1, 0, 0, 1]);
const expected = Math.log(2) + Math.log1p(Math.exp(-10));
const loss = siglipLossValue(eye, eye, 2, Math.log(10), -10);
assert.ok(Math.abs(loss - expected) < 1e-6 * expected, `loss ${loss}`);
const viaRaw = await raw.siglipLossAndGradsAsync(eye, eye, 2, Math.log(10), -10);
assert.strictEqual(viaRaw.loss, loss);
assert.strictEqual(typeof backendInfo().cuda.available, 'boolean');
console.log(`esm: loss ${loss}, async ${viaRaw.loss}`);
JS
cat > "$work/consumer.ts" << 'TS'
import { siglipLossAndGrads, backendInfo, type SiglipLossAndGrads, type SiglipOptions } from 'siglip-loss/raw';

declare const console: { log(message: string): void }; // no @types/node: only the package's own types

const eye = new Float32Array([1, 0, 0, 1]);
const options: SiglipOptions = { threads: 1, precision: 'fp32' };
const result: SiglipLossAndGrads = siglipLossAndGrads(eye, eye, 2, Math.log(10), -10, options);
const expected: number = Math.log(2) + Math.log1p(Math.exp(-10));
if (!(Math.abs(result.loss - expected) < 1e-6 * expected)) throw new Error(`loss ${result.loss}`);
const cudaError: string | undefined = backendInfo().cuda.error;
console.log(`ts: loss ${result.loss}; cuda error: ${cudaError ?? 'none'}`);
TS
cat > "$work/tsconfig.json" << 'JSON'
{
  "compilerOptions": {
    "target": "ES2020",
    "module": "node16",
    "moduleResolution": "node16",
    "lib": ["ES2020"],
    "types": [],
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "noEmitOnError": true,
    "skipLibCheck": false,
    "outDir": "out"
  },
  "files": ["consumer.ts"]
}
JSON

for mode in with-scripts ignore-scripts; do
  echo "== npm install of the tarball, $mode, no compiler, cmake, make or python on PATH"
  project="$work/$mode"
  mkdir -p "$project"
  cp "$work/consumer.cjs" "$work/consumer.mjs" "$work/consumer.ts" "$work/tsconfig.json" "$project/"
  (cd "$project" && echo '{ "name": "consumer", "version": "1.0.0", "private": true }' > package.json)
  rm -f "$work/called"
  flags=(--no-audit --no-fund --prefer-offline --foreground-scripts)
  [[ $mode == ignore-scripts ]] && flags+=(--ignore-scripts)
  (cd "$project" && PATH="$poison:$PATH" npm install "${flags[@]}" "$tarball" > "$work/install-$mode.log" 2>&1) ||
    { cat "$work/install-$mode.log"; exit 1; }
  if [[ -f "$work/called" ]]; then
    echo "the install called: $(sort -u "$work/called" | tr '\n' ' ')"
    cat "$work/install-$mode.log"
    exit 1
  fi
  if [[ -e "$project/node_modules/@tensorflow/tfjs-node" || -e "$project/node_modules/cmake-js" ]]; then
    echo "the install pulled @tensorflow/tfjs-node or cmake-js"
    exit 1
  fi
  echo "installed: $(ls "$project/node_modules" | tr '\n' ' ')"
  (cd "$project" && PATH="$poison:$PATH" node consumer.cjs && PATH="$poison:$PATH" node consumer.mjs)
  (cd "$project" && PATH="$poison:$PATH" node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json &&
    PATH="$poison:$PATH" node out/consumer.js)
done
echo "== package check: ok"
