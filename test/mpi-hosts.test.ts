// The ring across "hosts" as a cluster user launches it (a hostfile and a launcher agent):
// network namespaces with their own hostnames, one rank each, linked through a bridge with
// links shaped to 1 Gbit/s (scripts/netns-cluster.sh). The results equal one process on the
// global batch, as over loopback (mpi.test.ts); a rank killed mid-ring ends the job quickly
// with nothing left running; a cut link ends it within the stall deadline, saying which rank
// stopped hearing from which. Needs root (namespaces) and Open MPI: skipped, with the reason,
// elsewhere. The namespaces are made and removed here, whatever the outcome.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { checkAccurate, checkTrainingStep, parseResults } from './mpi-results';

const CLUSTER = path.join(__dirname, '..', 'scripts', 'netns-cluster.sh');
const WORKER = path.join(__dirname, 'mpi-worker.js');
const HOSTS = 3;
const NAME = `sgl${process.pid}`; // namespaces NAME-h0 .. NAME-h2 and the switch NAME-sw
const host = (i: number): string => `${NAME}-h${i}`;

function cluster(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('bash', [CLUSTER, ...args], { encoding: 'utf8' });
}

function whySkip(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return 'needs root on Linux (network namespaces)';
  if (spawnSync('mpirun', ['--version']).status !== 0)
    return 'no mpirun (install Open MPI: openmpi-bin libopenmpi-dev)';
  const probe = `${NAME}-probe`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'ip netns add fails here';
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

/** Namespaces left by an earlier run that was killed before its teardown. */
function removeStale(): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const match of names.matchAll(/^sgl(\d+)-sw\b/gm)) {
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive || pid === process.pid) cluster('down', `sgl${pid}`);
  }
}

// The ranks' stall deadline in the fault tests (initWorld's stallTimeout, here through the
// environment), and Open MPI's keepalive on its control connections, without which mpirun
// waits ~15 minutes for a daemon on the far side of a cut (docs/distributed.md).
const STALL_TIMEOUT = 3;
const KEEPALIVE = [
  'oob_tcp_keepalive_time',
  '2',
  'oob_tcp_keepalive_intvl',
  '1',
  'oob_tcp_keepalive_probes',
  '3',
];

/** mpirun as on a cluster (scripts/netns-cluster.sh mpirun), with the fault tests' keepalive. */
function mpirunArgs(suites: string, timeout: number): string[] {
  return [CLUSTER, 'mpirun', NAME, '--timeout', String(timeout)]
    .concat(KEEPALIVE.flatMap((v, i) => (i % 2 === 0 ? ['--mca', v] : [v])))
    .concat(['-x', 'SIGLIP_MPI_STALL_TIMEOUT', '-np', String(HOSTS), process.execPath, WORKER, suites]);
}

const env = {
  ...process.env,
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  SIGLIP_MPI_STALL_TIMEOUT: String(STALL_TIMEOUT),
};

