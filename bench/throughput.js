#!/usr/bin/env node
// Throughput of the fused pass, the loss-only pass and tfjs-node's materialized
// sigmoid and softmax losses, as a fraction of the SGEMM ceiling measured in the
// same run, for precision 'fp32' and the opt-in 'bf16' (with its error against
// float64); then the peers at the largest N in alternating rounds: tfjs-node and,
// where python3 has jax, JAX's jit of big_vision's materialized loss
// (bench/peers/jax_siglip.py). `npm run bench` (about 4 minutes) or
// `npm run bench -- --quick` (~1 minute). SIGLIP_ISA=x86-64-v3 measures the AVX2
// kernels against OpenBLAS's AVX2 kernel and the AVX2 FMA peak.
'use strict';
const Benchmark = require('benchmark');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { backendInfo, siglipLossAndGrads, siglipLossValue } = require('..');
const { fmaPeak, machineInfo, measureCeiling, openblasCeiling, root } = require('./lib/machine');
const { errorsAgainstFloat64 } = require('./lib/float64-reference');
const { groupsOfFour } = require('./lib/labels');
const { createProgress } = require('../support/progress');
const { signLabels, sigmoidLoss, softmaxLoss, valueAndGradsStep } = require('./lib/tfjs-losses');

const quick = process.argv.includes('--quick');
const D = 768;
const SIZES = quick ? [1024, 2048, 4096] : [1024, 2048, 4096, 8192];
const TIMING = quick ? { minSamples: 2, maxTime: 0.5 } : { minSamples: 3, maxTime: 2 };

let tf;
try {
  tf = require('@tensorflow/tfjs-node');
} catch {
  console.error(
    '@tensorflow/tfjs-node is not installed: the materialized losses and its matMul ceiling are skipped',
  );
}

const JAX_SCRIPT = path.join(__dirname, 'peers', 'jax_siglip.py');

