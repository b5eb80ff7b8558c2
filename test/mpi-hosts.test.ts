// The ring across "hosts" as a cluster user launches it (a hostfile and a launcher agent):
// network namespaces with their own hostnames, one rank each, linked through a bridge with
// links shaped to 1 Gbit/s (scripts/netns-cluster.sh). The results equal one process on the
// global batch, as over loopback (mpi.test.ts), and a rank killed mid-ring ends the job
// quickly with nothing left running. Needs root (namespaces) and Open MPI: skipped, with the
// reason, elsewhere. The namespaces are made and removed here, whatever the outcome.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

/** mpirun as on a cluster: started on host 0, the others reached through the launcher agent. */
function mpirunArgs(suites: string, timeout: number): string[] {
  const hostfile = path.join(os.tmpdir(), `${NAME}-hostfile`);
  fs.writeFileSync(hostfile, Array.from({ length: HOSTS }, (_, i) => `${host(i)} slots=1\n`).join(''));
  const subnet = cluster('subnet', NAME).stdout.trim();
  return [
    CLUSTER,
    'exec',
    host(0),
    'mpirun',
    '--timeout',
    String(timeout),
    '--hostfile',
    hostfile,
    '--mca',
    'plm_rsh_agent',
    `${CLUSTER} agent`,
    '--bind-to',
    'none',
    '--mca',
    'btl',
    'self,tcp',
    '--mca',
    'btl_tcp_if_include',
    subnet,
    '--mca',
    'oob_tcp_if_include',
    subnet,
    '-np',
    String(HOSTS),
    process.execPath,
    WORKER,
    suites,
  ];
}

const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

/** Bytes that crossed host 1's link (both ways), from the switch's side. */
function linkBytes(): number {
  const stats = spawnSync('ip', ['-n', `${NAME}-sw`, '-s', '-j', 'link', 'show', 'p1'], { encoding: 'utf8' });
  const [link] = JSON.parse(stats.stdout) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[];
  return link!.stats64.rx.bytes + link!.stats64.tx.bytes;
}

/** The processes still running in the hosts' namespaces. */
function processesLeft(): string[] {
  return Array.from({ length: HOSTS }, (_, i) =>
    spawnSync('ip', ['netns', 'pids', host(i)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((pid) => `${host(i)}: ${pid}`),
  ).flat();
}

const skip = whySkip();

describe('siglip-loss/mpi across hosts (network namespaces, 1 Gbit/s links)', { skip }, () => {
  before(() => {
    removeStale();
    const up = cluster('up', NAME, String(HOSTS), '1gbit');
    assert.equal(up.status, 0, up.stderr);
  });
  after(() => {
    cluster('down', NAME);
    fs.rmSync(path.join(os.tmpdir(), `${NAME}-hostfile`), { force: true });
  });

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
    const [command, ...args] = ['bash', ...mpirunArgs('loop', 120)];
    const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Once every rank is in the loop (its Node started and the ring ran), kill host 2's rank.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const victims = spawnSync('ip', ['netns', 'pids', host(2)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((pid) => pid !== '' && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node');
    assert.equal(victims.length, 1, `host 2 runs one rank: ${victims.join(' ')}\n${output}`);
    const killed = Date.now();
    process.kill(Number(victims[0]), 'SIGKILL');
    const code = await exited;
    const seconds = (Date.now() - killed) / 1000;
    assert.notEqual(code, 0, output);
    t.diagnostic(`mpirun ended ${seconds.toFixed(1)} s after the kill (exit code ${code})`);
    assert.ok(seconds < 10, `mpirun ended ${seconds.toFixed(1)} s after the kill`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(processesLeft(), [], 'processes left in the hosts');
  });
});
