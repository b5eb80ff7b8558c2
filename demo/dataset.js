// A small image-text dataset generated in memory (no downloads): 32 x 32 RGB
// images of two shapes side by side, each a colour, a size and a kind, with
// captions from a small grammar: "a small red circle left of a large blue square".
// Seeded; a fixed fraction of the caption combinations is held out of training
// for zero-shot retrieval.
'use strict';

const SIZE = 32;
const COLORS = {
  red: [0.9, 0.15, 0.1],
  green: [0.15, 0.75, 0.2],
  blue: [0.15, 0.3, 0.95],
  yellow: [0.95, 0.85, 0.1],
  purple: [0.6, 0.2, 0.75],
  cyan: [0.1, 0.8, 0.85],
};
const SHAPES = ['circle', 'square', 'triangle', 'diamond'];
const SIZES = ['small', 'large'];
const VOCABULARY = ['<pad>', 'a', 'left', 'of', ...SIZES, ...Object.keys(COLORS), ...SHAPES];
const CAPTION_LENGTH = 10; // a SIZE COLOR SHAPE left of a SIZE COLOR SHAPE

/** A seeded generator of numbers in [0, 1); random.state() and random.restore(state) for checkpoints. */
function rng(seed) {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  random.state = () => a;
  random.restore = (state) => {
    a = state >>> 0;
  };
  return random;
}

/** Shuffles `items` (an array or a typed array) in place with `random` (Fisher-Yates); returns it. */
function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Every object [size, color, shape] over the first `colors` colours and `shapes` shapes. */
function objects(colors, shapes) {
  const out = [];
  for (const size of SIZES) {
    for (const color of Object.keys(COLORS).slice(0, colors)) {
      for (const shape of SHAPES.slice(0, shapes)) out.push([size, color, shape]);
    }
  }
  return out;
}

/**
 * All (left, right) scenes, split into training and held-out combinations. The
 * demo's world has 4 colours and 3 shapes (576 scenes); the study's harder one
 * all 6 and 4 (2304).
 */
function scenes(seed, { heldOutFraction = 0.2, colors = 4, shapes = 3 } = {}) {
  const all = [];
  for (const left of objects(colors, shapes))
    for (const right of objects(colors, shapes)) all.push({ left, right });
  shuffle(all, rng(seed));
  const cut = Math.round(all.length * heldOutFraction);
  return { heldOut: all.slice(0, cut), train: all.slice(cut) };
}

function caption({ left, right }) {
  return `a ${left.join(' ')} left of a ${right.join(' ')}`;
}

/** Token ids of a caption, padded to CAPTION_LENGTH. */
function tokenize(text) {
  const ids = text.split(' ').map((word) => {
    const id = VOCABULARY.indexOf(word);
    if (id < 0) throw new Error(`unknown word '${word}'`);
    return id;
  });
  while (ids.length < CAPTION_LENGTH) ids.push(0);
  return ids;
}

/** Draws one object into `pixels` (SIZE x SIZE x 3) centred near (cx, cy). */
function drawObject(pixels, [size, color, shape], cx, cy) {
  drawShape(pixels, shape, size === 'small' ? 4.5 : 7, COLORS[color], cx, cy);
}

/** Fills `shape` (circle, square, diamond, cross or triangle) of radius r in colour rgb. */
function drawShape(pixels, shape, r, rgb, cx, cy) {
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      let inside;
      if (shape === 'circle') inside = dx * dx + dy * dy <= r * r;
      else if (shape === 'square') inside = Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85;
      else if (shape === 'diamond') inside = Math.abs(dx) + Math.abs(dy) <= r;
      else if (shape === 'cross')
        inside = Math.min(Math.abs(dx), Math.abs(dy)) <= r * 0.3 && Math.max(Math.abs(dx), Math.abs(dy)) <= r;
      else inside = dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= ((dy + r) / (1.8 * r)) * r;
      if (inside) for (let c = 0; c < 3; c++) pixels[(y * SIZE + x) * 3 + c] = rgb[c];
    }
  }
}

/** Renders a scene with jittered positions and a little noise. */
function render(scene, random) {
  const pixels = new Float32Array(SIZE * SIZE * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = 0.05 * random();
  const jitter = () => (random() - 0.5) * 4;
  drawObject(pixels, scene.left, 8.5 + jitter(), 16 + jitter() * 2);
  drawObject(pixels, scene.right, 23.5 + jitter(), 16 + jitter() * 2);
  return pixels;
}

/**
 * A batch of `count` rendered examples drawn from `pool` (with replacement, so
 * a caption can occur several times); captionIds[i] names example i's caption
 * (its scene's index in the pool), for positives: 'labels'.
 */
function batch(pool, count, random) {
  const images = new Float32Array(count * SIZE * SIZE * 3);
  const tokens = new Int32Array(count * CAPTION_LENGTH);
  const captionIds = new Int32Array(count);
  const captions = [];
  for (let i = 0; i < count; i++) {
    captionIds[i] = Math.floor(random() * pool.length);
    const scene = pool[captionIds[i]];
    images.set(render(scene, random), i * SIZE * SIZE * 3);
    const text = caption(scene);
    tokens.set(tokenize(text), i * CAPTION_LENGTH);
    captions.push(text);
  }
  return { images, tokens, captions, captionIds };
}

module.exports = {
  SIZE,
  COLORS,
  CAPTION_LENGTH,
  VOCABULARY,
  rng,
  shuffle,
  scenes,
  caption,
  tokenize,
  render,
  batch,
  drawShape,
};
