// One training run of the demo for test/checkpoint.test.ts: `node checkpoint-child.js DIR
// [--kill-at S] [--resume] [--world]` (--world: data-parallel under mpirun, the last rank is
// the one killed). Seeded weights and data, pure-JS tfjs on 'cpu'; prints
// `RESULT {"hash": ...}`, the SHA-256 of every trainable variable's bytes at the end.
import { createHash } from 'node:crypto';

/* eslint-disable @typescript-eslint/no-require-imports */
const tf = require('@tensorflow/tfjs') as {
  setBackend(name: string): Promise<boolean>;
};
const { train } = require('../demo/train') as {
  train(
    tf: unknown,
    options: object,
  ): Promise<{
    model: { trainableVariables(): { dataSync(): Float32Array }[] };
    history: { step: number; loss: number }[];
  }>;
};
const { scenes } = require('../demo/dataset') as { scenes(seed: number): unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

async function main(): Promise<void> {
  const [dir] = process.argv.slice(2);
  const killAt = process.argv.includes('--kill-at')
    ? Number(process.argv[process.argv.indexOf('--kill-at') + 1])
    : undefined;
  await tf.setBackend('cpu');
  // The MPI module is loaded only for --world: without MPI the single-process run works.
  const world = process.argv.includes('--world')
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../dist/mpi') as typeof import('../dist/mpi')).initWorld()
    : undefined;
  const killer = world === undefined || world.rank === world.size - 1;
  const { model, history } = await train(tf, {
    scenes: scenes(7),
    batchSize: 32,
    examples: 32 * 12,
    seed: 5,
    initSeed: 11,
    towers: 'mlp',
    lossEvery: 1,
    checkpoint: { dir, every: 4, resume: process.argv.includes('--resume') },
    ...(world === undefined ? {} : { world }),
    onStep: (step: number) => {
      if (step === killAt && killer) process.kill(process.pid, 'SIGKILL');
    },
  });
  const hash = createHash('sha256');
  for (const v of model.trainableVariables()) hash.update(Buffer.from(v.dataSync().buffer));
  console.log(`RESULT ${JSON.stringify({ hash: hash.digest('hex'), history })}`);
  world?.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
