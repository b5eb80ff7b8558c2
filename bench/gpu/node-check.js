// The public API with device 'cuda' on a GPU machine: agreement with the CPU
// pass, and the tfjs op when tfjs is present. Run from a package copy
// (.device/pkg) with the carried Node: see bench/gpu/NOTES.md.
'use strict';
const { backendInfo, siglipLossAndGrads, siglipLossAndGradsAsync } = require(process.cwd());

const { relativeError: relative } = require('../lib/float64-reference');

async function main() {
  console.log(JSON.stringify(backendInfo()));
  const n = 3000;
  const dim = 768;
  const x = new Float32Array(n * dim).map(() => Math.random() - 0.5);
  const y = new Float32Array(n * dim).map(() => Math.random() - 0.5);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
    for (let k = 0; k < dim; k++) x[i * dim + k] /= Math.sqrt(s);
    s = 0;
    for (let k = 0; k < dim; k++) s += y[i * dim + k] ** 2;
    for (let k = 0; k < dim; k++) y[i * dim + k] /= Math.sqrt(s);
  }
  const cpu = siglipLossAndGrads(x, y, dim, Math.log(10), -10, { threads: 16 });
  for (const precision of ['bf16', 'tf32']) {
    const t0 = process.hrtime.bigint();
    const gpu = await siglipLossAndGradsAsync(x, y, dim, Math.log(10), -10, { device: 'cuda', precision });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(
      `node ${precision}: loss ${gpu.loss.toFixed(6)} (cpu ${cpu.loss.toFixed(6)}), ` +
        `rel err loss ${(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toExponential(1)} ` +
        `dx ${relative(gpu.dx, cpu.dx).toExponential(1)} dy ${relative(gpu.dy, cpu.dy).toExponential(1)} ` +
        `dTPrime ${(Math.abs(gpu.dTPrime - cpu.dTPrime) / Math.abs(cpu.dTPrime)).toExponential(1)} ` +
        `dBias ${(Math.abs(gpu.dBias - cpu.dBias) / Math.abs(cpu.dBias)).toExponential(1)} ` +
        `(${ms.toFixed(0)} ms with host copies)`,
    );
  }
  const auto = siglipLossAndGrads(x, y, dim, Math.log(10), -10, { device: 'auto' });
  console.log(`node auto: loss ${auto.loss.toFixed(6)}`);

  // The whole call from host memory at N = 65536, copies to and from the GPU included (check.py
  // times the pass on device memory); the second of two calls.
  const big = 65536;
  const bigX = new Float32Array(big * dim).map(() => (Math.random() - 0.5) * 0.07);
  const bigY = new Float32Array(big * dim).map(() => (Math.random() - 0.5) * 0.07);
  let bigMs = 0;
  for (let call = 0; call < 2; call++) {
    const t0 = process.hrtime.bigint();
    siglipLossAndGrads(bigX, bigY, dim, Math.log(10), -10, { device: 'cuda', precision: 'bf16' });
    bigMs = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  console.log(`node bf16 N = ${big}: ${bigMs.toFixed(1)} ms with host copies`);
}

main().catch((error) => {
  console.error('node check failed:', error);
  process.exit(1);
});
