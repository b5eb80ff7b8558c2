#!/usr/bin/env node
// Writes thin ESM entry points (dist/*.mjs) over the CommonJS build, so ESM
// and CJS consumers share one module instance.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
for (const entry of ['index', 'raw', 'mpi']) {
  const names = Object.keys(require(path.join(dist, `${entry}.js`))).filter((n) => n !== '__esModule');
  const source =
    `import cjs from './${entry}.js';\n` +
    `export const { ${names.join(', ')} } = cjs;\n` +
    'export default cjs;\n';
  fs.writeFileSync(path.join(dist, `${entry}.mjs`), source);
}
