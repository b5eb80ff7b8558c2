// The tfjs backends the op tests run on: 'cpu' and 'wasm' always, 'tensorflow' when
// @tensorflow/tfjs-node loads (required when SIGLIP_REQUIRE_TFJS_NODE=1, as in CI; where it
// is absent, its suites skip and say why).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// The gradients of tfjs-core's own ops (tf.mul, ...), which tfjs-core alone does not register.
import '@tensorflow/tfjs';

export { tf };

export interface BackendChoice {
  name: 'cpu' | 'wasm' | 'tensorflow';
  /** Why the backend cannot run here, when it cannot. */
  unavailable?: string;
}

/** The whole @tensorflow/tfjs-node module (with tfjs-layers), when it loads. */
export let tfjsNode: unknown;

function loadTfjsNode(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tfjsNode = require('@tensorflow/tfjs-node');
    return undefined;
  } catch (error) {
    if (process.env.SIGLIP_REQUIRE_TFJS_NODE === '1') throw error;
    return `@tensorflow/tfjs-node not loadable: ${(error as Error).message.split('\n')[0]}`;
  }
}

const tfjsNodeProblem = loadTfjsNode();

// Without tfjs-node the highest-priority backend is 'wasm', which initialises asynchronously:
// code that runs an op before choosing a backend would throw. Start on 'cpu' (synchronous).
if (tfjsNodeProblem !== undefined) void tf.setBackend('cpu');

// SIGLIP_TEST_BACKENDS=cpu (comma-separated names): only those, e.g. under qemu (package-check).
const onlyBackends = process.env.SIGLIP_TEST_BACKENDS?.split(',');

export const BACKENDS: BackendChoice[] = (
  [
    { name: 'tensorflow', ...(tfjsNodeProblem === undefined ? {} : { unavailable: tfjsNodeProblem }) },
    { name: 'wasm' },
    { name: 'cpu' },
  ] satisfies BackendChoice[]
).filter((backend) => onlyBackends === undefined || onlyBackends.includes(backend.name));

/**
 * tfjs with tfjs-layers for the demo's training: tfjs-node where it loads, else the
 * pure-JS union package (its backends register in the same tfjs-core).
 */
export function tfjsWithLayers(): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return tfjsNode ?? require('@tensorflow/tfjs');
}

export async function useBackend(name: BackendChoice['name']): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`cannot set backend ${name}`);
  await tf.ready();
}
