import fs from 'node:fs';
import path from 'node:path';

// Float64 reference of the SigLIP loss and its gradients, materializing every
// logit (tests only), and helpers shared by the tests.
export interface Positives {
  positives?: 'diagonal' | 'none' | 'labels';
  positiveOffset?: number;
  xLabels?: ArrayLike<number>;
  yLabels?: ArrayLike<number>;
}

export interface ReferenceResult {
  loss: number;
  dx: Float64Array;
  dy: Float64Array;
  dTPrime: number;
  dBias: number;
  /** t * sum |g| |x_i| |y_j|: the scale float32 dot products are accurate to. */
  dTPrimeScale: number;
}

export function positiveColumn(row: number, m: number, options: Positives): number {
  if (options.positives === 'none' || options.positives === 'labels') return -1;
  const col = row + (options.positiveOffset ?? 0);
  return col >= 0 && col < m ? col : -1;
}

/** The rule of every kind, written out: labels match when equal and >= 0. */
export function isPositive(row: number, col: number, m: number, options: Positives): boolean {
  if (options.positives !== 'labels') return col === positiveColumn(row, m, options);
  const label = options.xLabels?.[row] as number;
  return label >= 0 && label === options.yLabels?.[col];
}

function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

export function referenceLoss(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  tPrime: number,
  bias: number,
  options: Positives = {},
): ReferenceResult {
  const n = x.length / dim;
  const m = y.length / dim;
  const t = Math.exp(tPrime);
  const r: ReferenceResult = {
    loss: 0,
    dx: new Float64Array(n * dim),
    dy: new Float64Array(m * dim),
    dTPrime: 0,
    dBias: 0,
    dTPrimeScale: 0,
  };
  const norm = (a: ArrayLike<number>, row: number): number => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (a[row * dim + k] as number) ** 2;
    return Math.sqrt(s);
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += (x[i * dim + k] as number) * (y[j * dim + k] as number);
      const logit = t * dot + bias;
      const label = isPositive(i, j, m, options) ? 1 : -1;
      r.loss += softplus(-label * logit);
      const g = (1 / (1 + Math.exp(-logit)) - (label > 0 ? 1 : 0)) / n;
      r.dBias += g;
      r.dTPrime += t * g * dot;
      r.dTPrimeScale += t * Math.abs(g) * norm(x, i) * norm(y, j);
      for (let k = 0; k < dim; k++) {
        r.dx[i * dim + k] = (r.dx[i * dim + k] as number) + t * g * (y[j * dim + k] as number);
        r.dy[j * dim + k] = (r.dy[j * dim + k] as number) + t * g * (x[i * dim + k] as number);
      }
    }
  }
  r.loss /= n;
  return r;
}

/** ||got - want|| / ||want|| (absolute when want is all zeros). */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = (got[i] as number) - (want[i] as number);
    num += d * d;
    den += (want[i] as number) ** 2;
    if (Number.isNaN(got[i])) return Infinity;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Seeded generator (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** rows x dim standard normal rows, each scaled to unit L2 norm. */
export function unitRows(random: () => number, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const u = Math.max(random(), 1e-12);
      const v = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
      out[r * dim + k] = v;
      s += v * v;
    }
    for (let k = 0; k < dim; k++) out[r * dim + k] = (out[r * dim + k] as number) / Math.sqrt(s);
  }
  return out;
}

/** float32 -> bf16 (nearest even) -> float32. */
export function roundedToBFloat16(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  const bits = new Uint32Array(out.buffer);
  const input = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const u = input[i] as number;
    bits[i] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}

/** n labels drawn from `groups` values, with some negatives (no match) when asked. */
export function randomLabels(random: () => number, n: number, groups: number, negatives = false): Int32Array {
  return Int32Array.from({ length: n }, () =>
    negatives && random() < 0.2 ? -1 - Math.floor(random() * 3) : Math.floor(random() * groups),
  );
}

/** Relative error of every output of one pass against the reference. */
export function errorsAgainst(
  got: { loss: number; dx: ArrayLike<number>; dy: ArrayLike<number>; dTPrime: number; dBias: number },
  want: ReferenceResult,
): Record<'loss' | 'dx' | 'dy' | 'dTPrime' | 'dBias', number> {
  return {
    loss: relativeError([got.loss], [want.loss]),
    dx: relativeError(got.dx, want.dx),
    dy: relativeError(got.dy, want.dy),
    dTPrime: Math.abs(got.dTPrime - want.dTPrime) / Math.max(Math.abs(want.dTPrime), want.dTPrimeScale),
    dBias: relativeError([got.dBias], [want.dBias]),
  };
}

// The shared float64 vector (../shared beside the checkout), when present.
const VECTOR = path.join(__dirname, '..', '..', 'shared', 'testdata', 'siglip-reference-n64-d16.json');

interface TestVector {
  D: number;
  inputs: { x: number[][]; y: number[][]; t_prime: number; b: number };
  outputs: { loss: number; dx: number[][]; dy: number[][]; dt_prime: number; db: number };
}

export function loadTestVector(): TestVector | undefined {
  return fs.existsSync(VECTOR) ? (JSON.parse(fs.readFileSync(VECTOR, 'utf8')) as TestVector) : undefined;
}

/** Float64 reference of the CLIP softmax loss (positives on the diagonal, N = M). */
export function referenceSoftmax(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  tPrime: number,
): Omit<ReferenceResult, 'dBias'> {
  const n = x.length / dim;
  const t = Math.exp(tPrime);
  const logits = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += (x[i * dim + k] as number) * (y[j * dim + k] as number);
      logits[i * n + j] = t * dot;
    }
  }
  const lse = (at: (k: number) => number): number => {
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, at(k));
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(at(k) - max);
    return max + Math.log(s);
  };
  const rowLse = Array.from({ length: n }, (_, i) => lse((j) => logits[i * n + j] as number));
  const colLse = Array.from({ length: n }, (_, j) => lse((i) => logits[i * n + j] as number));
  const r = {
    loss: 0,
    dx: new Float64Array(n * dim),
    dy: new Float64Array(n * dim),
    dTPrime: 0,
    dTPrimeScale: 0,
  };
  for (let i = 0; i < n; i++)
    r.loss += (rowLse[i] as number) + (colLse[i] as number) - 2 * (logits[i * n + i] as number);
  r.loss /= 2 * n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const l = logits[i * n + j] as number;
      const g =
        (Math.exp(l - (rowLse[i] as number)) + Math.exp(l - (colLse[j] as number)) - (i === j ? 2 : 0)) /
        (2 * n);
      r.dTPrime += g * l;
      r.dTPrimeScale += t * Math.abs(g);
      for (let k = 0; k < dim; k++) {
        r.dx[i * dim + k] = (r.dx[i * dim + k] as number) + t * g * (y[j * dim + k] as number);
        r.dy[j * dim + k] = (r.dy[j * dim + k] as number) + t * g * (x[i * dim + k] as number);
      }
    }
  }
  return r;
}
