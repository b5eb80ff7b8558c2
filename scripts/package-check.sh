#!/usr/bin/env bash
# The package as users get it (docs/install.md): npm run prebuilds && npm pack, then the
# tarball installed into empty projects on a PATH where compilers, cmake, make and python
# are shims that fail (and say they were called), with and without --ignore-scripts; used
# from CommonJS, ESM and a strict TypeScript consumer of the shipped .d.ts; a loss compared
# with its known value; the CUDA module loads and says why it cannot run without a GPU; after
# the install without scripts, `npx siglip-loss build-mpi` and the loss across 2 MPI ranks.
# Nothing here reads build/ of the checkout. SIGLIP_SKIP_PREBUILD=1 packs prebuilds/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/siglip-package-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ "${SIGLIP_SKIP_PREBUILD:-}" != 1 ]]; then
  echo "== npm run prebuilds"
  npm run prebuilds --silent > "$work/prebuild.log" 2>&1 || { tail -40 "$work/prebuild.log"; exit 1; }
fi
echo "== symbol versions of the prebuilds"
node scripts/check-symbol-versions.js prebuilds

echo "== npm pack"
tarball="$work/$(npm pack --pack-destination "$work" --silent 2> "$work/pack.log" | tail -1)"
for file in prebuilds/linux-x64/siglip-loss.napi.glibc.node prebuilds/linux-x64/cuda/siglip_cuda.node \
  prebuilds/linux-arm64/siglip-loss.napi.glibc.node dist/index.d.ts dist/raw.d.ts dist/index.mjs \
  scripts/install.js bin/siglip-loss.js; do
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

# install_tarball PROJECT MODE LABEL PATH_HEAD NPM...: the tarball installed into the empty
# project PROJECT by the command NPM... (npm, or this machine's npm for arm64), with PATH_HEAD
# first on PATH; MODE with-scripts or ignore-scripts. Fails where the install fails, where its
# script did not run (with scripts), or where it called a poisoned build tool.
install_tarball() {
  local project=$1 mode=$2 label=$3 path_head=$4
  shift 4
  local log="$work/install-$label.log"
  mkdir -p "$project"
  (cd "$project" && echo '{ "name": "consumer", "version": "1.0.0", "private": true }' > package.json)
  rm -f "$work/called"
  local flags=(--no-audit --no-fund --prefer-offline --foreground-scripts)
  [[ $mode == ignore-scripts ]] && flags+=(--ignore-scripts)
  (cd "$project" && PATH="$path_head:$PATH" "$@" "${flags[@]}" "$tarball" > "$log" 2>&1) || { cat "$log"; exit 1; }
  if [[ $mode == with-scripts ]] && ! grep -q 'node scripts/install.js' "$log"; then
    echo "the install script did not run"
    exit 1
  fi
  if [[ -f "$work/called" ]]; then
    echo "the $label install called: $(sort -u "$work/called" | tr '\n' ' ')"
    cat "$log"
    exit 1
  fi
}

for mode in with-scripts ignore-scripts; do
  echo "== npm install of the tarball, $mode, no compiler, cmake, make or python on PATH"
  project="$work/$mode"
  install_tarball "$project" "$mode" "$mode" "$poison" npm install
  cp "$work/consumer.cjs" "$work/consumer.mjs" "$work/consumer.ts" "$work/tsconfig.json" "$project/"
  if [[ -e "$project/node_modules/@tensorflow/tfjs-node" || -e "$project/node_modules/cmake-js" ]]; then
    echo "the install pulled @tensorflow/tfjs-node or cmake-js"
    exit 1
  fi
  echo "installed: $(ls "$project/node_modules" | tr '\n' ' ')"
  (cd "$project" && PATH="$poison:$PATH" node consumer.cjs && PATH="$poison:$PATH" node consumer.mjs)
  (cd "$project" && PATH="$poison:$PATH" node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json &&
    PATH="$poison:$PATH" node out/consumer.js)
done
echo "== the tarball on arm64: Node's arm64 binary under qemu (emulated: results, no speed)"
# npm itself runs on this machine's Node; the install script's `node` is the arm64 one.
arm64_node="$(bash scripts/node-binaries.sh --arch arm64 24)/node"
qemu_node="$work/qemu-node"
mkdir -p "$qemu_node"
printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu %s "$@"\n' "$arm64_node" > "$qemu_node/node"
chmod +x "$qemu_node/node"
host_node=$(command -v node)
npm_cli=$(readlink -f "$(command -v npm)") # npm-cli.js
cat > "$work/consumer-arm64.cjs" << 'JS'
'use strict';
const assert = require('node:assert');
const path = require('node:path');
const siglip = require('siglip-loss');
const { errorsAgainstFloat64 } = require(process.env.FLOAT64_REFERENCE);
const packageDir = path.dirname(require.resolve('siglip-loss/package.json'));
const loaded = require('node-gyp-build').path(packageDir);
assert.strictEqual(process.arch, 'arm64');
assert.ok(loaded.endsWith(path.join('prebuilds', 'linux-arm64', 'siglip-loss.napi.glibc.node')), `loaded ${loaded}`);
const info = siglip.backendInfo();
assert.strictEqual(info.isa, 'aarch64 NEON');
// 37 x 29 unit rows of 45 features (edges of the NEON blocks) against the float64 reference.
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const [n, m, dim] = [37, 29, 45];
const unitRows = (rows) => {
  const v = Float32Array.from({ length: rows * dim }, random);
  for (let r = 0; r < rows; r++) {
    const row = v.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row);
    row.forEach((value, k) => (row[k] = value / norm));
  }
  return v;
};
const x = unitRows(n);
const y = unitRows(m);
const result = siglip.siglipLossAndGrads(x, y, dim, Math.log(10), -10);
const errors = errorsAgainstFloat64(result, x, y, n, m, dim, Math.log(10), -10);
for (const [name, error] of Object.entries(errors)) assert.ok(error <= 1e-5, `${name}: ${error}`);
console.log(`arm64: ${path.relative(packageDir, loaded)}, ${info.isa}; relative errors against float64: ${JSON.stringify(errors)}`);
JS
for mode in with-scripts ignore-scripts; do
  echo "-- npm install of the tarball for arm64, $mode, no compiler, cmake, make or python on PATH"
  project="$work/arm64-$mode"
  install_tarball "$project" "$mode" "arm64-$mode" "$qemu_node:$poison" \
    "$host_node" "$npm_cli" install --cpu=arm64 --os=linux
  cp "$work/consumer-arm64.cjs" "$project/"
  (cd "$project" && PATH="$poison:$PATH" FLOAT64_REFERENCE="$root/bench/lib/float64-reference.js" \
    "$qemu_node/node" consumer-arm64.cjs)
