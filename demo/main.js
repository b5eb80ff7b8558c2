#!/usr/bin/env node
// `npm start`: trains the dual encoder with siglipLoss on the generated shapes
// dataset and reports zero-shot retrieval on caption combinations held out of
// training. On the fastest tfjs backend installed (demo/backend.js): tfjs-node's
// conv towers (about 80 s on 2 cores), else MLP towers on 'wasm' (about 15 s) or 'cpu'.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { SIGLIP_DEFAULT_BIAS, SIGLIP_DEFAULT_T_PRIME, backendInfo } = require('..');
const { createProgress } = require('../support/progress');
const { loadTfjs } = require('./backend');
const { latestCheckpoint } = require('./checkpoint');
const { scenes: makeScenes } = require('./dataset');
const { evaluate, train } = require('./train');

const BATCH = 128;
// `npm start -- --labels`: pairs with the same caption are positives too.
const CAPTION_LABELS = process.argv.includes('--labels');
// Every CHECKPOINT_EVERY steps rank 0 saves the run in demo/results/checkpoint/;
// `-- --resume` starts from there (a run that was killed goes on where it stopped).
const CHECKPOINT_EVERY = 100;
const RESUME = process.argv.includes('--resume');

// world (siglip-loss/mpi, from demo/mpi.js): data-parallel over its ranks, the
// same global batch of BATCH; rank 0 reports.
async function main({ world } = {}) {
  const { tf, backend, towers, examples: defaultExamples, notes } = await loadTfjs();
  const EXAMPLES = Number(process.env.DEMO_EXAMPLES ?? defaultExamples);
  const scenes = makeScenes(7);
  const reporting = world === undefined || world.rank === 0;
  const log = (...args) => reporting && console.log(...args);
  for (const note of notes) log(`${note}: using '${backend}'`);
  if (towers === 'mlp') {
    log(
      'without tfjs-node the conv towers would take hours, so the towers are MLPs (demo/model.js); ' +
        'installing @tensorflow/tfjs-node trains the conv towers (README.md, "Without tfjs-node")',
    );
  }
  log(
    `shapes dataset: ${scenes.train.length} training scene combinations, ${scenes.heldOut.length} held out; ` +
      `tfjs backend '${backend}', ${towers} towers, native engine ${backendInfo().engine}` +
      (CAPTION_LABELS ? '; positives: caption labels' : '') +
      (world === undefined ? '' : `; data-parallel on ${world.size} MPI ranks of ${BATCH / world.size} rows`),
  );
  const checkpointDir = path.join(__dirname, 'results', 'checkpoint');
  const resumeFrom = RESUME ? latestCheckpoint(checkpointDir) : undefined;
  if (RESUME) {
    log(
      resumeFrom === undefined
        ? 'no checkpoint in demo/results/checkpoint: starting from step 1'
        : `resuming from the checkpoint of step ${resumeFrom.step} (demo/results/checkpoint)`,
    );
  }
  const progress = reporting
    ? createProgress(Math.round(EXAMPLES / BATCH), 'train')
    : { step() {}, finish() {} };
  const started = Date.now();
  const { model, history, steps } = await train(tf, {
    scenes,
    batchSize: BATCH,
    ranks: world === undefined ? 1 : world.size,
    examples: EXAMPLES,
    tPrime: SIGLIP_DEFAULT_T_PRIME,
    bias: SIGLIP_DEFAULT_BIAS,
    captionLabels: CAPTION_LABELS,
    towers,
    checkpoint: { dir: checkpointDir, every: CHECKPOINT_EVERY, resume: RESUME },
    world,
    onStep: (step, total, loss) => {
      for (let s = step - 9; s <= step; s++) if (s >= 1) progress.step(`loss ${loss.toFixed(3)}`);
    },
  });
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  const result = evaluate(tf, model, scenes.heldOut);
  const t = Math.exp(model.scalars.tPrime.dataSync()[0]);
  const b = model.scalars.bias.dataSync()[0];
  log(
    `trained ${resumeFrom === undefined ? `${steps} steps` : `steps ${resumeFrom.step + 1}-${steps}`} of ${BATCH} in ${seconds.toFixed(0)} s; final loss ${history.at(-1).loss.toFixed(3)}; ` +
      `learned t = ${t.toFixed(2)}, b = ${b.toFixed(2)}`,
  );
  log(
    `held-out zero-shot retrieval among ${result.candidates} unseen combinations (chance ${(100 * result.chance).toFixed(1)}%): ` +
      `image->text ${(100 * result.imageToText).toFixed(1)}%, text->image ${(100 * result.textToImage).toFixed(1)}%`,
  );
  if (!reporting) {
    model.dispose();
    return;
  }
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const report = {
    backend,
    towers,
    batchSize: BATCH,
    ranks: world === undefined ? 1 : world.size,
    examples: EXAMPLES,
    captionLabels: CAPTION_LABELS,
    steps,
    seconds,
    finalLoss: history.at(-1).loss,
    t,
    b,
    ...result,
    history,
  };
  const name = world === undefined ? 'report.json' : 'report-mpi.json';
  fs.writeFileSync(path.join(dir, name), JSON.stringify(report, null, 1) + '\n');
  console.log(`report: demo/results/${name}`);
  model.dispose();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

module.exports = { main };
