#!/usr/bin/env node
// A batch too large to materialize: N = M = 65536, D = 768 fwd+bwd in one
// process (the N x N logits alone would be 17 GB in float32). Reports time and
// peak RSS against inputs + gradients. `npm run bench:large [-- N]`
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { backendInfo, siglipLossAndGrads } = require('..');
const { machineInfo, peakRss, root } = require('./lib/machine');

const n = Number(process.argv[2] ?? 65536);
const D = 768;
const MiB = 2 ** 20;

const rssBefore = process.memoryUsage().rss;
const x = new Float32Array(n * D);
const y = new Float32Array(n * D);
let seed = 12345;
for (const a of [x, y]) {
  for (let i = 0; i < a.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = (seed / 2 ** 32 - 0.5) * 0.125; // |row| about 1 at D = 768
  }
}
console.error(`N = M = ${n}, D = ${D}: running the fused pass (minutes on 2 cores)...`);
const start = process.hrtime.bigint();
const r = siglipLossAndGrads(x, y, D, Math.log(10), -10);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const peak = peakRss();

const inputsAndGradients = 4 * n * D * 4;
const overhead = peak - rssBefore - inputsAndGradients;
const result = {
  machine: machineInfo(backendInfo()),
  n,
  m: n,
  d: D,
  loss: r.loss,
  seconds,
  gflops: (6 * n * n * D) / seconds / 1e9,
  rssBeforeMiB: rssBefore / MiB,
  peakRssMiB: peak / MiB,
  inputsAndGradientsMiB: inputsAndGradients / MiB,
  overheadMiB: overhead / MiB,
  materializedLogitsMiB: (n * n * 4) / MiB,
};
console.log(
  `N = M = ${n}, D = ${D}: loss ${r.loss.toFixed(4)} in ${seconds.toFixed(1)} s (${result.gflops.toFixed(0)} GFLOP/s)\n` +
    `peak RSS ${result.peakRssMiB.toFixed(0)} MiB = ${result.rssBeforeMiB.toFixed(0)} MiB before the batch + ` +
    `${result.inputsAndGradientsMiB.toFixed(0)} MiB inputs and gradients + ${result.overheadMiB.toFixed(1)} MiB more ` +
    `(one N x N float32 matrix would be ${result.materializedLogitsMiB.toFixed(0)} MiB)`,
);
const dir = path.join(root, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, `large-batch-${n}.json`), JSON.stringify(result, null, 1) + '\n');
