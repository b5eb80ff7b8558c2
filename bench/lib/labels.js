// positives: 'labels' for the benchmarks: n rows in random groups of 4 (n / 4
// groups), so that every row has about 4 positives, spread over every tile.
'use strict';

function groupsOfFour(n) {
  let s = 3;
  const group = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % Math.max(1, Math.floor(n / 4));
  return {
    positives: 'labels',
    xLabels: Int32Array.from({ length: n }, group),
    yLabels: Int32Array.from({ length: n }, group),
  };
}

module.exports = { groupsOfFour };
