#!/usr/bin/env node
// The package's command (`npx siglip-loss ...`):
//   info       what this installation has: the CPU module (its file, engine, instruction set),
//              the CUDA module and the MPI module, and why one cannot be used
//   build-mpi  builds the MPI module (siglip-loss/mpi) into this installed package: the
//              explicit way after an install that ran no scripts (npm 12 runs none by default)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const USAGE = `usage: siglip-loss <command>
  info        the native modules this installation loads, and what they can do
  build-mpi   build the MPI module (siglip-loss/mpi) here; needs an MPI (mpicc), cmake and a C++17 compiler`;

function firstLine(error) {
  return String(error?.message ?? error).split('\n')[0];
}

function info() {
  const { backendInfo } = require('../dist/raw');
  const { moduleFiles } = require('../dist/native');
  const { MPI_MODULE, loadMpiModule } = require('../dist/world');
  const files = moduleFiles();
  const cpu = backendInfo();
  const lines = [
    `siglip-loss ${require('../package.json').version} in ${root} (Node ${process.version}, ${process.platform}-${process.arch})`,
    `CPU module: ${path.relative(root, files.cpu)}; engine '${cpu.engine}', ${cpu.isa}, ${cpu.threads} threads, bf16 ${cpu.bf16}`,
    `CUDA module: ${files.cuda === undefined ? 'none' : path.relative(root, files.cuda)}; ` +
      (cpu.cuda.available ? `device ${cpu.cuda.name}` : `not usable: ${cpu.cuda.error}`),
  ];
  try {
    loadMpiModule();
    lines.push(`MPI module: ${path.relative(root, MPI_MODULE)}; siglip-loss/mpi works under mpirun`);
  } catch (error) {
    lines.push(`MPI module: none (${firstLine(error)})`);
  }
  console.log(lines.join('\n'));
}

/** The first of `candidates` that runs (`--version`), or undefined. */
function findTool(candidates) {
  return candidates.find((tool) => {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    return probe.error === undefined && probe.status === 0;
  });
}

/** Node's own C headers (node_api.h): beside the running node, or npm_config_nodedir. */
function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(process.execPath, '..', '..', 'include', 'node'),
  ].filter(Boolean);
  return { found: candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h'))), candidates };
}

function fail(message) {
  console.error(`siglip-loss build-mpi: ${message}`);
  process.exit(1);
}

function buildMpi() {
  const mpicc = findTool([process.env.MPICC, 'mpicc'].filter(Boolean));
  if (mpicc === undefined) {
    fail(
      'no MPI C compiler wrapper (mpicc) on PATH: install an MPI (Open MPI: apt install openmpi-bin ' +
        'libopenmpi-dev; MPICH: apt install mpich libmpich-dev) or set MPICC',
    );
  }
  const cmake = findTool(['cmake']);
  if (cmake === undefined) fail('no cmake on PATH (3.15 or newer): install it (apt install cmake)');
  const headers = nodeHeaders();
  if (headers.found === undefined) {
    fail(
      `Node's C headers (node_api.h) are in none of ${headers.candidates.join(', ')}: set npm_config_nodedir`,
    );
  }
  const buildDir = path.join(root, 'build-mpi');
  const run = (args) => {
    console.log(`siglip-loss build-mpi: cmake ${args.join(' ')}`);
    const result = spawnSync(cmake, args, { cwd: root, stdio: 'inherit' });
    return result.error === undefined && result.status === 0;
  };
  // CMAKE_JS_VERSION and CMAKE_JS_INC stand in for cmake-js (an optional peer), with Node's
  // own headers; only the MPI module is built, without CUDA.
  const configured = run([
    '-S',
    root,
    '-B',
    buildDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_JS_VERSION=siglip-loss-build-mpi',
    `-DCMAKE_JS_INC=${headers.found}`,
    `-DMPI_C_COMPILER=${mpicc}`,
    '-DSIGLIP_CUDA=OFF',
    '-DSIGLIP_BUILD_TESTS=OFF',
  ]);
  if (!configured)
    fail(`configuring in ${buildDir} failed (cmake's output above): a C++17 compiler is needed`);
  const jobs = String(process.env.SIGLIP_BUILD_JOBS ?? require('node:os').availableParallelism?.() ?? 2);
  if (!run(['--build', buildDir, '--target', 'siglip_mpi', '--parallel', jobs])) {
    fail(`the build in ${buildDir} failed (its output above)`);
  }
  const built = path.join(buildDir, 'Release', 'mpi', 'siglip_mpi.node');
  if (!fs.existsSync(built))
    fail(`cmake found no MPI with ${mpicc} (its output above): ${built} was not built`);
  const { MPI_MODULE, loadMpiModule } = require('../dist/world');
  fs.mkdirSync(path.dirname(MPI_MODULE), { recursive: true });
  fs.copyFileSync(built, MPI_MODULE);
  try {
    loadMpiModule();
  } catch (error) {
    fail(`built ${MPI_MODULE}, but it does not load: ${firstLine(error)}`);
  }
  fs.rmSync(buildDir, { recursive: true, force: true });
  console.log(`siglip-loss build-mpi: built ${MPI_MODULE}; siglip-loss/mpi works under mpirun`);
}

const commands = { info, 'build-mpi': buildMpi };
const command = commands[process.argv[2]];
if (command === undefined) {
  console.error(process.argv[2] === undefined ? USAGE : `unknown command '${process.argv[2]}'\n${USAGE}`);
  process.exit(2);
}
command();