/** jax's version when python3 imports it, else undefined (the JAX peer is then skipped). */
function jaxVersion() {
  const probe = spawnSync('python3', ['-c', 'import jax; print(jax.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/**
 * Seconds per call of JAX's jit of the materialized loss at N (the fastest of its samples, the
 * compile not timed), in a python3 child. Under SIGLIP_ISA=x86-64-v3 XLA is held to AVX2 too.
 */
function jaxSeconds(n) {
  const env = { ...process.env };
  if (process.env.SIGLIP_ISA === 'x86-64-v3') env.XLA_FLAGS = `${env.XLA_FLAGS ?? ''} --xla_cpu_max_isa=AVX2`;
  const run = spawnSync('python3', [JAX_SCRIPT, String(n), String(D), String(TIMING.minSamples)], {
    encoding: 'utf8',
    env,
  });
  if (run.status !== 0) throw new Error(`bench/peers/jax_siglip.py failed: ${run.stderr}`);
  return Number(run.stdout.split(' ')[0]);
}

function unitRows(n, dim) {
  const a = new Float32Array(n * dim);
  let seed = n * 7919 + dim;
  for (let i = 0; i < a.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = seed / 2 ** 32 - 0.5;
  }
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += a[r * dim + k] ** 2;
    for (let k = 0; k < dim; k++) a[r * dim + k] /= Math.sqrt(s);
  }
  return a;
}

/**
 * Seconds per call of fn: the fastest of benchmark.js's samples. The machine is shared, and
 * other tenants only ever add time, so the fastest sample estimates each path's own cost best
 * (the same statistic for every path, tfjs-node's included).
 */
function time(fn) {
  const bench = new Benchmark(fn, { ...TIMING, initCount: 1 });
  bench.run();
  if (bench.error) throw bench.error;
  return Math.min(...bench.stats.sample);
}

// Our cases first: TensorFlow's thread pool keeps spinning for a while after
// its ops, which would take cores from our workers.
function cases() {
  const threads = backendInfo().threads;
  const list = [];
  for (const n of SIZES) {
    list.push({ n, path: 'siglip-loss fused fwd+bwd', threads, flopsPerPair: 6 * D });
    if (n === SIZES[SIZES.length - 1]) {
      list.push({ n, path: 'siglip-loss fused fwd+bwd', labels: true, threads, flopsPerPair: 6 * D });
    }
    if (n === 4096) list.push({ n, path: 'siglip-loss fused fwd+bwd', threads: 1, flopsPerPair: 6 * D });
    list.push({ n, path: 'siglip-loss loss only', threads, flopsPerPair: 2 * D });
    list.push({ n, path: 'siglip-loss fused fwd+bwd', precision: 'bf16', threads, flopsPerPair: 6 * D });
    list.push({ n, path: 'siglip-loss loss only', precision: 'bf16', threads, flopsPerPair: 2 * D });
  }
  for (const n of tf ? SIZES : []) {
    list.push({ n, path: 'tfjs-node materialized sigmoid fwd+bwd', threads, flopsPerPair: 6 * D });
    list.push({ n, path: 'tfjs-node materialized softmax fwd+bwd', threads, flopsPerPair: 6 * D });
  }
  return list;
}

/**
 * One call of case c, ready to time, and what to free afterwards; or, for a peer outside this
 * process, `seconds()`, which times itself.
 */
function prepareCase(c) {
  if (c.path === JAX_PATH) return { seconds: () => jaxSeconds(c.n), tensors: [] };
  if (c.path === SGEMM_PATH) return { seconds: () => sgemmSeconds(c.n, c.isa), tensors: [] };
  const x = unitRows(c.n, D);
  const y = unitRows(c.n + 1, D).subarray(0, c.n * D);
  const options = {
    threads: c.threads,
    precision: c.precision ?? 'fp32',
    ...(c.labels ? groupsOfFour(c.n) : {}),
  };
  if (c.path === 'siglip-loss fused fwd+bwd')
    return { call: () => siglipLossAndGrads(x, y, D, Math.log(10), -10, options), tensors: [] };
  if (c.path === 'siglip-loss loss only')
    return { call: () => siglipLossValue(x, y, D, Math.log(10), -10, options), tensors: [] };
  const xt = tf.tensor2d(x, [c.n, D]);
  const yt = tf.tensor2d(y, [c.n, D]);
  const tPrime = tf.scalar(Math.log(10));
  if (c.path.includes('sigmoid')) {
    const bias = tf.scalar(-10);
    const labels = signLabels(tf, c.n, c.n);
    const loss = sigmoidLoss(tf, labels);
    return {
      call: () => valueAndGradsStep(tf, loss, [xt, yt, tPrime, bias]),
      tensors: [xt, yt, tPrime, bias, labels],
    };
  }
  const identity = tf.tidy(() => tf.eye(c.n));
  const loss = softmaxLoss(tf, identity);
  return { call: () => valueAndGradsStep(tf, loss, [xt, yt, tPrime]), tensors: [xt, yt, tPrime, identity] };
}

const JAX_PATH = 'JAX jit materialized sigmoid fwd+bwd';
const SGEMM_PATH = 'OpenBLAS SGEMM';

/**
 * The fused pass's flops (6 N^2 D) at OpenBLAS's SGEMM rate for `isa` now (C = A B^T, N x D),
 * in seconds: a side of the alternating rounds, so that each round has its own ceiling.
 */
function sgemmSeconds(n, isa) {
  const { gflops } = openblasCeiling(isa, n, D, 3);
  if (!gflops) throw new Error('OpenBLAS SGEMM could not be measured (libopenblas-dev)');
  return (6 * n * n * D) / (gflops * 1e9);
}

function timeCase(prepared) {
  return prepared.seconds ? prepared.seconds() : time(prepared.call);
}

function runCase(c) {
  const prepared = prepareCase(c);
  try {
    return timeCase(prepared);
  } finally {
    tf?.dispose(prepared.tensors);
  }
}

const ROUNDS = quick ? 2 : 3;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[Math.floor(mid)];
}

/**
 * ms of each named case, timed in turn for ROUNDS rounds: on a shared, noisy machine a ratio
 * within a round (both sides under the same load) is steadier than one of two separate runs.
 */
