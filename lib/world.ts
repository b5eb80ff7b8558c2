// The MPI world behind options.world and siglip-loss/mpi: one per process.
// Its native module (build/Release/mpi/siglip_mpi.node) is loaded only here.
import path from 'node:path';

import type * as tfjs from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';

import type { Call, SiglipLossAndGrads } from './native';
import type { SiglipOptions } from './options';

/** How a ring call spent its time, and what it sent (measured by the native ring). */
export interface RingStats {
  /** Seconds in the blocks' compute, summed over the ring's steps. */
  computeSeconds: number;
  /** Seconds of the whole call on this rank, checks and transfers included. */
  wallSeconds: number;
  /** Bytes this rank sent (its Y blocks, their labels and the dY accumulators). */
  bytesSent: number;
}

interface MpiAddon {
  init(): { rank: number; size: number; library: string };
  finalize(): void;
  abort(code: number): void;
  lossAndGrads: Call<SiglipLossAndGrads & { ring: RingStats }>;
  lossAndGradsAsync: Call<Promise<SiglipLossAndGrads & { ring: RingStats }>>;
  loss: Call<{ loss: number; ring: RingStats }>;
  failCall(message: string): void;
  allReduceSum(values: Float32Array): Float32Array;
  broadcast(values: Float32Array, root: number): Float32Array;
  setStallTimeout(seconds: number): void;
}

/** Options of {@link initWorld}. */
export interface WorldOptions {
  /**
   * Seconds a rank waits for transfers or a collective that make no progress before it says
   * (after a quarter as long again, in which the ranks compare which rank each waits on)
   * which rank stopped hearing from which; at twice the deadline, unless MPI has ended the job by
   * then, it ends the whole job (a cut link raises no error in MPI, and TCP gives up only after
   * ~15 minutes). Default: the environment's `SIGLIP_MPI_STALL_TIMEOUT`, else 120; within the
   * ring never less than ten times this rank's longest block, so that no healthy step reaches it.
   */
  stallTimeout?: number;
}

/** The ranks of an MPI job (MPI_COMM_WORLD), as initWorld() returns them. */
export interface World {
  /** This process's rank, 0 to size - 1. */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
  /** The MPI library's version string. */
  readonly library: string;
  /**
   * Sums gradients over the ranks (SUM, the same bits on every rank) and returns new tensors of
   * the same shapes in the same structure; the caller disposes both. After siglipLoss(..., { world })
   * under tf.variableGrads, the sums are the single-process gradients of the global batch.
   */
  allReduceGradients<T extends NamedTensorMap | Tensor[]>(grads: T): T;
  /** Assigns rank `root`'s values (default 0) to every rank's variables. */
  broadcastVariables(variables: Variable[] | Record<string, Variable>, root?: number): void;
  /**
   * Finalizes MPI (also done at exit) and frees the ring's buffers, which the world keeps from
   * call to call (a few B×D blocks). The world cannot be used, nor MPI started again, after.
   */
  close(): void;
}

/** Where the MPI module is built: by a source install where MPI is found, or by `npx siglip-loss build-mpi`. */
export const MPI_MODULE = path.join(__dirname, '..', 'build', 'Release', 'mpi', 'siglip_mpi.node');

/** Loads the MPI module (without starting MPI); the error says which command builds it. */
export function loadMpiModule(): MpiAddon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(MPI_MODULE) as MpiAddon;
  } catch (error) {
    throw new Error(
      `siglip-loss has no MPI module (${MPI_MODULE}: ${(error as Error).message.split('\n')[0]}); ` +
        'build it with `npx siglip-loss build-mpi` (it needs an MPI such as Open MPI, ' +
        'openmpi-bin libopenmpi-dev, cmake and a C++17 compiler)',
    );
  }
}

function tf(): typeof tfjs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@tensorflow/tfjs-core') as typeof tfjs;
}

/** Many tensors as one Float32Array (one MPI call for all of them). */
function pack(tensors: Tensor[]): Float32Array {
  const total = tensors.reduce((sum, t) => sum + t.size, 0);
  const packed = new Float32Array(total);
  let offset = 0;
  for (const t of tensors) {
    packed.set(t.dataSync() as Float32Array, offset);
    offset += t.size;
  }
  return packed;
}

function checkTensors(values: unknown[], what: string): asserts values is Tensor[] {
  const core = tf();
  values.forEach((t, i) => {
    if (!(t instanceof core.Tensor)) throw new TypeError(`${what}[${i}] must be a tf.Tensor`);
    if (t.isDisposed) throw new TypeError(`${what}[${i}] is disposed`);
    if (t.dtype !== 'float32') throw new TypeError(`${what}[${i}] must have dtype float32, got ${t.dtype}`);
  });
}

