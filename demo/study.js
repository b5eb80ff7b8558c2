#!/usr/bin/env node
// `npm run study`: SigLiT in miniature (demo/lit/): a locked, pretrained image tower and a text
// tower trained from scratch with siglipLoss and with the blockwise softmaxLoss, on any tfjs
// backend. In order: the peak learning rate, chosen on the validation scenes; the batch sweep
// (32 ... 16,384, one example budget, 3 seeds); label noise (Fig. 7); the bias and temperature
// initialisation (Table 4). Zero-shot retrieval on the 5,120 test scenes, never seen in training.
// Every finished run is saved at once to bench/results/study.json, and a rerun skips the runs
// that file already has (`-- --fresh` starts over), so the study can be run in parts.
// `-- --report`: no training, the tables and charts of what the file has. `-- --quick`: a
// reduced sweep, under 2 minutes (bench/results/study-quick.json).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { createProgress } = require('../support/progress');
const { lineChart } = require('../support/svg-chart');
const { loadTfjs } = require('./backend');
const { EMBEDDING, embedImages, loadTower } = require('./lit/image-tower');
const { lossSeconds, retrieval, trainTextTower } = require('./lit/train');
const { TEXT_FEATURES, splitScenes, renderAll, textFeatures } = require('./lit/world');

const QUICK = process.argv.includes('--quick');
const REPORT_ONLY = process.argv.includes('--report');
const LARGEST = QUICK ? 4096 : 16384;
const PLAN = QUICK
  ? {
      examples: LARGEST * 10,
      batches: [128, 1024, LARGEST],
      seeds: [1],
      rates: [3e-3],
      tuneBatch: 1024,
      noise: [0, 0.4],
      probeBatch: 1024,
      inits: 2,
    }
  : {
      examples: LARGEST * 200, // 200 steps at the largest batch
      batches: [32, 128, 512, 2048, 8192, LARGEST],
      seeds: [1, 2, 3],
      rates: [1e-3, 3e-3, 1e-2],
      tuneBatch: 2048,
      noise: [0, 0.1, 0.2, 0.4],
      probeBatch: 2048,
      inits: 4,
    };
const PAPER_INIT = { bias: -10, tPrime: Math.log(10) };
const INITS = [
  { name: "b = -10, t' = log 10 (paper)", ...PAPER_INIT },
  { name: "b = 0, t' = log 10", bias: 0, tPrime: Math.log(10) },
  { name: "b = -10, t' = 0", bias: -10, tPrime: 0 },
  { name: "b = 0, t' = 0", bias: 0, tPrime: 0 },
].slice(0, PLAN.inits);
const LOSSES = ['sigmoid', 'softmax'];
const RESULTS = path.join(__dirname, '..', 'bench', 'results', `study${QUICK ? '-quick' : ''}.json`);

// A run is its training configuration; each is evaluated on the validation and the test
// scenes, and the study's parts are selections of the runs (the batch sweep's run at the
// probe batch is also the noise curve's p = 0 and the paper's initialisation).
const keyOf = (r) => [r.loss, r.batchSize, r.seed, r.peakRate, r.noise, r.bias, r.tPrime].join('|');
const runOf = (fields) => ({ noise: 0, ...PAPER_INIT, seed: PLAN.seeds[0], ...fields });
const isPaperInit = (r) => r.bias === PAPER_INIT.bias && r.tPrime === PAPER_INIT.tPrime;

