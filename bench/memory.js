#!/usr/bin/env node
// Memory sweep: sigmoid and softmax losses, blockwise (this package) and
// materialized (plain tfjs ops), on the 'tensorflow' backend, D = 768, N from
// 1024 upward; each configuration in a fresh process. A materialized loss stops
// when it fails or when its predicted peak would pass the memory cap.
// `npm run bench:memory [-- --quick] [-- --cap-gib G]`
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { backendInfo } = require('..');
const { machineInfo, root } = require('./lib/machine');
const { createProgress } = require('../support/progress');
const { lineChart } = require('../support/svg-chart');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const capIndex = args.indexOf('--cap-gib');
const capBytes = capIndex >= 0 ? Number(args[capIndex + 1]) * 2 ** 30 : 0.75 * os.totalmem();
const SIZES = quick ? [1024, 2048, 4096, 8192] : [1024, 2048, 4096, 8192, 16384, 32768, 65536];
const KINDS = ['sigmoid-blockwise', 'softmax-blockwise', 'sigmoid-materialized', 'softmax-materialized'];
const GiB = 2 ** 30;

/** Peak of `kind` at n from its last run: N^2 growth when materialized, N when blockwise. */
function predictPeak(kind, last, n) {
  if (!last) return 0;
  const power = kind.endsWith('materialized') ? 2 : 1;
  return last.rssStartBytes + (last.peakRssBytes - last.rssStartBytes) * (n / last.n) ** power;
}

function runChild(kind, n) {
  const child = spawnSync(process.execPath, [path.join(__dirname, 'memory-child.js'), kind, String(n)], {
    encoding: 'utf8',
    timeout: 30 * 60 * 1000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const line = (child.stdout ?? '').trim().split('\n').pop();
  try {
    const result = JSON.parse(line);
    if (result.ok && child.status === 0) return result;
    return { kind, n, ok: false, error: result.error ?? `exit ${child.status}` };
  } catch {
    const why = child.signal ? `killed by ${child.signal}` : `exit ${child.status}`;
    return { kind, n, ok: false, error: `${why}${child.error ? `: ${child.error.message}` : ''}` };
  }
}

function main() {
  const machine = machineInfo(backendInfo());
  const progress = createProgress(SIZES.length * KINDS.length, 'memory');
  const results = [];
  const last = {};
  const stopped = {};
  for (const n of SIZES) {
    for (const kind of KINDS) {
      if (stopped[kind]) {
        progress.step(`${kind} N=${n}: stopped`);
        continue;
      }
      const predicted = predictPeak(kind, last[kind], n);
      if (predicted > capBytes) {
        results.push({
          kind,
          n,
          ok: false,
          skipped: true,
          predictedPeakBytes: predicted,
          error: 'would exceed the memory cap',
        });
        stopped[kind] = true;
        progress.step(`${kind} N=${n}: predicted ${(predicted / GiB).toFixed(1)} GiB > cap`);
        continue;
      }
      progress.start(`${kind} N=${n}...`);
      const result = runChild(kind, n);
      results.push(result);
      if (result.ok) last[kind] = result;
      else stopped[kind] = true;
      progress.step(
        `${kind} N=${n}: ${result.ok ? `${(result.peakRssBytes / GiB).toFixed(2)} GiB` : result.error}`,
      );
    }
  }
  progress.finish();
  report(machine, results);
}

function report(machine, results) {
  console.log(
    `\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; cap ${(capBytes / GiB).toFixed(1)} GiB; D = 768, fwd+bwd on 'tensorflow'\n`,
  );
  console.log('     N  loss                   peak RSS   tfjs peak    time  status');
  for (const r of results) {
    const gib = (b) => (b === undefined ? '-' : `${(b / GiB).toFixed(2)} GiB`);
    console.log(
      `${String(r.n).padStart(6)}  ${r.kind.padEnd(21)}  ${gib(r.peakRssBytes).padStart(9)}  ${gib(r.tfjsPeakBytes).padStart(10)}  ` +
        `${r.ok ? `${r.seconds.toFixed(1)} s`.padStart(7) : '      -'}  ${r.ok ? 'ok' : r.error}`,
    );
  }
  for (const kind of KINDS) {
    const reached = results.filter((r) => r.kind === kind && r.ok).map((r) => r.n);
    console.log(`largest N for ${kind}: ${reached.length ? Math.max(...reached) : 'none'}`);
  }
  const at = (kind, n) => results.find((r) => r.kind === kind && r.n === n && r.ok);
  for (const loss of ['sigmoid', 'softmax']) {
    const b = at(`${loss}-blockwise`, 8192);
    const m = at(`${loss}-materialized`, 8192);
    if (b && m) {
      console.log(
        `${loss} at N=8192: materialized / blockwise peak RSS = ${(m.peakRssBytes / b.peakRssBytes).toFixed(1)}x`,
      );
    }
  }

  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const suffix = quick ? '-quick' : '';
  fs.writeFileSync(
    path.join(dir, `memory${suffix}.json`),
    JSON.stringify({ machine, capBytes, results }, null, 1) + '\n',
  );
  const series = (value) =>
    KINDS.map((kind) => ({
      name: kind,
      dashed: kind.endsWith('materialized'),
      points: results.filter((r) => r.kind === kind && r.ok).map((r) => [r.n, value(r)]),
    })).filter((s) => s.points.length);
  const failures = results
    .filter((r) => !r.ok)
    .map((r) => ({
      x: r.n,
      y: r.predictedPeakBytes ? r.predictedPeakBytes / GiB : capBytes / GiB,
      label: `${r.kind.split('-')[0]}: ${r.skipped ? 'over cap' : 'failed'}`,
    }));
  const n = (v) => (v >= 1024 ? `${v / 1024}k` : String(v));
  fs.writeFileSync(
    path.join(dir, `memory-peak${suffix}.svg`),
    lineChart({
      title: 'Peak memory of one fwd+bwd step (D = 768)',
      xLabel: 'batch size N (= M)',
      yLabel: 'peak RSS of the process (GiB)',
      series: series((r) => r.peakRssBytes / GiB),
      marks: failures,
      hLines: [{ y: capBytes / GiB, label: `cap ${(capBytes / GiB).toFixed(0)} GiB` }],
      formatX: n,
      formatY: (v) => (v < 1 ? v.toFixed(2) : v.toFixed(0)),
    }),
  );
  fs.writeFileSync(
    path.join(dir, `memory-time${suffix}.svg`),
    lineChart({
      title: 'Time of one fwd+bwd step (D = 768, 2 cores)',
      xLabel: 'batch size N (= M)',
      yLabel: 'seconds',
      series: series((r) => r.seconds),
      formatX: n,
      formatY: (v) => (v < 1 ? v.toFixed(2) : v.toFixed(0)),
    }),
  );
  console.log(
    `\nsaved bench/results/memory${suffix}.json, memory-peak${suffix}.svg, memory-time${suffix}.svg`,
  );
}

main();
