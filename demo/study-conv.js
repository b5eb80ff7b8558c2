#!/usr/bin/env node
// `npm run study:conv`: the first batch-size study in miniature (conv towers trained from
// scratch on tfjs-node; the SigLiT study, `npm run study`, replaced it). The same model
// trained with the sigmoid (siglipLoss) and the softmax (softmaxLoss, blockwise)
// loss at batch sizes 32 ... 4096 with the same number of examples seen, and
// the bias-initialisation ablation; zero-shot retrieval on held-out
// combinations of the harder world (6 colours, 4 shapes: 461 held out).
// Writes bench/results/study-conv.json and study-conv.svg. `-- --quick` for a short run;
// `-- --labels` adds the sigmoid loss with caption labels as positives
// (positives: 'labels') at batch 512 and 2048, `-- --labels-only` runs just
// that comparison (bench/results/study-conv-labels.json).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { createProgress } = require('../support/progress');
const { lineChart } = require('../support/svg-chart');
const { scenes: makeScenes } = require('./dataset');
const { evaluate, train } = require('./train');

const quick = process.argv.includes('--quick');
const EXAMPLES = quick ? 16384 : 131072;
const BATCHES = quick ? [32, 256, 2048] : [32, 128, 512, 2048, 4096];
const ABLATION_BATCH = 512;
const LABELS_ONLY = process.argv.includes('--labels-only');
const LABEL_BATCHES = LABELS_ONLY || process.argv.includes('--labels') ? [512, 2048] : [];
const ABLATION = [
  { name: "b = -10, t' = log 10 (paper)", bias: -10, tPrime: Math.log(10) },
  { name: "b = 0, t' = log 10", bias: 0, tPrime: Math.log(10) },
  { name: "b = -10, t' = 0", bias: -10, tPrime: 0 },
  { name: "b = 0, t' = 0", bias: 0, tPrime: 0 },
];

async function main() {
  const tf = require('@tensorflow/tfjs-node');
  const scenes = makeScenes(11, { colors: 6, shapes: 4 });
  const labelRuns = LABEL_BATCHES.flatMap((batchSize) =>
    [false, true].map((captionLabels) => ({ kind: 'labels', loss: 'sigmoid', batchSize, captionLabels })),
  );
  const runs = LABELS_ONLY
    ? labelRuns
    : [
        ...BATCHES.flatMap((batchSize) =>
          ['sigmoid', 'softmax'].map((loss) => ({ kind: 'batch', loss, batchSize })),
        ),
        ...ABLATION.map((a) => ({ kind: 'ablation', loss: 'sigmoid', batchSize: ABLATION_BATCH, ...a })),
        ...labelRuns,
      ];
  const progress = createProgress(runs.length, 'study');
  const results = [];
  for (const run of runs) {
    const label = `${run.loss} batch ${run.batchSize}${run.name ? ` ${run.name}` : ''}${run.captionLabels ? ' caption labels' : ''}`;
    progress.start(label);
    const started = Date.now();
    const { model, history } = await train(tf, {
      scenes,
      loss: run.loss,
      batchSize: run.batchSize,
      examples: EXAMPLES,
      seed: 5,
      captionLabels: run.captionLabels ?? false,
      ...(run.loss === 'sigmoid'
        ? { tPrime: run.tPrime ?? Math.log(10), bias: run.bias ?? -10 }
        : { tPrime: Math.log(10) }),
    });
    const accuracy = evaluate(tf, model, scenes.heldOut);
    model.dispose();
    results.push({
      ...run,
      examples: EXAMPLES,
      seconds: (Date.now() - started) / 1000,
      finalLoss: history.at(-1).loss,
      ...accuracy,
    });
    progress.step(`${label}: image->text ${(100 * accuracy.imageToText).toFixed(1)}%`);
  }
  progress.finish();

  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  console.log(
    `\nheld-out zero-shot retrieval among ${scenes.heldOut.length} unseen combinations (chance ${pct(1 / scenes.heldOut.length)}), ${EXAMPLES} examples per run`,
  );
  console.log('batch  loss      image->text  text->image  final loss   seconds');
  for (const r of results.filter((r) => r.kind === 'batch')) {
    console.log(
      `${String(r.batchSize).padStart(5)}  ${r.loss.padEnd(8)}  ${pct(r.imageToText).padStart(11)}  ${pct(r.textToImage).padStart(11)}  ${r.finalLoss.toFixed(3).padStart(10)}  ${r.seconds.toFixed(0).padStart(8)}`,
    );
  }
  console.log(`\nbias / temperature initialisation (sigmoid, batch ${ABLATION_BATCH})`);
  for (const r of results.filter((r) => r.kind === 'ablation')) {
    console.log(
      `${r.name.padEnd(30)}  image->text ${pct(r.imageToText).padStart(6)}  text->image ${pct(r.textToImage).padStart(6)}`,
    );
  }

  if (labelRuns.length > 0) {
    console.log('\ncaption labels as positives (sigmoid, same examples and steps)');
    for (const r of results.filter((r) => r.kind === 'labels')) {
      console.log(
        `batch ${String(r.batchSize).padStart(4)}  ${(r.captionLabels ? 'caption labels' : 'diagonal').padEnd(14)}  image->text ${pct(r.imageToText).padStart(6)}  text->image ${pct(r.textToImage).padStart(6)}`,
      );
    }
  }

  const dir = path.join(__dirname, '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const suffix = '-conv' + (LABELS_ONLY ? '-labels' : '') + (quick ? '-quick' : '');
  if (LABELS_ONLY) {
    fs.writeFileSync(
      path.join(dir, `study${suffix}.json`),
      JSON.stringify({ examples: EXAMPLES, heldOut: scenes.heldOut.length, results }, null, 1) + '\n',
    );
    console.log(`\nsaved bench/results/study${suffix}.json`);
    return;
  }
  fs.writeFileSync(
    path.join(dir, `study${suffix}.json`),
    JSON.stringify({ examples: EXAMPLES, heldOut: scenes.heldOut.length, results }, null, 1) + '\n',
  );
  const series = ['sigmoid', 'softmax'].flatMap((loss) =>
    ['imageToText', 'textToImage'].map((metric) => ({
      name: `${loss} ${metric === 'imageToText' ? 'image→text' : 'text→image'}`,
      dashed: metric === 'textToImage',
      points: results
        .filter((r) => r.kind === 'batch' && r.loss === loss)
        .map((r) => [r.batchSize, 100 * r[metric]]),
    })),
  );
  fs.writeFileSync(
    path.join(dir, `study${suffix}.svg`),
    lineChart({
      title: `Zero-shot retrieval vs batch size (${EXAMPLES / 1024}k examples each)`,
      xLabel: 'batch size',
      yLabel: `held-out top-1 accuracy (%), ${scenes.heldOut.length} candidates`,
      series,
      linearY: [0, 100],
      formatX: String,
      formatY: (v) => v.toFixed(0),
    }),
  );
  console.log(`\nsaved bench/results/study${suffix}.json and study${suffix}.svg`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
