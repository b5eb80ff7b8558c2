// The tfjs backends the op tests run on: 'cpu' always, 'tensorflow' when
// @tensorflow/tfjs-node loads (required when SIGLIP_REQUIRE_TFJS_NODE=1, as in CI).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export { tf };

export interface BackendChoice {
  name: 'cpu' | 'tensorflow';
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

export const BACKENDS: BackendChoice[] = [
  { name: 'tensorflow', ...(tfjsNodeProblem === undefined ? {} : { unavailable: tfjsNodeProblem }) },
  { name: 'cpu' },
];

export async function useBackend(name: BackendChoice['name']): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`cannot set backend ${name}`);
  await tf.ready();
}
