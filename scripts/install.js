#!/usr/bin/env node
// npm install hook: keep a build that loads, else build with cmake-js
// (primary), falling back to node-gyp when cmake is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function loads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function run(command, args, env = process.env) {
  console.log(`siglip-loss: ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', env }).status === 0;
}

if (!process.env.SIGLIP_FORCE_BUILD && loads()) process.exit(0);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
if (run(process.execPath, [cmakeJs, 'compile', '--CDCMAKE_BUILD_TYPE=Release'])) process.exit(0);
// node-gyp must use Node's own headers: nothing is downloaded.
const nodedir = path.resolve(process.execPath, '..', '..');
const env = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir || nodedir };
// npm tells its scripts where its bundled node-gyp is.
const nodeGyp = process.env.npm_config_node_gyp;
if (nodeGyp && run(process.execPath, [nodeGyp, 'rebuild'], env)) process.exit(0);
console.error('siglip-loss: native build failed (needs a C++17 compiler and cmake or node-gyp)');
process.exit(1);