class MpiWorld implements World {
  readonly rank: number;
  readonly size: number;
  readonly library: string;
  private closed = false;

  constructor(readonly addon: MpiAddon) {
    const info = addon.init();
    this.rank = info.rank;
    this.size = info.size;
    this.library = info.library;
  }

  /** The native module of an open world. */
  open(): MpiAddon {
    if (this.closed) throw new Error('options.world is closed');
    return this.addon;
  }

  allReduceGradients<T extends NamedTensorMap | Tensor[]>(grads: T): T {
    const addon = this.open();
    if (grads === null || typeof grads !== 'object') {
      throw new TypeError('grads must be a NamedTensorMap or an array of tf.Tensor');
    }
    const names = Array.isArray(grads) ? undefined : Object.keys(grads);
    const tensors: unknown[] =
      names === undefined ? (grads as Tensor[]) : names.map((n) => (grads as NamedTensorMap)[n]);
    checkTensors(tensors, 'grads');
    const summed = addon.allReduceSum(pack(tensors));
    const core = tf();
    let offset = 0;
    const out = tensors.map((t) => {
      const values = summed.slice(offset, offset + t.size);
      offset += t.size;
      return core.tensor(values, t.shape, 'float32');
    });
    if (names === undefined) return out as T;
    return Object.fromEntries(names.map((n, i) => [n, out[i]])) as T;
  }

  broadcastVariables(variables: Variable[] | Record<string, Variable>, root = 0): void {
    const addon = this.open();
    if (!Number.isInteger(root) || root < 0 || root >= this.size) {
      throw new RangeError(`root must be an integer rank in [0, ${this.size}), got ${String(root)}`);
    }
    if (variables === null || typeof variables !== 'object') {
      throw new TypeError('variables must be an array or an object of tf.Variable');
    }
    const list: unknown[] = Array.isArray(variables) ? variables : Object.values(variables);
    checkTensors(list, 'variables');
    const values = addon.broadcast(pack(list), root);
    let offset = 0;
    for (const v of list as Variable[]) {
      const slice = values.slice(offset, offset + v.size);
      offset += v.size;
      const core = tf();
      core.tidy(() => v.assign(core.tensor(slice, v.shape, 'float32')));
    }
  }

  /**
   * At exit: finalize, or, when the process fails (or a call is still in flight), end the whole
   * job with MPI_Abort; MPI_Finalize would wait for the other ranks, which wait for this one.
   */
  exit(code: number): void {
    if (this.closed) return;
    if (code === 0) {
      try {
        this.close();
        return;
      } catch {
        // a call still in flight: abort below
      }
    }
    console.error(`siglip-loss/mpi: rank ${this.rank} exits with code ${code}; aborting the MPI job`);
    this.addon.abort(code === 0 ? 1 : code);
  }

  close(): void {
    if (this.closed) return;
    this.addon.finalize();
    this.closed = true;
  }
}

let theWorld: MpiWorld | undefined;

/**
 * Initializes MPI once per process (MPI_THREAD_MULTIPLE) and returns the world; later calls return
 * the same world (and may set a new stallTimeout). MPI is finalized at exit, or by world.close().
 */
export function initWorld(options: WorldOptions = {}): World {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const { stallTimeout } = options;
  if (
    stallTimeout !== undefined &&
    !(typeof stallTimeout === 'number' && stallTimeout > 0 && stallTimeout < Infinity)
  ) {
    throw new RangeError(
      `options.stallTimeout must be a positive number of seconds, got ${String(stallTimeout)}`,
    );
  }
  if (theWorld === undefined) {
    theWorld = new MpiWorld(loadMpiModule());
    const world = theWorld;
    process.once('exit', (code) => world.exit(code));
  }
  if (stallTimeout !== undefined) theWorld.addon.setStallTimeout(stallTimeout);
  return theWorld;
}

/** The native module behind options.world, or a TypeError. */
export function worldAddon(world: unknown): MpiAddon {
  if (!(world instanceof MpiWorld)) throw new TypeError('options.world must be the world of initWorld()');
  return world.open();
}

/**
 * Runs `check` of a call with options.world. A rank whose arguments fail here, before the native
 * call, still takes part in the collective check, so that every rank fails instead of hanging.
 */
export function checkedOnEveryRank<R>(world: unknown, check: () => R): R {
  const addon = worldAddon(world);
  try {
    return check();
  } catch (error) {
    addon.failCall((error as Error).message);
    throw error;
  }
}

/** A raw call with options.world: its JavaScript checks, then the native ring. */
export function withWorld<R>(options: SiglipOptions, check: () => void, call: (addon: MpiAddon) => R): R {
  checkedOnEveryRank(options.world, check);
  return call(worldAddon(options.world));
}
