#!/usr/bin/env node
// npm run prebuild: the binaries that ship in the package (docs/install.md), built in
// build-prebuild/ (so build/ stays the checkout's own build) with SIGLIP_PORTABLE=ON
// (glibc >= 2.28, static libstdc++) and CUDA on, stripped, into prebuilds/<platform>-<arch>/.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build-prebuild');
const target = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const jobs = process.env.SIGLIP_BUILD_JOBS || '2';

function run(command, args) {
  console.log(`prebuild: ${path.basename(command)} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

run(process.execPath, [
  require.resolve('cmake-js/bin/cmake-js'),
  'compile',
  '--out',
  buildDir,
  '--parallel',
  jobs,
  '--CDCMAKE_BUILD_TYPE=Release',
  '--CDSIGLIP_PORTABLE=ON',
  '--CDSIGLIP_CUDA=ON',
  '--CDSIGLIP_BUILD_TESTS=OFF',
]);

fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(path.join(target, 'cuda'), { recursive: true });
// node-gyp-build's tags: napi (one binary for every Node-API 8 runtime), glibc (not musl).
const outputs = [
  [path.join(buildDir, 'Release', 'siglip.node'), path.join(target, 'siglip-loss.napi.glibc.node')],
  [path.join(buildDir, 'Release', 'cuda', 'siglip_cuda.node'), path.join(target, 'cuda', 'siglip_cuda.node')],
];
for (const [from, to] of outputs) {
  fs.copyFileSync(from, to);
  run('strip', ['--strip-unneeded', to]);
  console.log(`prebuild: ${path.relative(root, to)} (${(fs.statSync(to).size / 2 ** 20).toFixed(1)} MiB)`);
}
