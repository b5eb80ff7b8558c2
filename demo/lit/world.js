// The SigLiT study's world: 32 x 32 scenes of two objects (2 sizes, 8 colours, 5 shapes), the
// first left of or above the second, on one of 4 backgrounds: 51,200 scenes, each with its own
// caption, "a small red circle above a large blue cross on gray". The demo's world (1843
// training scenes) would repeat every caption ~9 times in a batch of 16k; here a training epoch
// is 43,520 distinct scenes, drawn without replacement, so no batch up to 16k repeats one.
// Split by scene (combination) into training, validation (for choosing the schedule) and test
// (what the study reports), disjoint.
'use strict';
const { COLORS: DEMO_COLORS, SIZE, drawShape, rng, shuffle } = require('../dataset');

const SIZES = { small: 4.5, large: 7 };
// The demo's six colours and two more.
const COLORS = { ...DEMO_COLORS, orange: [1, 0.55, 0.1], white: [0.95, 0.95, 0.95] };
const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'];
const RELATIONS = ['left of', 'above'];
const BACKGROUNDS = {
  black: [0, 0, 0],
  gray: [0.4, 0.4, 0.4],
  navy: [0.08, 0.08, 0.3],
  brown: [0.3, 0.18, 0.08],
};

// What a caption says, slot by slot: the text tower reads each word by its role (one-hot per
// slot), and the image tower was pretrained to tell each slot's value from the pixels.
const SLOTS = [
  ['size', Object.keys(SIZES)],
  ['color', Object.keys(COLORS)],
  ['shape', SHAPES],
  ['relation', RELATIONS],
  ['size2', Object.keys(SIZES)],
  ['color2', Object.keys(COLORS)],
  ['shape2', SHAPES],
  ['background', Object.keys(BACKGROUNDS)],
].map(([name, values]) => ({ name, values }));
const TEXT_FEATURES = SLOTS.reduce((sum, slot) => sum + slot.values.length, 0);

/** Every scene, as its slot values' indices (in SLOTS order). */
function allScenes() {
  const out = [[]];
  for (const slot of SLOTS) {
    const grown = [];
    for (const partial of out) for (let v = 0; v < slot.values.length; v++) grown.push([...partial, v]);
    out.splice(0, out.length, ...grown);
  }
  return out;
}

/** The scenes, shuffled with `seed` and split into { train, validation, test } (disjoint). */
function splitScenes(seed = 17, { validationFraction = 0.05, testFraction = 0.1 } = {}) {
  const all = shuffle(allScenes(), rng(seed));
  const test = Math.round(all.length * testFraction);
  const validation = Math.round(all.length * validationFraction);
  return {
    test: all.slice(0, test),
    validation: all.slice(test, test + validation),
    train: all.slice(test + validation),
  };
}

function caption(scene) {
  const word = (i) => SLOTS[i].values[scene[i]];
  return `a ${word(0)} ${word(1)} ${word(2)} ${word(3)} a ${word(4)} ${word(5)} ${word(6)} on ${word(7)}`;
}

/** The text tower's input for `scenes`: [scenes.length x TEXT_FEATURES], one-hot per slot. */
function textFeatures(scenes) {
  const out = new Float32Array(scenes.length * TEXT_FEATURES);
  scenes.forEach((scene, i) => {
    let offset = i * TEXT_FEATURES;
    SLOTS.forEach((slot, s) => {
      out[offset + scene[s]] = 1;
      offset += slot.values.length;
    });
  });
  return out;
}

/** Renders a scene (positions jittered, a little noise) with `random`. */
function render(scene, random) {
  const pixels = new Float32Array(SIZE * SIZE * 3);
  const background = BACKGROUNDS[SLOTS[7].values[scene[7]]];
  for (let i = 0; i < pixels.length; i++) pixels[i] = background[i % 3] + 0.05 * random();
  const jitter = () => (random() - 0.5) * 4;
  const along = 8.5 + jitter();
  const across = 16 + jitter() * 2;
  const far = 23.5 + jitter();
  const leftOf = SLOTS[3].values[scene[3]] === 'left of';
  const draw = (size, color, shape, cx, cy) =>
    drawShape(pixels, SHAPES[shape], Object.values(SIZES)[size], Object.values(COLORS)[color], cx, cy);
  // The first object is left of (or above) the second.
  draw(scene[0], scene[1], scene[2], leftOf ? along : across, leftOf ? across : along);
  const across2 = 16 + jitter() * 2;
  draw(scene[4], scene[5], scene[6], leftOf ? far : across2, leftOf ? across2 : far);
  return pixels;
}

/** `scenes` rendered into one [n x SIZE x SIZE x 3] array, scene i with rng(seed + i). */
function renderAll(scenes, seed) {
  const images = new Float32Array(scenes.length * SIZE * SIZE * 3);
  scenes.forEach((scene, i) => images.set(render(scene, rng(seed + i)), i * SIZE * SIZE * 3));
  return images;
}

module.exports = { SLOTS, TEXT_FEATURES, allScenes, splitScenes, caption, textFeatures, render, renderAll };