function alternatingRounds(label, sides, progress) {
  const prepared = Object.entries(sides).map(([name, c]) => [name, prepareCase(c)]);
  const rounds = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      progress.step(`${label}, round ${round} of ${ROUNDS}`);
      const ms = {};
      for (const [name, p] of prepared) ms[name] = timeCase(p) * 1e3;
      rounds.push(ms);
    }
  } finally {
    for (const [, p] of prepared) tf?.dispose(p.tensors);
  }
  return rounds;
}

/** ratios[i] = rounds[i][slow] / rounds[i][fast], and their median. */
function speedup(rounds, slow, fast) {
  const ratios = rounds.map((ms) => ms[slow] / ms[fast]);
  return { median: median(ratios), rounds: ratios };
}

/**
 * The fused pass (fp32 and bf16) against the peers at N, in alternating rounds: tfjs-node's
 * materialized sigmoid loss (when it loads) and JAX's jit of it (when python3 has jax).
 */
function headToHead(n, threads, peers, progress) {
  const sides = {
    fp32: { n, path: 'siglip-loss fused fwd+bwd', threads },
    bf16: { n, path: 'siglip-loss fused fwd+bwd', precision: 'bf16', threads },
  };
  if (peers.tfjs) sides.tfjs = { n, path: 'tfjs-node materialized sigmoid fwd+bwd', threads };
  if (peers.jax) sides.jax = { n, path: JAX_PATH, threads };
  if (peers.sgemm) sides.sgemm = { n, path: SGEMM_PATH, isa: peers.sgemm };
  const rounds = alternatingRounds(`head-to-head N=${n}`, sides, progress);
  const against = (peer) =>
    sides[peer] && { fp32: speedup(rounds, peer, 'fp32'), bf16: speedup(rounds, peer, 'bf16') };
  return { n, ms: rounds, tfjs: against('tfjs'), jax: against('jax'), sgemm: against('sgemm') };
}

/** All threads against one, fused fp32 at N. */
function threadScaling(n, threads, progress) {
  const rounds = alternatingRounds(
    `thread scaling N=${n}`,
    {
      all: { n, path: 'siglip-loss fused fwd+bwd', threads },
      one: { n, path: 'siglip-loss fused fwd+bwd', threads: 1 },
    },
    progress,
  );
  return { n, threads, ms: rounds, ...speedup(rounds, 'one', 'all') };
}

