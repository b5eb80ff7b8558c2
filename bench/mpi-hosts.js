#!/usr/bin/env node
// `npm run bench:mpi-hosts -- [--rate 1gbit] [--quick]` (as root: it makes network namespaces
// with scripts/netns-cluster.sh): the ring across W = 2 "hosts" on links shaped with tc tbf,
// against the link's limit. Per ring step a rank computes 6·B²·D flops and sends a B×D block
// and its B×D accumulator (2·B·D·4 bytes), so communication can hide behind compute only above
// B* = 4F/(3β). Measured in the same run: F, one rank's compute rate (the same blocks without
// MPI, both ranks at once, one thread each); β, the bus bandwidth of a communication-only ring
// (bench/mpi-ring-bandwidth.c); then for B across B* the ring's wall time against the roofline
// max(W·t_block, bytes sent / β). Last, the network's tax on the cores: the same blocks alone
// with the links idle and while plain TCP streams fill them both ways (these namespace hosts
// share this machine's cores, and the kernel's work for the links runs on them). Writes
// bench/results/mpi-hosts.json and mpi-hosts.svg.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { peakRss } = require('./lib/machine');
const { unitRows } = require('./lib/unit-rows');

const QUICK = process.argv.includes('--quick');
const RATE = process.argv.includes('--rate') ? process.argv[process.argv.indexOf('--rate') + 1] : '1gbit';
const DIM = 768;
const HOSTS = 2;
const MEMORY_HOSTS = [1, 2, 3]; // W for the memory check, one rank a host
const MEMORY_ROWS = 2048;
const ROUNDS = 5;
const ROWS = QUICK ? [256, 1024, 2048] : [256, 512, 1024, 2048, 4096]; // B, per rank
const TAX_ROWS = QUICK ? [1024] : [256, 2048]; // B of the tax's blocks
const TAX_SECONDS = QUICK ? 2 : 4; // each measure of it
const STREAM_PORT = 5201;
const root = path.join(__dirname, '..');
const CLUSTER = path.join(root, 'scripts', 'netns-cluster.sh');
const NAME = `sglb${process.pid}`;

const fastest = (values) => Math.min(...values);

/** One rank of the memory check: its peak RSS before and after one ring at B = MEMORY_ROWS. */
function memoryRank() {
  const { initWorld } = require('../dist/mpi');
  const { siglipLossAndGrads } = require('../dist/raw');
  const world = initWorld();
  const x = unitRows(MEMORY_ROWS, DIM, 1 + world.rank);
  const y = unitRows(MEMORY_ROWS, DIM, 101 + world.rank);
  const rssBeforeBytes = peakRss();
  siglipLossAndGrads(x, y, DIM, Math.log(10), -10, { world, threads: 1 });
  console.log(`BENCH ${JSON.stringify({ rank: world.rank, rssBeforeBytes, peakRssBytes: peakRss() })}`);
  world.close();
}

/** One rank: for each B, the blocks without MPI and the ring, in alternating rounds. */
function rank() {
  const { initWorld } = require('../dist/mpi');
  const { siglipLossAndGrads, siglipLossValue } = require('../dist/raw');
  const world = initWorld();
  const tiny = new Float32Array(DIM).fill(1 / Math.sqrt(DIM));
  const out = [];
  for (const rows of ROWS) {
    const x = unitRows(rows, DIM, 1 + world.rank);
    const y = unitRows(rows, DIM, 101 + world.rank);
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      siglipLossValue(tiny, tiny, DIM, 0, 0, { world }); // start together
      const ring = siglipLossAndGrads(x, y, DIM, Math.log(10), -10, { world, threads: 1 });
      siglipLossValue(tiny, tiny, DIM, 0, 0, { world });
      const started = process.hrtime.bigint();
      siglipLossAndGrads(x, y, DIM, Math.log(10), -10, { threads: 1, positives: 'none' });
      const blockSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      rounds.push({
        wallSeconds: ring.ring.wallSeconds,
        ringComputeSeconds: ring.ring.computeSeconds,
        blockSeconds,
        bytesSent: ring.ring.bytesSent,
      });
    }
    out.push({ rows, rounds });
  }
  console.log(`BENCH ${JSON.stringify({ rank: world.rank, out })}`);
  world.close();
}