// A stall message that points at rank 2: one of its neighbours lost it, or a rank waiting on
// one of them says (by their stall notes) that the neighbour is itself waiting on rank 2.
const NAMES_RANK_2 =
  /^siglip-loss: (rank [01] stopped hearing from rank 2|rank 2 stopped taking data from rank [01]|rank [01] stopped hearing from rank [01] \(rank [01] is itself waiting on rank 2)/;

/** The ranks' stall messages, in the order mpirun printed them. */
function stallMessages(output: string): string[] {
  return output.match(/^siglip-loss: rank.*$/gm) ?? [];
}

/** The first stall message: even that one must name the rank behind the fault. */
function firstStallMessage(output: string): string {
  return stallMessages(output)[0] ?? `no stall message in:\n${output}`;
}

/** Bytes that crossed host 1's link (both ways), from the switch's side. */
function linkBytes(): number {
  const stats = spawnSync('ip', ['-n', `${NAME}-sw`, '-s', '-j', 'link', 'show', 'p1'], { encoding: 'utf8' });
  const [link] = JSON.parse(stats.stdout) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[];
  return link!.stats64.rx.bytes + link!.stats64.tx.bytes;
}

/**
 * The processes still running in host i's namespace, with their command lines (a rank's
 * names mpi-worker.js; not its name: Node 24 calls its main thread "MainThread").
 */
function processesOn(i: number): { pid: number; command: string; rank: boolean }[] {
  return spawnSync('ip', ['netns', 'pids', host(i)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .flatMap((pid) => {
      try {
        const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        return [{ pid: Number(pid), command, rank: command.includes(WORKER) }];
      } catch {
        return []; // ended meanwhile
      }
    });
}

/**
 * What is left running on the hosts (every process, or only the ranks) once it has had
 * `seconds` to end: polled, since daemons finish a moment after mpirun.
 */
async function leftRunning(seconds: number, ranksOnly = false): Promise<string[]> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const left = [0, 1, 2].flatMap((i) =>
      processesOn(i)
        .filter((p) => !ranksOnly || p.rank)
        .map((p) => `${host(i)}: ${p.pid} ${p.command}`),
    );
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts the loop suite on every host; resolves once every rank is in the ring's loop. */
async function startLoop(): Promise<{ exited: Promise<number | null>; output: () => string }> {
  const [command, ...args] = ['bash', ...mpirunArgs('loop', 120)];
  const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Node's start and tfjs's loading take a few seconds per rank on 2 cores.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  return { exited, output: () => output };
}

const skip = whySkip();

describe('siglip-loss/mpi across hosts (network namespaces, 1 Gbit/s links)', { skip }, () => {
  before(() => {
    removeStale();
    const up = cluster('up', NAME, String(HOSTS), '1gbit');
    assert.equal(up.status, 0, up.stderr);
  });
  after(() => cluster('down', NAME));

  test(`W=${HOSTS} hosts: the loss, dX and dY rows, labels and a training step equal one process`, () => {
    const bytesBefore = linkBytes();
    const [command, ...args] = ['bash', ...mpirunArgs('raw,train', 120)];
    const run = spawnSync(command!, args, { encoding: 'utf8', env });
    assert.equal(run.status, 0, `mpirun failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    const results = parseResults(run.stdout);
    assert.deepEqual([...new Set(results.map((r) => r.rank))].sort(), [0, 1, 2], 'every rank reports');
    checkAccurate(results, HOSTS);
    checkTrainingStep(results, HOSTS);
    // The blocks and accumulators of host 1's rank went through its veth link (~0.7 MB).
    const crossed = linkBytes() - bytesBefore;
    assert.ok(crossed > 1e5, `only ${crossed} bytes crossed host 1's link`);
  });

  test('a rank killed mid-ring: every rank ends within 10 s, mpirun fails, nothing is left running', async (t) => {
    const run = await startLoop();
    const victims = processesOn(2).filter((p) => p.rank);
    assert.equal(victims.length, 1, `host 2 runs one rank: ${JSON.stringify(victims)}\n${run.output()}`);
    const killed = Date.now();
    process.kill(victims[0]!.pid, 'SIGKILL');
    const code = await run.exited;
    const seconds = (Date.now() - killed) / 1000;
    t.diagnostic(`mpirun ended ${seconds.toFixed(1)} s after the kill (exit code ${code})`);
    assert.notEqual(code, 0, run.output());
    assert.ok(seconds < 10, `mpirun ended ${seconds.toFixed(1)} s after the kill`);
    assert.deepEqual(await leftRunning(5), [], 'processes left in the hosts');
  });

  test('a rank that hangs (SIGSTOP): its neighbours say so and end the job (MPI_Abort) within twice the deadline', async (t) => {
    const run = await startLoop();
    const [victim] = processesOn(2).filter((p) => p.rank);
    assert.ok(victim !== undefined, run.output());
    const stopped = Date.now();
    process.kill(victim.pid, 'SIGSTOP'); // its kernel still answers TCP: no keepalive fires
    const code = await run.exited;
    const seconds = (Date.now() - stopped) / 1000;
    t.diagnostic(`mpirun ended ${seconds.toFixed(1)} s after the stop (exit code ${code})`);
    assert.notEqual(code, 0, run.output());
    // twice the deadline, then ~3 s for mpirun to end the ranks (as after a kill)
    assert.ok(seconds < 2 * STALL_TIMEOUT + 8, `mpirun ended ${seconds.toFixed(1)} s after the stop`);
    t.diagnostic(stallMessages(run.output()).join('\n'));
    assert.match(firstStallMessage(run.output()), NAMES_RANK_2);
    assert.match(run.output(), /MPI_ABORT was invoked/);
    assert.deepEqual(await leftRunning(5), [], 'processes left in the hosts');
  });

  test(`a cut link: the job ends within twice the stall deadline (${STALL_TIMEOUT} s), saying which rank stopped hearing from which`, async (t) => {
    const run = await startLoop();
    const cut = Date.now();
    assert.equal(cluster('link', NAME, host(2), 'down').status, 0);
    try {
      const code = await run.exited;
      const seconds = (Date.now() - cut) / 1000;
      t.diagnostic(`mpirun ended ${seconds.toFixed(1)} s after the cut (exit code ${code})`);
      assert.notEqual(code, 0, run.output());
      assert.ok(seconds < 2 * STALL_TIMEOUT + 5, `mpirun ended ${seconds.toFixed(1)} s after the cut`);
      t.diagnostic(stallMessages(run.output()).join('\n'));
      assert.match(firstStallMessage(run.output()), NAMES_RANK_2);
      // No rank runs on: the ranks on the connected hosts were killed, host 2's ends itself at
      // twice its deadline. (Host 2's Open MPI daemon may wait on its dead control connection:
      // the teardown ends it.)
      assert.deepEqual(await leftRunning(2 * STALL_TIMEOUT + 5, true), [], 'ranks left running');
    } finally {
      // Last of the tests: the cut-off host's daemon may still wait on its control connection.
      cluster('link', NAME, host(2), 'up');
    }
  });
});
