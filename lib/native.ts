import { existsSync } from 'node:fs';
import path from 'node:path';

import type { Device, SiglipOptions, SoftmaxOptions } from './options';

/** What the native addon returns for one fused pass. */
export interface SiglipLossAndGrads {
  /** The loss: the sum of softplus(-z * logit) over all pairs, divided by N. */
  loss: number;
  /** dL/dx, [N x dim] row-major. */
  dx: Float32Array;
  /** dL/dy, [M x dim] row-major. */
  dy: Float32Array;
  /** dL/dt', the gradient of the log-scale. */
  dTPrime: number;
  /** dL/db, the gradient of the bias. */
  dBias: number;
  /**
   * With options.world: this rank's share of dTPrime (the sum over its own rows); the shares of
   * all ranks add up to dTPrime.
   */
  rankDTPrime?: number;
  /** With options.world: this rank's share of dBias. */
  rankDBias?: number;
}

/** What the native addon returns for one softmax (CLIP) pass. */
export interface SoftmaxLossAndGrads {
  /** The loss: half the sum of the row and column cross-entropies, each a mean over N. */
  loss: number;
  /** dL/dx, [N x dim] row-major. */
  dx: Float32Array;
  /** dL/dy, [N x dim] row-major. */
  dy: Float32Array;
  /** dL/dt', the gradient of the log-scale. */
  dTPrime: number;
}

/** What `backendInfo()` says about the CPU module. */
export interface CpuInfo {
  /** Always 'cpu'. */
  device: 'cpu';
  /** Tile GEMM engine. */
  engine: string;
  /**
   * Instruction set the tile kernels run on: the best this CPU has ('x86-64-v4 (AVX-512)',
   * 'x86-64-v3 (AVX2+FMA)', 'x86-64 baseline (SSE2)', or 'portable' off x86-64). The environment
   * variable SIGLIP_ISA set to one of their first words lowers it, e.g. to measure what an older
   * CPU gets.
   */
  isa: string;
  /** Default number of worker threads. */
  threads: number;
  /**
   * What precision 'bf16' runs on: AVX-512 BF16 dot products, or the fp32 kernels over the same
   * bf16 values widened to floats ('fp32-widened': the same results, bit for bit).
   */
  bf16: 'avx512-bf16' | 'fp32-widened';
}

/** What `backendInfo().cuda` says about the CUDA module and device. */
export interface CudaInfo {
  /** Always 'cuda'. */
  device: 'cuda';
  /** Whether a CUDA device can run the pass; else `error` says why. */
  available: boolean;
  /** 'chunked': S, dX and dY per chunk of rows and columns, never N x M. */
  engine?: string;
  /** Tensor-core GEMM per precision: 'wgmma' (Hopper, sm_90a) or 'wmma'. */
  gemm?: {
    /** The kernel of precision 'bf16'. */
    bf16: 'wgmma' | 'wmma';
    /** The kernel of precision 'tf32'. */
    tf32: 'wgmma' | 'wmma';
  };
  /** The device's name, e.g. 'NVIDIA H200'. */
  name?: string;
  /** The device's number of streaming multiprocessors. */
  multiprocessors?: number;
  /** The device's memory in bytes. */
  memoryBytes?: number;
  /**
   * Why CUDA cannot run, when `available` is false: no CUDA module, no device, or a driver
   * older than the module needs (580, for CUDA 13).
   */
  error?: string;
}

/** The sigmoid loss's native call signature, shared by the CPU, CUDA and MPI modules. */
export type Call<R> = (
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  bias: number,
  options?: SiglipOptions,
) => R;
type SoftmaxCall<R> = (
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  options?: SoftmaxOptions,
) => R;

export interface NativeAddon {
  lossAndGrads: Call<SiglipLossAndGrads>;
  lossAndGradsAsync: Call<Promise<SiglipLossAndGrads>>;
  loss: Call<number>;
  softmaxLossAndGrads: SoftmaxCall<SoftmaxLossAndGrads>;
  softmaxLossAndGradsAsync: SoftmaxCall<Promise<SoftmaxLossAndGrads>>;
  softmaxLoss: SoftmaxCall<number>;
  backendInfo(): CpuInfo | CudaInfo;
}

const root = path.join(__dirname, '..');
/** Where the CUDA module is looked for: a source build first, then the shipped prebuild. */
const CUDA_MODULES = [
  path.join(root, 'build', 'Release', 'cuda', 'siglip_cuda.node'),
  path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cuda', 'siglip_cuda.node'),
];

let cpuAddon: NativeAddon | undefined;
let cudaAddon: NativeAddon | Error | undefined;

/** The CPU addon, loaded on first use: build/Release under the package root, else the prebuild. */
function cpu(): NativeAddon {
  if (cpuAddon === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    cpuAddon = load(root);
  }
  return cpuAddon;
}

/** The files the CPU and CUDA modules load from (for `npx siglip-loss info`). */
export function moduleFiles(): { cpu: string; cuda: string | undefined } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('node-gyp-build') as { resolve(dir: string): string };
  return { cpu: load.resolve(root), cuda: CUDA_MODULES.find((file) => existsSync(file)) };
}

/** The CUDA addon, or why it cannot be loaded (built only where nvcc was found, or prebuilt). */
function cuda(): NativeAddon | Error {
  if (cudaAddon === undefined) {
    const failures: string[] = [];
    for (const file of CUDA_MODULES) {
      if (!existsSync(file)) continue;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        cudaAddon = require(file) as NativeAddon;
        return cudaAddon;
      } catch (error) {
        failures.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    cudaAddon = new Error(
      `siglip-loss has no CUDA module (${failures.length > 0 ? failures.join('; ') : `none of ${CUDA_MODULES.join(', ')}`}); ` +
        'it is prebuilt for linux-x64 and built from source when nvcc is found at install time',
    );
  }
  return cudaAddon;
}

let autoAddon: NativeAddon | undefined;

/** device 'auto': CUDA when a device is usable, else the CPU; decided once per process. */
function auto(): NativeAddon {
  if (autoAddon === undefined) {
    const addon = cuda();
    autoAddon = !(addon instanceof Error) && (addon.backendInfo() as CudaInfo).available ? addon : cpu();
  }
  return autoAddon;
}

/** The addon that options.device asks for. */
export function nativeAddon(device: Device | undefined = 'cpu'): NativeAddon {
  switch (device) {
    case 'cpu':
      return cpu();
    case 'cuda': {
      const addon = cuda();
      if (addon instanceof Error) throw addon;
      return addon; // its calls say clearly when no device is present
    }
    case 'auto':
      return auto();
    default:
      throw new RangeError(`options.device must be 'cpu', 'cuda' or 'auto', got ${String(device)}`);
  }
}

/** The softmax loss has no CUDA kernel: 'auto' means the CPU, 'cuda' gets the CUDA module's clear error. */
export function softmaxDevice(options: SoftmaxOptions | undefined): Device {
  return options?.device === 'auto' ? 'cpu' : (options?.device ?? 'cpu');
}

/** The CPU engine, and whether and which CUDA device is usable. */
export function describeBackends(): CpuInfo & { cuda: CudaInfo } {
  const addon = cuda();
  const cudaInfo: CudaInfo =
    addon instanceof Error
      ? { device: 'cuda', available: false, error: addon.message }
      : (addon.backendInfo() as CudaInfo);
  return { ...(cpu().backendInfo() as CpuInfo), cuda: cudaInfo };
}
