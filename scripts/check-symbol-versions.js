#!/usr/bin/env node
// Fails, listing the offenders, when a binary needs a newer glibc or libstdc++ than the
// prebuilds promise (docs/install.md): GLIBC_ <= 2.28, GLIBCXX_ <= 3.4.25, CXXABI_ <= 1.3.11
// (GCC 8). Usage: node scripts/check-symbol-versions.js FILE_OR_DIR...  (reads objdump -T)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const LIMITS = { GLIBC: [2, 28], GLIBCXX: [3, 4, 25], CXXABI: [1, 3, 11] };

function compare(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function binaries(target) {
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs.readdirSync(target).flatMap((name) => {
    const full = path.join(target, name);
    return fs.statSync(full).isDirectory() ? binaries(full) : name.endsWith('.node') ? [full] : [];
  });
}

const targets = process.argv.slice(2);
if (targets.length === 0) {
  console.error('usage: check-symbol-versions.js FILE_OR_DIR...');
  process.exit(2);
}
const files = targets.flatMap(binaries);
if (files.length === 0) {
  console.error(`check-symbol-versions: no .node files in ${targets.join(' ')}`);
  process.exit(1);
}
/** The host's objdump reads its own architecture: an AArch64 binary (ELF machine 183) needs the cross one. */
function objdumpFor(file) {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  return header.readUInt16LE(18) === 183 ? 'aarch64-linux-gnu-objdump' : 'objdump';
}

let failed = false;
for (const file of files) {
  const dump = execFileSync(objdumpFor(file), ['-T', file], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const highest = {};
  const offenders = [];
  for (const line of dump.split('\n')) {
    // e.g. "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) pthread_create"
    const match = /\s\(?(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const [, family, versionText, symbol] = match;
    const version = versionText.split('.').map(Number);
    if (!highest[family] || compare(version, highest[family]) > 0) highest[family] = version;
    if (compare(version, LIMITS[family]) > 0) offenders.push(`${family}_${versionText} ${symbol}`);
  }
  const summary = Object.entries(highest)
    .map(([family, version]) => `${family}_${version.join('.')}`)
    .join(', ');
  if (offenders.length > 0) {
    failed = true;
    console.error(`FAIL ${file}: needs newer than GLIBC_2.28 / GLIBCXX_3.4.25 / CXXABI_1.3.11:`);
    for (const offender of [...new Set(offenders)].sort()) console.error(`  ${offender}`);
  } else {
    console.log(`ok   ${file}: highest ${summary || 'none'}`);
  }
}
process.exit(failed ? 1 : 0);
