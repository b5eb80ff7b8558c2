#!/usr/bin/env node
// The cost of a call at the batch sizes tfjs training loops use (N = 16 ... 1024): per call,
// median of many, the loss alone and the fused loss + gradients through the raw API, with the
// GFLOP/s that makes. What is not products here is fixed cost per call (threads, buffers).
// `npm run bench:small [-- DIR]`: DIR, another built checkout of this package, is timed instead
// (compare builds in separate processes: two in one share malloc's state, which this measures).
'use strict';
const path = require('node:path');

const { machineInfo } = require('./lib/machine');

const SHAPES = [
  [16, 768],
  [128, 64],
  [128, 768],
  [256, 512],
  [512, 768],
  [1024, 768],
];
const ROUNDS = 3;
const CALLS = 40;

function filled(n, dim, seed) {
  const a = new Float32Array(n * dim);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.07;
  }
  return a;
}

function medianMs(call) {
  for (let i = 0; i < 3; i++) call(); // warm-up
  const times = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    call();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[CALLS >> 1];
}

function main() {
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const raw = require(path.join(dir, 'dist', 'raw.js'));
  const info = raw.backendInfo();
  const machine = machineInfo(info);
  console.log(`${dir}: ${machine.cpu}, ${machine.cores} cores, ${info.isa}, ${info.threads} threads`);
  console.log(`ms a call: median of ${CALLS}, best of ${ROUNDS} rounds`);
  console.log('   N     D  loss ms  GFLOP/s  fused ms  GFLOP/s');
  const rate = (flops, ms) => (flops / ms / 1e6).toFixed(1).padStart(7);
  for (const [n, dim] of SHAPES) {
    const x = filled(n, dim, 1);
    const y = filled(n, dim, 2);
    let loss = Infinity;
    let fused = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      loss = Math.min(
        loss,
        medianMs(() => raw.siglipLossValue(x, y, dim, Math.log(10), -10)),
      );
      fused = Math.min(
        fused,
        medianMs(() => raw.siglipLossAndGrads(x, y, dim, Math.log(10), -10)),
      );
    }
    const pairsDim = n * n * dim;
    console.log(
      `${String(n).padStart(4)}  ${String(dim).padStart(4)}  ${loss.toFixed(3).padStart(7)}  ${rate(2 * pairsDim, loss)}` +
        `  ${fused.toFixed(3).padStart(8)}  ${rate(6 * pairsDim, fused)}`,
    );
  }
}

main();