/** Mean, min and max of `values` (the seeds' spread). */
function spread(values) {
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** Both directions' top-1 retrieval, averaged: the one number a choice is made on. */
const meanRetrieval = (r) => (r.imageToText + r.textToImage) / 2;

/** The study's parts as selections of the runs, for the chosen peak rate. */
function parts(results, peakRate) {
  const chosen = results.filter((r) => r.peakRate === peakRate);
  return {
    tune: results.filter(
      (r) => r.batchSize === PLAN.tuneBatch && r.seed === PLAN.seeds[0] && r.noise === 0 && isPaperInit(r),
    ),
    batch: chosen.filter((r) => r.noise === 0 && isPaperInit(r)),
    noise: chosen.filter((r) => r.batchSize === PLAN.probeBatch && isPaperInit(r)),
    init: chosen.filter((r) => r.loss === 'sigmoid' && r.batchSize === PLAN.probeBatch && r.noise === 0),
  };
}

/** The peak rate with the best validation retrieval, averaged over both losses. */
function chooseRate(results) {
  const { tune } = parts(results, undefined);
  const scored = PLAN.rates.map((peakRate) => {
    const runs = tune.filter((r) => r.peakRate === peakRate);
    return { peakRate, score: runs.reduce((sum, r) => sum + meanRetrieval(r.validation), 0) / runs.length };
  });
  return scored.reduce((best, t) => (t.score > best.score ? t : best)).peakRate;
}

/** The locked tower's embeddings of each split (one rendering of each scene) and the texts' features. */
function lockedEmbeddings(tf, split) {
  const tower = loadTower(tf);
  const prepare = (scenes, seed) => ({
    images: tf.tensor2d(embedImages(tf, tower, renderAll(scenes, seed)), [scenes.length, EMBEDDING]),
    texts: tf.tensor2d(textFeatures(scenes), [scenes.length, TEXT_FEATURES]),
  });
  const data = {
    train: prepare(split.train, 1e6),
    validation: prepare(split.validation, 2e6),
    test: prepare(split.test, 3e6),
  };
  tower.dispose();
  return data;
}

async function main() {
  const { tf, backend } = await loadTfjs();
  const started = Date.now();
  const split = splitScenes();
  const data = REPORT_ONLY ? {} : lockedEmbeddings(tf, split);
  console.log(
    `SigLiT in miniature on '${backend}': ${split.train.length} training scenes, ${split.validation.length} validation, ` +
      `${split.test.length} test (chance ${(100 / split.test.length).toFixed(3)} %); image embeddings in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );

  const fresh = process.argv.includes('--fresh') || !fs.existsSync(RESULTS);
  const saved = fresh ? { results: [] } : JSON.parse(fs.readFileSync(RESULTS, 'utf8'));
  const results = saved.results;
  const save = (extra = {}) => {
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    const plan = {
      ...PLAN,
      largest: LARGEST,
      trainScenes: split.train.length,
      testScenes: split.test.length,
    };
    Object.assign(saved, extra);
    fs.writeFileSync(RESULTS, JSON.stringify({ ...saved, backend, plan, results }, null, 1) + '\n');
  };

  const tuneRuns = PLAN.rates.flatMap((peakRate) =>
    LOSSES.map((loss) => runOf({ loss, batchSize: PLAN.tuneBatch, peakRate })),
  );
  const laterRuns = (peakRate) =>
    PLAN.seeds.flatMap((seed) => [
      // Largest batches first: the ones the paper's claims are about.
      ...[...PLAN.batches]
        .reverse()
        .flatMap((batchSize) => LOSSES.map((loss) => runOf({ loss, batchSize, seed, peakRate }))),
      ...PLAN.noise.flatMap((noise) =>
        LOSSES.map((loss) => runOf({ loss, batchSize: PLAN.probeBatch, seed, peakRate, noise })),
      ),
      ...INITS.map(({ bias, tPrime }) =>
        runOf({ loss: 'sigmoid', batchSize: PLAN.probeBatch, seed, peakRate, bias, tPrime }),
      ),
    ]);
  const progress = createProgress(tuneRuns.length + laterRuns(0).length, 'study');
  const runAll = async (runs) => {
    for (const run of runs) {
      const label = `${run.loss} batch ${run.batchSize} seed ${run.seed} rate ${run.peakRate}${run.noise ? ` p=${run.noise}` : ''}${isPaperInit(run) ? '' : ` b=${run.bias} t'=${run.tPrime.toFixed(2)}`}`;
      if (results.some((r) => keyOf(r) === keyOf(run))) {
        progress.step(`${label}: done before`);
        continue;
      }
      if (REPORT_ONLY) {
        progress.step(`${label}: not run yet`);
        continue;
      }
      progress.start(label);
      const runStarted = Date.now();
      const trained = await trainTextTower(tf, {
        images: data.train.images,
        texts: data.train.texts,
        examples: PLAN.examples,
        ...run,
      });
      const test = retrieval(tf, trained.tower, data.test.images, data.test.texts);
      results.push({
        ...run,
        examples: PLAN.examples,
        steps: trained.steps,
        seconds: (Date.now() - runStarted) / 1000,
        stepSeconds: trained.stepSeconds,
        finalLoss: trained.history.at(-1).loss,
        learnedT: Math.exp(trained.scalars.tPrime.dataSync()[0]),
        learnedBias: run.loss === 'sigmoid' ? trained.scalars.bias.dataSync()[0] : null,
        imageToText: test.imageToText,
        textToImage: test.textToImage,
        validation: retrieval(tf, trained.tower, data.validation.images, data.validation.texts),
        ...(run.batchSize === LARGEST ? { lossSeconds: lossSeconds(tf, run.loss, LARGEST) } : {}),
      });
      trained.tower.dispose();
      tf.dispose([trained.scalars.tPrime, trained.scalars.bias]);
      save();
      progress.step(`${label}: test image->text ${(100 * test.imageToText).toFixed(1)}%`);
    }
  };
  await runAll(tuneRuns);
  const peakRate = chooseRate(results);
  await runAll(laterRuns(peakRate));
  progress.finish();

  // How much of a step at the largest batch is the loss (forward and backward, the same op),
  // timed right after each run, or now where no run was saved with it; each share is of one
  // run's own step time, and the seeds give their range.
  const lossShare = LOSSES.map((loss) => {
    const runs = parts(results, peakRate).batch.filter((r) => r.loss === loss && r.batchSize === LARGEST);
    const timed = runs.filter((r) => r.lossSeconds !== undefined);
    const pairs =
      timed.length > 0
        ? timed.map((r) => [r.stepSeconds, r.lossSeconds])
        : runs.slice(0, 1).map((r) => [r.stepSeconds, lossSeconds(tf, loss, LARGEST)]);
    return {
      loss,
      batchSize: LARGEST,
      runs: pairs.length,
      stepSeconds: pairs.length > 0 ? spread(pairs.map(([step]) => step)) : null,
      lossSeconds: pairs.length > 0 ? spread(pairs.map(([, lossOnly]) => lossOnly)) : null,
      share: pairs.length > 0 ? spread(pairs.map(([step, lossOnly]) => lossOnly / step)) : null,
    };
  });
  save({ peakRate, lossShare });
  report(parts(results, peakRate), peakRate, lossShare, split.test.length);
  const minutes = results.reduce((sum, r) => sum + r.seconds, 0) / 60;
  console.log(
    `${results.length} runs in ${minutes.toFixed(0)} minutes of training on '${saved.backend ?? backend}'`,
  );
  charts(parts(results, peakRate));
  console.log(
    `\nsaved ${path.relative(process.cwd(), RESULTS)} and its charts in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  tf.dispose(Object.values(data).flatMap((d) => [d.images, d.texts]));
}

const pct = (v) => `${(100 * v).toFixed(1)}%`;
const showSpread = (s, format = pct) =>
  s.n > 1 ? `${format(s.mean)} (${format(s.min)}-${format(s.max)})` : format(s.mean);

/** The seeds' spread of image->text and text->image over `runs`. */
function summarize(runs) {
  return {
    imageToText: spread(runs.map((r) => r.imageToText)),
    textToImage: spread(runs.map((r) => r.textToImage)),
  };
}

/** Values of `axis` in `runs`, ascending. */
const valuesOf = (runs, axis) => [...new Set(runs.map((r) => r[axis]))].sort((a, b) => a - b);

function report(part, peakRate, lossShare, testScenes) {
  console.log(`\npeak learning rate chosen on the validation scenes (batch ${PLAN.tuneBatch}): ${peakRate}`);
  for (const r of part.tune)
    console.log(
      `  ${r.loss.padEnd(8)} rate ${String(r.peakRate).padEnd(6)}: validation ${pct(meanRetrieval(r.validation))}`,
    );
  console.log(
    `zero-shot retrieval on ${testScenes} test scenes, image->text / text->image (mean over seeds, min-max)`,
  );
  for (const [kind, axis, name] of [
    ['batch', 'batchSize', 'batch'],
    ['noise', 'noise', 'noise p ='],
  ]) {
    for (const value of valuesOf(part[kind], axis)) {
      const line = LOSSES.map((loss) => {
        const runs = part[kind].filter((r) => r.loss === loss && r[axis] === value);
        if (runs.length === 0) return '';
        const s = summarize(runs);
        return `${loss} ${showSpread(s.imageToText)} / ${showSpread(s.textToImage)}`;
      });
      console.log(`${name} ${String(value).padStart(5)}: ${line.join('   ')}`);
    }
  }
  for (const init of INITS) {
    const runs = part.init.filter((r) => r.bias === init.bias && r.tPrime === init.tPrime);
    if (runs.length === 0) continue;
    const s = summarize(runs);
    console.log(`init ${init.name.padEnd(30)} ${showSpread(s.imageToText)} / ${showSpread(s.textToImage)}`);
  }
  const ms = (s) => showSpread(s, (seconds) => (1000 * seconds).toFixed(0));
  for (const s of lossShare.filter((s) => s.stepSeconds !== null))
    console.log(
      `${s.loss} at batch ${s.batchSize}: ${ms(s.stepSeconds)} ms a step, of which the loss alone ` +
        `${ms(s.lossSeconds)} ms, ${showSpread(s.share)} (${s.runs} run${s.runs > 1 ? 's' : ''})`,
    );
}

function charts(part) {
  const suffix = QUICK ? '-quick' : '';
  const dir = path.dirname(RESULTS);
  // Each loss in one colour, text->image dashed; a point is the seeds' mean, its whisker their
  // range.
  const curves = (runs, axis, scale) =>
    LOSSES.flatMap((loss, color) =>
      [
        ['imageToText', 'image→text'],
        ['textToImage', 'text→image'],
      ].map(([direction, label], dashed) => ({
        name: `${loss} ${label}`,
        color,
        dashed: dashed === 1,
        points: valuesOf(runs, axis).map((v) => {
          const s = spread(
            runs.filter((r) => r.loss === loss && r[axis] === v).map((r) => 100 * r[direction]),
          );
          return [scale(v), s.mean, s.min, s.max];
        }),
      })),
    );
  const chart = (runs, axis, scale, { formatX = String, ...labels }) => {
    const series = curves(runs, axis, scale);
    const lowest = Math.min(...series.flatMap((s) => s.points.map((p) => p[2])));
    return lineChart({
      ...labels,
      yLabel: 'test top-1 retrieval (%)',
      series,
      formatX,
      linearY: [[90, 80, 50, 0].find((floor) => floor <= lowest) ?? 0, 100],
      formatY: (v) => v.toFixed(0),
    });
  };
  fs.writeFileSync(
    path.join(dir, `study${suffix}.svg`),
    chart(part.batch, 'batchSize', (v) => v, {
      title: 'SigLiT in miniature: retrieval against batch size',
      xLabel: 'batch size (one example budget; points: mean over seeds, whiskers: min-max)',
    }),
  );
  fs.writeFileSync(
    path.join(dir, `study-noise${suffix}.svg`),
    chart(part.noise, 'noise', (v) => 1 + 100 * v, {
      title: `Label noise at batch ${PLAN.probeBatch}`,
      xLabel: 'p, the fraction of pairs whose texts are shuffled (axis: log of 1 + 100·p)',
      formatX: (v) => String((v - 1) / 100),
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
