#!/usr/bin/env node
// What async safety costs and whether it holds up over time:
//  1. at N = 65536, D = 768: the copy an async call makes of its inputs (time,
//     resident memory) against a SharedArrayBuffer input read in place, and
//     how soon an abort stops the pass (threads 1 and 2);
//  2. a soak: 10,000 calls mixing sizes, both losses, sync/async/loss-only,
//     labels, offsets, bf16, aborts and the tfjs op, with RSS and
//     tf.memory() sampled along the way (they must stay flat).
// `npm run bench:async-safety [-- --quick]`; writes bench/results/async-safety.json.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const siglip = require('..');
const { machineInfo, root } = require('./lib/machine');

const quick = process.argv.includes('--quick');
const MiB = 2 ** 20;

function rssBytes() {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
}

function filled(n, dim, seed, shared = false) {
  const a = new Float32Array(shared ? new SharedArrayBuffer(n * dim * 4) : n * dim);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.07; // rows of norm ~1 at D = 768
  }
  return a;
}

async function abortedCall(x, y, dim, threads) {
  const controller = new AbortController();
  const rssBefore = rssBytes();
  const started = performance.now();
  const pending = siglip.siglipLossAndGradsAsync(x, y, dim, Math.log(10), -10, {
    threads,
    signal: controller.signal,
  });
  const returnedMs = performance.now() - started; // the copy, when one is made
  const rssAfterCall = rssBytes();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const abortedAt = performance.now();
  controller.abort();
  const error = await pending.then(
    () => undefined,
    (e) => e,
  );
  return {
    threads,
    callReturnedMs: +returnedMs.toFixed(1),
    residentAddedMiB: +((rssAfterCall - rssBefore) / MiB).toFixed(0),
    stopLatencyMs: +(performance.now() - abortedAt).toFixed(1),
    rejectedWith: error?.name,
  };
}

async function largeBatch() {
  const n = quick ? 16384 : 65536;
  const dim = 768;
  const rows = [];
  for (const shared of [false, true]) {
    const x = filled(n, dim, 1, shared);
    const y = filled(n, dim, 2, shared);
    for (const threads of [1, 2])
      rows.push({
        n,
        dim,
        input: shared ? 'SharedArrayBuffer' : 'ArrayBuffer',
        ...(await abortedCall(x, y, dim, threads)),
      });
  }
  return rows;
}

async function soak(tf) {
  const calls = quick ? 1000 : 10000;
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const samples = [];
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const n = 1 + Math.floor(random() * 300);
    const m = 1 + Math.floor(random() * 300);
    const dim = 1 + Math.floor(random() * 64);
    const x = filled(n, dim, i);
    const y = filled(m, dim, i + 1);
    const kind = i % 8;
    const labels = () => ({
      positives: 'labels',
      xLabels: Int32Array.from({ length: n }, () => Math.floor(random() * 5) - 1),
      yLabels: Int32Array.from({ length: m }, () => Math.floor(random() * 5) - 1),
    });
    if (kind === 0) siglip.siglipLossAndGrads(x, y, dim, 1, -5, { positiveOffset: (i % 7) - 3 });
    else if (kind === 1) siglip.siglipLossValue(x, y, dim, 1, -5, labels());
    else if (kind === 2)
      await siglip.siglipLossAndGradsAsync(x, y, dim, 1, -5, { ...labels(), precision: 'bf16' });
    else if (kind === 3) siglip.softmaxLossAndGrads(x, x.slice(), dim, 1);
    else if (kind === 4) await siglip.softmaxLossAndGradsAsync(x, x.slice(), dim, 1, { threads: 1 });
    else if (kind === 5) {
      const controller = new AbortController();
      const pending = siglip.siglipLossAndGradsAsync(x, y, dim, 1, -5, { signal: controller.signal });
      controller.abort();
      await pending.catch(() => undefined);
    } else {
      tf.tidy(() => {
        const f = (a, b) => siglip.siglipLoss(a, b, 1, -5, kind === 6 ? {} : labels());
        tf.grads(f)([tf.tensor2d(x, [n, dim]), tf.tensor2d(y, [m, dim])]).forEach((g) => g.dataSync());
      });
    }
    if ((i + 1) % (calls / 10) === 0) {
      global.gc?.();
      samples.push({ calls: i + 1, rssMiB: +(rssBytes() / MiB).toFixed(1), tensors: tf.memory().numTensors });
    }
  }
  return { calls, seconds: +((performance.now() - started) / 1000).toFixed(1), samples };
}

async function main() {
  let tf;
  try {
    tf = require('@tensorflow/tfjs-node');
  } catch {
    tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-cpu');
  }
  const large = await largeBatch();
  console.log('async call at large N: the copy of the inputs, and an abort after 2 s');
  console.table(large);
  const soaked = await soak(tf);
  console.log(`soak: ${soaked.calls} calls in ${soaked.seconds} s on tfjs backend '${tf.getBackend()}'`);
  console.table(soaked.samples);
  const first = soaked.samples[0];
  const last = soaked.samples[soaked.samples.length - 1];
  console.log(`RSS ${first.rssMiB} -> ${last.rssMiB} MiB, tensors ${first.tensors} -> ${last.tensors}`);
  const out = path.join(root, 'bench', 'results', quick ? 'async-safety-quick.json' : 'async-safety.json');
  fs.writeFileSync(
    out,
    JSON.stringify({ machine: machineInfo(siglip.backendInfo()), large, soak: soaked }, null, 2) + '\n',
  );
  console.log(`wrote ${path.relative(root, out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