function main() {
  const machine = machineInfo(backendInfo());
  const list = cases();
  const largest = SIZES[SIZES.length - 1];
  const peers = {
    tfjs: tf !== undefined,
    jax: jaxVersion(),
    sgemm: undefined,
  };
  if (!peers.jax) console.error('python3 has no jax (pip install jax): the JAX peer is skipped');
  const headToHeadRounds = peers.tfjs || peers.jax ? ROUNDS : 0;
  const progress = createProgress(list.length + 2 + headToHeadRounds + ROUNDS, 'bench');
  progress.start('SGEMM ceiling');
  const before = measureCeiling(undefined, machine.backend.isa); // OpenBLAS only: tfjs would spin during our cases
  // OpenBLAS in the head-to-head rounds too: a ceiling per round, for the same instruction set.
  if (before.openblas !== undefined) peers.sgemm = machine.backend.isa;
  const peakBefore = fmaPeak(machine.backend.threads);
  const rows = [];
  for (const c of list) {
    progress.step(`${c.path} N=${c.n} threads=${c.threads}`);
    const seconds = runCase(c);
    const pairs = c.n * c.n;
    rows.push({
      ...c,
      m: c.n,
      d: D,
      ms: seconds * 1e3,
      gflops: (pairs * c.flopsPerPair) / seconds / 1e9,
      pairsPerSecond: pairs / seconds,
    });
  }
  const duel =
    peers.tfjs || peers.jax ? headToHead(largest, machine.backend.threads, peers, progress) : undefined;
  const scaling = threadScaling(4096, machine.backend.threads, progress);
  progress.step('SGEMM ceiling again');
  const after = measureCeiling(tf, machine.backend.isa);
  const peakAfter = fmaPeak(machine.backend.threads);
  const peak = Math.max(peakBefore ?? 0, peakAfter ?? 0) || undefined;
  progress.finish();
  const ceiling = Math.max(before.gflops ?? 0, after.gflops ?? 0) || undefined;
  for (const r of rows) r.percentOfCeiling = ceiling ? (100 * r.gflops) / ceiling : undefined;

  console.log(
    `\n${machine.cpu}, ${machine.cores} cores; engine ${machine.backend.engine}, ${machine.backend.isa}`,
  );
  console.log(
    `SGEMM ceiling (same run, C = A B^T, 4096 x 768): OpenBLAS (${before.openblasKernel ?? 'its own'} kernel${process.env.SIGLIP_ISA ? '' : ' or its own choice'}) ${fmt(before.openblas)} / ${fmt(after.openblas)} GFLOP/s, ` +
      `tfjs-node matMul ${fmt(before.tfjsMatMul)} / ${fmt(after.tfjsMatMul)} GFLOP/s (before / after); ceiling = ${fmt(ceiling)}\n`,
  );
  const header = ['N', 'M', 'D', 'threads', 'path', 'precision', 'ms', 'GFLOP/s', '% SGEMM', 'pairs/s'];
  const table = rows.map((r) => [
    r.n,
    r.m,
    r.d,
    r.threads,
    r.labels ? `${r.path}, labels (groups of 4)` : r.path,
    r.precision ?? 'fp32',
    r.ms.toFixed(1),
    r.gflops.toFixed(1),
    r.percentOfCeiling?.toFixed(0) ?? '-',
    r.pairsPerSecond.toExponential(2),
  ]);
  printTable(header, table);
  const speedups = SIZES.filter((n) =>
    rows.some((r) => r.n === n && r.path.includes('materialized sigmoid')),
  ).map((n) => {
    const fused = (precision) =>
      rows.find((r) => r.n === n && fusedRow(r, precision) && r.threads === machine.backend.threads);
    const tfjs = rows.find((r) => r.n === n && r.path.includes('materialized sigmoid'));
    return `N=${n}: ${(tfjs.ms / fused().ms).toFixed(2)}x (bf16 ${(tfjs.ms / fused('bf16').ms).toFixed(2)}x)`;
  });
  if (speedups.length)
    console.log(`\nfused vs tfjs-node materialized sigmoid (fwd+bwd), table above: ${speedups.join(', ')}`);
  if (peak)
    console.log(
      `fp32 FMA peak (same run, ${machine.backend.threads} threads, bench/fma-peak.c): ` +
        `${fmt(peakBefore)} / ${fmt(peakAfter)} GFLOP/s (before / after)`,
    );
  const ratios = (s) =>
    `${s.median.toFixed(2)}x (rounds ${s.rounds.map((r) => `${r.toFixed(2)}x`).join(', ')})`;
  if (duel) printPeers(duel, machine, ceiling, peak);
  console.log(
    `thread scaling at N=${scaling.n} (alternating, ${ROUNDS} rounds; median): ` +
      `${scaling.threads} threads ${ratios(scaling)} faster than one`,
  );

  const bf16Error = bf16Accuracy();
  console.log(
    `precision 'bf16' (${machine.backend.bf16}) relative error against float64, N=M=${ACCURACY_N}, D=${D}: ` +
      Object.entries(bf16Error)
        .map(([name, err]) => `${name} ${err.toExponential(1)}`)
        .join(', '),
  );

  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  // A lowered set (SIGLIP_ISA) keeps its own file beside the CPU's best.
  const isaSuffix = process.env.SIGLIP_ISA ? `-${process.env.SIGLIP_ISA}` : '';
  const file = path.join(dir, `throughput${isaSuffix}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        machine,
        ceiling: { before, after, gflops: ceiling },
        fmaPeak: peak,
        rows,
        headToHead: duel && { ...duel, jaxVersion: peers.jax },
        threadScaling: scaling,
        bf16Error,
      },
      null,
      1,
    ) + '\n',
  );
  console.log(`\nsaved ${path.relative(process.cwd(), file)}`);
}

/**
 * One table of the head-to-head at its N: the FMA peak and the SGEMM ceiling of this run, our
 * fused pass in fp32 and bf16 and the peers, each as ms (median of the rounds), GFLOP/s and
 * shares of the ceiling and the peak, and how many times the fused fp32 pass is faster
 * (median of the per-round ratios, and the best round).
 */
function printPeers(duel, machine, ceiling, peak) {
  const flops = 6 * duel.n * duel.n * D;
  const share = (gflops, of) => (of ? `${((100 * gflops) / of).toFixed(0)} %` : '-');
  const rate = (gflops, name) => [name, '-', fmt(gflops), share(gflops, ceiling), share(gflops, peak), '-'];
  const side = (name, label) => {
    const ms = median(duel.ms.map((round) => round[name]));
    const gflops = flops / (ms / 1e3) / 1e9;
    const vsFused = speedup(duel.ms, name, 'fp32');
    const times =
      name === 'fp32'
        ? '1.00x'
        : `${vsFused.median.toFixed(2)}x (best ${Math.max(...vsFused.rounds).toFixed(2)}x)`;
    return [label, ms.toFixed(0), gflops.toFixed(0), share(gflops, ceiling), share(gflops, peak), times];
  };
  const rows = [];
  if (peak) rows.push(rate(peak, 'fp32 FMA peak (bench/fma-peak.c)'));
  if (ceiling) rows.push(rate(ceiling, 'SGEMM ceiling (4096 x 768 x 4096)'));
  rows.push(side('fp32', 'siglip-loss fused, fp32'));
  rows.push(side('bf16', `siglip-loss fused, bf16 (${machine.backend.bf16})`));
  if (duel.tfjs) rows.push(side('tfjs', 'tfjs-node materialized sigmoid'));
  if (duel.jax) rows.push(side('jax', 'JAX jit materialized sigmoid (big_vision)'));
  // ms: the fused pass's flops at SGEMM's rate in that round.
  if (duel.sgemm) rows.push(side('sgemm', `OpenBLAS SGEMM, ${duel.n} x ${D} x ${duel.n}, in the rounds`));
  console.log(
    `\npeers, fwd+bwd at N = M = ${duel.n}, D = ${D}, ${machine.backend.threads} threads, ` +
      `${machine.backend.isa} on ${machine.cpu} (${ROUNDS} alternating rounds):`,
  );
  printTable(['', 'ms', 'GFLOP/s', '% SGEMM', '% FMA peak', 'time / fused fp32'], rows, [0]);
  if (duel.sgemm) {
    const percents = duel.sgemm.fp32.rounds.map((r) => `${(100 * r).toFixed(0)} %`);
    console.log(
      `fused fp32 against each round's SGEMM (${duel.n} x ${D} x ${duel.n}): median ` +
        `${(100 * duel.sgemm.fp32.median).toFixed(0)} %, best ${(100 * Math.max(...duel.sgemm.fp32.rounds)).toFixed(0)} % ` +
        `(rounds ${percents.join(', ')})`,
    );
  }
}

function fusedRow(r, precision = 'fp32') {
  return r.path === 'siglip-loss fused fwd+bwd' && !r.labels && (r.precision ?? 'fp32') === precision;
}

const ACCURACY_N = 512;

/** precision 'bf16' against the float64 definition at a size JavaScript computes in seconds. */
function bf16Accuracy() {
  const x = unitRows(ACCURACY_N, D);
  const y = unitRows(ACCURACY_N + 1, D).subarray(0, ACCURACY_N * D);
  const result = siglipLossAndGrads(x, y, D, Math.log(10), -10, { precision: 'bf16' });
  return errorsAgainstFloat64(result, x, y, ACCURACY_N, ACCURACY_N, D, Math.log(10), -10);
}

function fmt(v) {
  return v === undefined ? 'n/a' : v.toFixed(0);
}

/** Columns right-aligned but for those in textColumns. */
function printTable(header, rows, textColumns = [4, 5]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (textColumns.includes(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main();
