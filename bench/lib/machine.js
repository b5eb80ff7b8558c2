// What a benchmark ran on: CPU, memory, versions, and the machine's SGEMM
// ceiling measured in the same run (OpenBLAS through bench/sgemm-ceiling.c
// when libopenblas is installed, and tfjs-node's matMul when it loads).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

function machineInfo(backendInfo) {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    backend: backendInfo,
    date: new Date().toISOString(),
  };
}

/**
 * OpenBLAS's kernel (OPENBLAS_CORETYPE) for each of our instruction sets: the ceiling of a run
 * uses the same vectors as our kernels (its AVX2 kernel under SIGLIP_ISA=x86-64-v3).
 */
const OPENBLAS_CORETYPES = { 'x86-64-v4': 'SkylakeX', 'x86-64-v3': 'Haswell', 'x86-64': 'Prescott' };

/**
 * Best GFLOP/s of C = A B^T (n x d) through OpenBLAS with `coretype`'s kernel (its own choice
 * when undefined), or undefined when it cannot be built.
 */
function openblasRate(n, d, repeats, coretype) {
  const binary = path.join(root, 'build', 'bench', 'sgemm-ceiling');
  try {
    if (!fs.existsSync(binary)) {
      fs.mkdirSync(path.dirname(binary), { recursive: true });
      execFileSync('cc', ['-O2', '-o', binary, path.join(root, 'bench', 'sgemm-ceiling.c'), '-lopenblas'], {
        stdio: 'ignore',
      });
    }
    const env = coretype ? { ...process.env, OPENBLAS_CORETYPE: coretype } : process.env;
    return Number(execFileSync(binary, [String(n), String(d), String(repeats)], { env }).toString());
  } catch {
    return undefined;
  }
}

/** Best GFLOP/s of tf.matMul(a, b, false, true) with a, b n x d, or undefined without tfjs-node. */
function tfjsRate(tf, n, d, repeats) {
  if (tf === undefined) return undefined;
  const a = tf.randomNormal([n, d]);
  const b = tf.randomNormal([n, d]);
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    const c = tf.matMul(a, b, false, true);
    c.dataSync();
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    c.dispose();
    best = Math.max(best, (2 * n * n * d) / s / 1e9);
  }
  tf.dispose([a, b]);
  return best;
}

/**
 * OpenBLAS's SGEMM rate now for our instruction set `isa` (backendInfo().isa): the faster of its
 * kernel for that set and its own choice (only where `isa` is this CPU's best, SIGLIP_ISA unset:
 * on a Zen 5, OpenBLAS 0.3.21 picks its Haswell kernel, half of SkylakeX's).
 */
function openblasCeiling(isa, n, d, repeats) {
  const coretype = OPENBLAS_CORETYPES[isa.split(' ')[0]];
  const matched = coretype ? openblasRate(n, d, repeats, coretype) : undefined;
  const own = process.env.SIGLIP_ISA ? undefined : openblasRate(n, d, repeats, undefined);
  const rates = [matched, own].filter((r) => r !== undefined);
  return { gflops: rates.length ? Math.max(...rates) : undefined, kernel: coretype };
}

/** The SGEMM ceiling now for `isa`: the faster of openblasCeiling and tfjs-node's matMul. */
function measureCeiling(tf, isa, n = 4096, d = 768, repeats = 5) {
  const { gflops: openblas, kernel: coretype } = openblasCeiling(isa, n, d, repeats);
  const tfjsMatMul = tfjsRate(tf, n, d, repeats);
  const rates = [openblas, tfjsMatMul].filter((r) => r !== undefined);
  return {
    openblas,
    openblasKernel: coretype,
    tfjsMatMul,
    gflops: rates.length ? Math.max(...rates) : undefined,
  };
}

/**
 * The fp32 multiply-add peak of `threads` cores (bench/fma-peak.c: FMA chains in registers),
 * in GFLOP/s, or undefined when it cannot be built or the CPU has no FMA.
 */
function fmaPeak(threads) {
  const binary = path.join(root, 'build', 'bench', 'fma-peak');
  try {
    if (!fs.existsSync(binary)) {
      fs.mkdirSync(path.dirname(binary), { recursive: true });
      execFileSync('cc', ['-O2', '-pthread', '-o', binary, path.join(root, 'bench', 'fma-peak.c')], {
        stdio: 'ignore',
      });
    }
    return Number(execFileSync(binary, [String(threads)]).toString());
  } catch {
    return undefined;
  }
}

/** Peak resident set size of this process (VmHWM), in bytes. */
function peakRss() {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

module.exports = { fmaPeak, machineInfo, measureCeiling, openblasCeiling, peakRss, root };
