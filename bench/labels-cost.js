#!/usr/bin/env node
// What positives: 'labels' costs against the diagonal: the fused pass at
// N = M = 8192, D = 768 (fp32, default threads), the two alternating in the
// same run so that both see the same load; labels in random groups of 4
// (2048 groups: every row has ~4 positives, spread over every tile).
// `node bench/labels-cost.js [rounds] [n]`; prints each round and the median ratio.
'use strict';
const { siglipLossAndGrads } = require('..');
const { groupsOfFour } = require('./lib/labels');

const rounds = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 8192);
const D = 768;

function rows(count, seed) {
  const a = new Float32Array(count * D);
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.125;
  }
  return a;
}

const x = rows(n, 1);
const y = rows(n, 2);
const variants = {
  diagonal: {},
  labels: groupsOfFour(n),
};

function seconds(options) {
  const start = performance.now();
  siglipLossAndGrads(x, y, D, Math.log(10), -10, options);
  return (performance.now() - start) / 1000;
}

seconds({}); // warm up
const ratios = [];
for (let r = 0; r < rounds; r++) {
  const diagonal = seconds(variants.diagonal);
  const labels = seconds(variants.labels);
  ratios.push(labels / diagonal);
  console.log(
    `round ${r + 1}: diagonal ${diagonal.toFixed(3)} s, labels ${labels.toFixed(3)} s, ratio ${(labels / diagonal).toFixed(3)}`,
  );
}
ratios.sort((a, b) => a - b);
console.log(
  `N = ${n}, D = ${D}: labels / diagonal, median of ${rounds} rounds: ${ratios[Math.floor(rounds / 2)].toFixed(3)} (min ${ratios[0].toFixed(3)}, max ${ratios[rounds - 1].toFixed(3)})`,
);