done
echo "-- the raw-API and op suites on 'cpu' under qemu, on the arm64 install (no test isolation: no binfmt_misc here)"
# The checkout's compiled tests over the installed package's dist and arm64 prebuild; the leak
# test is left out (3000 calls take 5 minutes emulated; the same code is checked natively).
suites="$work/arm64-suites"
installed="$work/arm64-ignore-scripts/node_modules/siglip-loss"
mkdir -p "$suites"
cp -r "$installed/dist" "$installed/prebuilds" "$installed/package.json" "$root/dist-test" "$suites/"
ln -s "$root/node_modules" "$suites/node_modules"
(cd "$suites" && env -u SIGLIP_REQUIRE_TFJS_NODE SIGLIP_TEST_BACKENDS=cpu "$qemu_node/node" --expose-gc --test \
  --test-isolation=none --test-skip-pattern='thousands of calls' --test-reporter=spec \
  dist-test/raw.test.js dist-test/op.test.js > "$work/arm64-suites.log" 2>&1) ||
  { tail -60 "$work/arm64-suites.log"; exit 1; }
grep -E "^ℹ (tests|pass|fail|skipped)" "$work/arm64-suites.log"

echo "== after the install without scripts: no MPI module, npx siglip-loss build-mpi, 2 ranks"
# The loss of 4 rows across 2 ranks (2 rows each) equals one process on all 4.
cat > "$work/consumer-mpi.cjs" << 'JS'
'use strict';
const assert = require('node:assert');
const { siglipLossValue } = require('siglip-loss');
const { initWorld } = require('siglip-loss/mpi');
const world = initWorld();
const x = new Float32Array([1, 0, 0.6, 0.8, 0, 1, -0.8, 0.6]);
const y = new Float32Array([0.6, 0.8, 1, 0, -0.8, 0.6, 0, 1]);
const rows = (data) => data.slice(world.rank * 4, world.rank * 4 + 4);
const local = siglipLossValue(rows(x), rows(y), 2, Math.log(10), -10, { world });
const whole = siglipLossValue(x, y, 2, Math.log(10), -10);
assert.ok(Math.abs(local - whole) <= 1e-6 * whole, `rank ${world.rank}: ${local} against ${whole}`);
console.log(`mpi: rank ${world.rank} of ${world.size}: loss ${local} (one process: ${whole})`);
world.close();
JS
project="$work/ignore-scripts"
cp "$work/consumer-mpi.cjs" "$project/"
(cd "$project" && npx --no-install siglip-loss info)
if (cd "$project" && node -e "require('siglip-loss/mpi').initWorld()" > "$work/no-mpi.log" 2>&1); then
  echo "initWorld() worked without the MPI module?"
  exit 1
fi
grep -q 'npx siglip-loss build-mpi' "$work/no-mpi.log" || { cat "$work/no-mpi.log"; exit 1; }
(cd "$project" && npx --no-install siglip-loss build-mpi > "$work/build-mpi.log" 2>&1) || { cat "$work/build-mpi.log"; exit 1; }
tail -1 "$work/build-mpi.log"
(cd "$project" && npx --no-install siglip-loss info | grep 'MPI module')
(cd "$project" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  mpirun --oversubscribe -np 2 node consumer-mpi.cjs)

echo "== npm install --build-from-source with no build tools: fails and says what is missing"
project="$work/from-source"
mkdir -p "$project"
(cd "$project" && echo '{ "name": "consumer", "version": "1.0.0", "private": true }' > package.json)
if (cd "$project" && PATH="$poison:$PATH" npm install --no-audit --no-fund --prefer-offline --foreground-scripts \
  --build-from-source "$tarball" > "$work/install-from-source.log" 2>&1); then
  echo "a source build without compiler or cmake succeeded?"
  exit 1
fi
grep -A4 'cannot build from source' "$work/install-from-source.log" | sed 's/^npm error //' ||
  { cat "$work/install-from-source.log"; exit 1; }
echo "== package check: ok"