/** `--blocks ROWS SECONDS`: the median time of a B×B block alone, one thread, computed again and again. */
function blocksAlone() {
  const { siglipLossAndGrads } = require('../dist/raw');
  const rows = Number(process.argv[3]);
  const until = Date.now() + 1000 * Number(process.argv[4]);
  const x = unitRows(rows, DIM, 1);
  const y = unitRows(rows, DIM, 101);
  const seconds = [];
  while (Date.now() < until) {
    const started = process.hrtime.bigint();
    siglipLossAndGrads(x, y, DIM, Math.log(10), -10, { threads: 1, positives: 'none' });
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  console.log(
    `BENCH ${JSON.stringify({ rows, blocks: seconds.length, medianSeconds: seconds[seconds.length >> 1] })}`,
  );
}

/** `--stream-sink PORT`: takes one TCP stream and drops it; prints the rate it arrived at. */
function streamSink() {
  const server = net.createServer((socket) => {
    let bytes = 0;
    let first = 0n;
    socket.on('data', (data) => {
      if (first === 0n) first = process.hrtime.bigint();
      bytes += data.length;
    });
    socket.on('end', () => {
      const seconds = Number(process.hrtime.bigint() - first) / 1e9;
      console.log(`BENCH ${JSON.stringify({ streamBytesPerSecond: bytes / seconds })}`);
      server.close();
    });
  });
  server.listen(Number(process.argv[3]));
}

/** `--stream-to HOST PORT SECONDS`: sends to HOST as fast as TCP takes it, for SECONDS. */
function streamSource() {
  const [host, port, seconds] = process.argv.slice(3);
  const until = Date.now() + 1000 * Number(seconds);
  const chunk = Buffer.alloc(1 << 20);
  const socket = net.connect(Number(port), host, function write() {
    while (Date.now() < until) if (!socket.write(chunk)) return void socket.once('drain', write);
    socket.end();
  });
}

/**
 * The network's tax on compute: two ranks' blocks alone (one thread each, both at once) with
 * the links idle, then while hosts 0 and 1 stream plain TCP to each other at the links' rate.
 */
function networkTax(rows) {
  const self = `"${process.execPath}" "${__filename}"`;
  const blocks = `${self} --blocks ${rows} ${TAX_SECONDS} & ${self} --blocks ${rows} ${TAX_SECONDS}; wait`;
  const quiet = benchLines(execFileSync('bash', ['-c', blocks], { encoding: 'utf8' }));
  const onHost = (i, args) => `bash "${CLUSTER}" exec ${NAME}-h${i} ${self} ${args}`;
  const streams = [0, 1].map((i) => onHost(i, `--stream-sink ${STREAM_PORT} &`)).join(' ');
  const sources = [0, 1]
    .map((i) => onHost(i, `--stream-to ${NAME}-h${1 - i} ${STREAM_PORT} ${TAX_SECONDS + 2} &`))
    .join(' ');
  // The streams start a second before the blocks and end a second after them.
  const loaded = benchLines(
    execFileSync('bash', ['-c', `${streams} sleep 1; ${sources} sleep 1; ${blocks}; wait`], {
      encoding: 'utf8',
    }),
  );
  // The slower rank's median: both ranks' blocks run at once, as in the ring.
  const slowerMedian = (lines) => Math.max(...lines.map((l) => l.medianSeconds));
  const rates = loaded.filter((l) => l.streamBytesPerSecond).map((l) => l.streamBytesPerSecond);
  return {
    rows,
    quietSeconds: slowerMedian(quiet),
    loadedSeconds: slowerMedian(loaded.filter((l) => l.medianSeconds)),
    streamBytesPerSecond: rates,
  };
}

/** mpirun across the namespace hosts, as on a cluster (scripts/netns-cluster.sh); its stdout. */
function mpirunOnHosts(command, ranks = HOSTS) {
  // At W = 2 the ring is a two-way exchange: one TCP connection reached only half the link
  // each way, two reach all of it.
  const args = [CLUSTER, 'mpirun', NAME, '--timeout', '900', '--mca', 'btl_tcp_links', '2'];
  args.push('-np', String(ranks), ...command);
  const run = spawnSync('bash', args, {
    encoding: 'utf8',
    env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
  });
  if (run.status !== 0) throw new Error(`mpirun failed:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** The ranks' results: their `BENCH {...}` lines. */
function benchLines(stdout) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('BENCH '))
    .map((l) => JSON.parse(l.slice(6)));
}

function main() {
  if (process.getuid?.() !== 0) throw new Error('bench:mpi-hosts makes network namespaces: run it as root');
  const { backendInfo } = require('../dist/raw');
  const { machineInfo } = require('./lib/machine');
  const { lineChart } = require('../support/svg-chart');
  const machine = machineInfo(backendInfo());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'siglip-mpi-hosts-'));
  const bandwidthProgram = path.join(work, 'mpi-ring-bandwidth');
  execFileSync('mpicc', ['-O2', '-o', bandwidthProgram, path.join(__dirname, 'mpi-ring-bandwidth.c')]);
  execFileSync('bash', [CLUSTER, 'up', NAME, String(Math.max(HOSTS, ...MEMORY_HOSTS)), RATE]);
  try {
    console.log(
      `${machine.cpu}, ${machine.cores} cores; W = ${HOSTS} namespace hosts, links ${RATE}; D = ${DIM}, fwd+bwd`,
    );
    // β: the communication-only ring with the largest blocks (the link's rate, not latency).
    const comm = JSON.parse(mpirunOnHosts([bandwidthProgram, String(ROWS.at(-1)), String(DIM), '5']));
    const beta = comm.busBytesPerSecond;
    const ranks = benchLines(
      mpirunOnHosts([process.execPath, __filename, '--rank', ...(QUICK ? ['--quick'] : [])]),
    );
    const sweep = ROWS.map((rows, i) => {
      const perRank = ranks.map((r) => r.out[i].rounds);
      // Other work on the machine only ever adds time: the fastest round of each is its measure.
      const block = Math.max(...perRank.map((rounds) => fastest(rounds.map((r) => r.blockSeconds))));
      const wall = Math.max(...perRank.map((rounds) => fastest(rounds.map((r) => r.wallSeconds))));
      // The blocks' time inside the ring: above W·t_block where moving the bytes takes CPU from them.
      const ringCompute = Math.max(
        ...perRank.map((rounds) => fastest(rounds.map((r) => r.ringComputeSeconds))),
      );
      const bytesSent = Math.max(...perRank.map((rounds) => rounds[0].bytesSent));
      const flopRate = (6 * rows * rows * DIM) / block;
      const roofline = Math.max(HOSTS * block, bytesSent / beta);
      return {
        rows,
        blockSeconds: block,
        wallSeconds: wall,
        ringComputeSeconds: ringCompute,
        bytesSent,
        flopRate,
        roofline,
        efficiency: roofline / wall,
      };
    });
    // F at the largest B (the kernels' steady rate); B* = 4F / (3β).
    const F = sweep.at(-1).flopRate;
    const bStar = (4 * F) / (3 * beta);
    console.log(
      `F = ${(F / 1e9).toFixed(1)} GFLOP/s per rank (one thread); β = ${(beta / 1e6).toFixed(1)} MB/s per rank ` +
        `(communication-only ring, ${(comm.bytesPerRankPerStep / 2 ** 20).toFixed(1)} MiB a step); B* = 4F/(3β) = ${bStar.toFixed(0)}`,
    );
    const tax = TAX_ROWS.map(networkTax);
    for (const t of tax) {
      console.log(
        `the network's tax: B = ${t.rows} blocks alone (both ranks at once) ${(1e3 * t.quietSeconds).toFixed(1)} ms ` +
          `with the links idle, ${(1e3 * t.loadedSeconds).toFixed(1)} ms while TCP streams carry ` +
          `${t.streamBytesPerSecond.map((r) => (r / 1e6).toFixed(0)).join(' and ')} MB/s between the hosts: ` +
          `+${(100 * (t.loadedSeconds / t.quietSeconds - 1)).toFixed(0)}%`,
      );
    }
    for (const s of sweep) {
      const linkSeconds = s.bytesSent / beta;
      console.log(
        `B = ${String(s.rows).padStart(5)} (${(s.rows / bStar).toFixed(2)} B*): wall ${s.wallSeconds.toFixed(3)} s, ` +
          `W·t_block ${(HOSTS * s.blockSeconds).toFixed(3)} s (in the ring ${s.ringComputeSeconds.toFixed(3)} s), bytes/β ${linkSeconds.toFixed(3)} s -> ` +
          `${(100 * s.efficiency).toFixed(1)}% of the roofline`,
      );
    }
    // Memory per rank across hosts, flat in W: each rank holds a few blocks, whatever W.
    const memory = MEMORY_HOSTS.map((ranks) => {
      const perRank = benchLines(mpirunOnHosts([process.execPath, __filename, '--memory-rank'], ranks));
      const peak = Math.max(...perRank.map((r) => r.peakRssBytes));
      console.log(
        `memory W = ${ranks} hosts (B = ${MEMORY_ROWS} per rank): peak RSS per rank ` +
          perRank.map((r) => `${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`).join(', '),
      );
      return { ranks, rowsPerRank: MEMORY_ROWS, perRank, maxPeakRssBytes: peak };
    });
    const dir = path.join(__dirname, 'results');
    const suffix = QUICK ? '-quick' : '';
    fs.writeFileSync(
      path.join(dir, `mpi-hosts${suffix}.json`),
      JSON.stringify(
        {
          machine,
          rate: RATE,
          hosts: HOSTS,
          dim: DIM,
          communicationOnly: comm,
          F,
          beta,
          bStar,
          sweep,
          tax,
          memory,
          ranks,
        },
        null,
        1,
      ) + '\n',
    );
    fs.writeFileSync(
      path.join(dir, `mpi-hosts${suffix}.svg`),
      lineChart({
        title: `The ring across ${HOSTS} hosts, ${RATE} links, D = ${DIM} (B* = ${bStar.toFixed(0)})`,
        xLabel: 'rows per rank B',
        yLabel: 'max(W·t_block, bytes/β) / wall',
        series: [{ name: 'the ring', points: sweep.map((s) => [s.rows, s.efficiency]) }],
        marks: [{ x: bStar, y: 0.5, label: 'B*' }],
        hLines: [
          { y: 0.85, label: '85 %' },
          { y: 0.9, label: '90 %' },
        ],
        linearY: [0, 1.1],
        formatX: String,
        formatY: (v) => `${(100 * v).toFixed(0)}%`,
      }),
    );
    console.log(`saved bench/results/mpi-hosts${suffix}.json and mpi-hosts${suffix}.svg`);
  } finally {
    execFileSync('bash', [CLUSTER, 'down', NAME]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const modes = {
  '--rank': rank,
  '--memory-rank': memoryRank,
  '--blocks': blocksAlone,
  '--stream-sink': streamSink,
  '--stream-to': streamSource,
};
(modes[process.argv[2]] ?? main)();
