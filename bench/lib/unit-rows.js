// Seeded unit-norm rows for the MPI benchmarks (a linear congruential generator, then each
// row divided by its norm): the same inputs in every rank and every run.
'use strict';

function unitRows(rows, dim, seed) {
  const out = new Float32Array(rows * dim);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += out[r * dim + k] ** 2;
    for (let k = 0; k < dim; k++) out[r * dim + k] /= Math.sqrt(norm);
  }
  return out;
}

module.exports = { unitRows };
