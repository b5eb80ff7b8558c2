#!/usr/bin/env node
// npm run prebuilds: the binaries that ship in the package (docs/install.md), built on an
// x86-64 Linux machine with SIGLIP_PORTABLE=ON (glibc >= 2.28, static libstdc++), stripped,
// into prebuilds/<platform>-<arch>/: linux-x64 with its CUDA module, and linux-arm64 (the CPU
// module with its NEON kernels) cross-built with g++-aarch64-linux-gnu. Each in its own
// build-prebuild* folder, so build/ stays the checkout's own build.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const jobs = process.env.SIGLIP_BUILD_JOBS || '2';

const TARGETS = [
  { arch: 'x64', buildDir: 'build-prebuild', strip: 'strip', cmake: ['--CDSIGLIP_CUDA=ON'], cuda: true },
  {
    arch: 'arm64',
    buildDir: 'build-prebuild-arm64',
    strip: 'aarch64-linux-gnu-strip',
    // No CUDA, nor MPI, for arm64 here: the CPU module only.
    cmake: [
      `--CDCMAKE_TOOLCHAIN_FILE=${path.join(root, 'cmake', 'aarch64-linux-gnu.cmake')}`,
      '--CDSIGLIP_CUDA=OFF',
      '--CDCMAKE_DISABLE_FIND_PACKAGE_MPI=ON',
    ],
    cuda: false,
  },
];

function run(command, args) {
  console.log(`prebuild: ${path.basename(command)} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(
    `npm run prebuilds runs on linux-x64 (cross-building arm64), not ${process.platform}-${process.arch}`,
  );
}

for (const target of TARGETS) {
  const buildDir = path.join(root, target.buildDir);
  run(process.execPath, [
    require.resolve('cmake-js/bin/cmake-js'),
    'compile',
    '--out',
    buildDir,
    '--parallel',
    jobs,
    '--CDCMAKE_BUILD_TYPE=Release',
    '--CDSIGLIP_PORTABLE=ON',
    '--CDSIGLIP_BUILD_TESTS=OFF',
    ...target.cmake,
  ]);
  const dir = path.join(root, 'prebuilds', `linux-${target.arch}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // node-gyp-build's tags: napi (one binary for every Node-API 8 runtime), glibc (not musl).
  const outputs = [
    [path.join(buildDir, 'Release', 'siglip.node'), path.join(dir, 'siglip-loss.napi.glibc.node')],
  ];
  if (target.cuda) {
    fs.mkdirSync(path.join(dir, 'cuda'));
    outputs.push([
      path.join(buildDir, 'Release', 'cuda', 'siglip_cuda.node'),
      path.join(dir, 'cuda', 'siglip_cuda.node'),
    ]);
  }
  for (const [from, to] of outputs) {
    fs.copyFileSync(from, to);
    run(target.strip, ['--strip-unneeded', to]);
    console.log(`prebuild: ${path.relative(root, to)} (${(fs.statSync(to).size / 2 ** 20).toFixed(1)} MiB)`);
  }
}
