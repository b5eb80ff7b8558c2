#!/usr/bin/env node
// Run by `npm install` in a checkout (the prepare script, after the addon's build): says
// what the checkout got (the native module, the tfjs backends) and what `npm start` will
// train on, so a missing tfjs-node is a line of text, not a failed install.
'use strict';
if (['pack', 'publish'].includes(process.env.npm_command)) process.exit(0); // prepare runs there too
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's start-up banner, if tfjs-node loads

const { backendInfo } = require('../dist/index');

function firstLine(error) {
  return String(error?.message ?? error).split('\n')[0];
}

/** Whether tfjs-node loads and runs an op here, and why not. */
function tfjsNodeStatus() {
  try {
    const tf = require('@tensorflow/tfjs-node');
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
    return { usable: true, version: tf.version['tfjs-node'] };
  } catch (error) {
    return { usable: false, why: firstLine(error) };
  }
}

const info = backendInfo();
const tfjsNode = tfjsNodeStatus();
const lines = [
  `native module: CPU engine '${info.engine}', ${info.isa}, ${info.threads} threads; ` +
    `CUDA ${info.cuda.available ? 'usable' : `not usable (${info.cuda.error ?? 'not built'})`}`,
  tfjsNode.usable
    ? `@tensorflow/tfjs-node ${tfjsNode.version}: usable ('tensorflow' backend); npm start trains the conv towers on it`
    : `@tensorflow/tfjs-node: not installed or not usable (${tfjsNode.why});\n` +
      "  npm start trains the MLP towers on tfjs's 'wasm' backend instead, and npm test skips the\n" +
      "  'tensorflow' suites. For native TensorFlow (conv towers, ~35 ms a step):\n" +
      '  npm install --no-save @tensorflow/tfjs-node  (README.md, "Without tfjs-node")',
];
console.log(`siglip-loss checkout:\n  ${lines.join('\n  ')}`);
