// The fastest tfjs backend installed here, and the towers it trains in minutes. tfjs-node's
// 'tensorflow' backend trains the conv towers (about 35 ms a step of 128 on 2 cores).
// Without it the conv towers are out of reach (one step took ~33 s on the pure-JS 'cpu'
// backend, and the wasm backend has no Conv2DBackpropFilter), so the demo trains MLP towers
// on 2 x 2-pooled pixels instead: about 34 ms a step on 'wasm', 145 ms on 'cpu'
// (docs/study.md, "Without tfjs-node").
'use strict';

const DEFAULT_EXAMPLES = { conv: 256000, mlp: 51200 };

function firstLine(error) {
  return String(error?.message ?? error).split('\n')[0];
}

/**
 * Loads tfjs with the fastest backend that works: { tf, backend, towers, examples, notes },
 * where notes say why a faster backend was not used.
 */
async function loadTfjs() {
  const notes = [];
  try {
    const tf = require('@tensorflow/tfjs-node');
    if (await tf.setBackend('tensorflow')) {
      return { tf, backend: 'tensorflow', towers: 'conv', examples: DEFAULT_EXAMPLES.conv, notes };
    }
    notes.push("tfjs-node's 'tensorflow' backend did not initialise");
  } catch (error) {
    notes.push(`@tensorflow/tfjs-node is not usable here (${firstLine(error)})`);
  }
  let tf;
  try {
    tf = require('@tensorflow/tfjs');
  } catch (error) {
    throw new Error(
      `the demo needs @tensorflow/tfjs-node or @tensorflow/tfjs (${firstLine(error)}): run npm install in the checkout`,
    );
  }
  try {
    require('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      return { tf, backend: 'wasm', towers: 'mlp', examples: DEFAULT_EXAMPLES.mlp, notes };
    }
    notes.push('the wasm backend did not initialise');
  } catch (error) {
    notes.push(`@tensorflow/tfjs-backend-wasm is not usable here (${firstLine(error)})`);
  }
  if (!(await tf.setBackend('cpu'))) throw new Error("tfjs's 'cpu' backend did not initialise");
  return { tf, backend: 'cpu', towers: 'mlp', examples: DEFAULT_EXAMPLES.mlp, notes };
}

module.exports = { loadTfjs };
