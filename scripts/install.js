#!/usr/bin/env node
// npm install hook: nothing to do when a build loads (a prebuild in prebuilds/, or
// build/Release from an earlier source build); else build from source with cmake-js
// (primary), or node-gyp when cmake-js or cmake is missing. npm_config_build_from_source
// (npm install --build-from-source) or SIGLIP_FORCE_BUILD always builds.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const name = require('../package.json').name;

function loadError() {
  try {
    require('node-gyp-build')(root);
    return undefined;
  } catch (error) {
    return error;
  }
}

function truthy(value) {
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** The part of build_from_source that names this package, or all of it (npm's convention). */
function buildFromSource() {
  const value = process.env.npm_config_build_from_source;
  if (value === undefined || value === '') return false;
  if (value === 'true' || value === '1') return true;
  return value.split(',').includes(name);
}

function has(command, args = ['--version']) {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

function run(command, args, env = process.env) {
  console.log(`${name}: ${path.basename(command)} ${args.join(' ')}`);
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', env }).status === 0;
}

function resolveCmakeJs() {
  try {
    return require.resolve('cmake-js/bin/cmake-js');
  } catch {
    return undefined;
  }
}

const forced = buildFromSource() || truthy(process.env.SIGLIP_FORCE_BUILD);
const prebuildError = forced ? undefined : loadError();
if (!forced && prebuildError === undefined) process.exit(0);

const why = forced
  ? 'a source build was asked for (build_from_source)'
  : `no prebuilt binary loads on ${process.platform}-${process.arch} (${prebuildError.message.split('\n')[0]})`;
console.log(`${name}: ${why}; building from source`);

const compiler = ['c++', 'g++', 'clang++'].find((candidate) => has(candidate));
const cmakeJs = resolveCmakeJs();
const cmake = has('cmake');
// npm tells its scripts where its bundled node-gyp is; it needs python and make.
const nodeGyp = process.env.npm_config_node_gyp;
const python = ['python3', 'python'].find((candidate) => has(candidate));
const make = has('make');

if (
  compiler &&
  cmakeJs &&
  cmake &&
  run(process.execPath, [cmakeJs, 'compile', '--CDCMAKE_BUILD_TYPE=Release'])
) {
  process.exit(0);
}
// node-gyp must use Node's own headers: nothing is downloaded.
const nodedir = path.resolve(process.execPath, '..', '..');
const env = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir || nodedir };
if (compiler && nodeGyp && python && make && run(process.execPath, [nodeGyp, 'rebuild'], env))
  process.exit(0);

const missing = [
  compiler ? undefined : 'a C++17 compiler (c++, g++ or clang++)',
  cmake && cmakeJs
    ? undefined
    : `cmake and cmake-js (${cmake ? '' : 'cmake not on PATH; '}${cmakeJs ? '' : 'npm install cmake-js'})`,
  python && make && nodeGyp ? undefined : "or, instead of cmake, node-gyp's python 3 and make",
].filter(Boolean);
console.error(
  `${name}: cannot build from source: ${why}.\n` +
    (missing.length > 1 || !compiler
      ? `  Missing: ${missing.join('; ')}.\n`
      : '  The build failed: see its output above.\n') +
    '  Prebuilt binaries ship for linux-x64 and linux-arm64 with glibc >= 2.28 (docs/install.md);\n' +
    '  elsewhere (musl/Alpine, macOS, ...) a C++17 compiler and cmake (+ npm install cmake-js),\n' +
    '  or python 3 and make, are needed.',
);
process.exit(1);
