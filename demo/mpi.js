#!/usr/bin/env node
// `npm run demo:mpi`: the demo's training (demo/main.js) data-parallel on 2 MPI
// ranks with the same global batch as `npm start`. Run directly, it launches
// itself under `mpirun -np 2`; under mpirun (or srun), it is one rank. `-- --resume` goes on
// from the last checkpoint (demo/results/checkpoint/).
'use strict';
const { spawnSync } = require('node:child_process');

const RANKS = Number(process.env.DEMO_RANKS ?? 2);
const launchedByMpi = ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK'].some(
  (v) => process.env[v] !== undefined,
);

if (!launchedByMpi) {
  // The demo's own flags (--resume, --labels) go on to every rank; the keepalive lets mpirun
  // notice a host it can no longer reach (docs/distributed.md).
  const keepalive = ['time', '10', 'intvl', '2', 'probes', '3'].flatMap((v, i) =>
    i % 2 === 0 ? ['--mca', `oob_tcp_keepalive_${v}`] : [v],
  );
  const args = [
    '--oversubscribe',
    ...keepalive,
    '-np',
    String(RANKS),
    process.execPath,
    __filename,
    ...process.argv.slice(2),
  ];
  console.log(`mpirun ${args.join(' ')}`);
  const run = spawnSync('mpirun', args, {
    stdio: 'inherit',
    env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ...process.env },
  });
  if (run.error) {
    console.error(
      `cannot run mpirun (${run.error.message}): install an MPI, e.g. Open MPI (openmpi-bin libopenmpi-dev)`,
    );
  }
  process.exit(run.status ?? 1);
}

const { initWorld } = require('../dist/mpi');
const { main } = require('./main');

const world = initWorld();
main({ world }).then(
  () => world.close(),
  (error) => {
    console.error(error);
    process.exitCode = 1; // the world aborts the MPI job at exit
  },
);
