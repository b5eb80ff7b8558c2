import path from 'node:path';

import type { SiglipOptions } from './options';

/** What the native addon returns for one fused pass. */
export interface SiglipLossAndGrads {
  loss: number;
  /** dL/dx, [N x dim] row-major. */
  dx: Float32Array;
  /** dL/dy, [M x dim] row-major. */
  dy: Float32Array;
  dTPrime: number;
  dBias: number;
}

export interface BackendInfo {
  device: 'cpu';
  /** Tile GEMM engine. */
  engine: string;
  /** Instruction set of the kernels picked at load time. */
  isa: string;
  /** Default number of worker threads. */
  threads: number;
}

type Call<R> = (
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  bias: number,
  options?: SiglipOptions,
) => R;

interface NativeAddon {
  lossAndGrads: Call<SiglipLossAndGrads>;
  lossAndGradsAsync: Call<Promise<SiglipLossAndGrads>>;
  loss: Call<number>;
  backendInfo(): BackendInfo;
}

let addon: NativeAddon | undefined;

/** The CPU addon, loaded on first use (build/Release under the package root). */
export function nativeAddon(): NativeAddon {
  if (addon === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(path.join(__dirname, '..'));
  }
  return addon;
}
