// @tensorflow/tfjs-node 4.22 calls util.isNullOrUndefined in every kernel, and Node 23
// removed it (DEP0051): on Node >= 23 every tfjs-node op throws. The upstream fix
// (tensorflow/tfjs#8425) is merged but unreleased, and tfjs is in maintenance, so a user
// cannot upgrade their way out. tfjs-node looks the function up at each call, so putting
// Node's own definition back on the util module before the first op is enough, whichever
// of tfjs-node and siglip-loss was loaded first. Only where the function is missing and
// tfjs-node is installed: on an older Node, or without tfjs-node, nothing changes.

/** The part of node:util that tfjs-node needs (typed optional: Node >= 23 lacks it). */
interface UtilModule {
  isNullOrUndefined?: (value: unknown) => value is null | undefined;
}

/** Found beside this package (npm and yarn hoist it there) or from the application's directory. */
function tfjsNodeInstalled(): boolean {
  for (const from of [__dirname, process.cwd()]) {
    try {
      require.resolve('@tensorflow/tfjs-node/package.json', { paths: [from] });
      return true;
    } catch {
      // not from here
    }
  }
  return false;
}

/**
 * Restores util.isNullOrUndefined for tfjs-node where Node removed it. Returns whether it
 * was restored (false where Node has it, or where tfjs-node is not installed).
 */
export function restoreUtilForTfjsNode(): boolean {
  // The CommonJS module object itself, which tfjs-node's require('util') returns too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeUtil = require('node:util') as UtilModule;
  if (typeof nodeUtil.isNullOrUndefined === 'function' || !tfjsNodeInstalled()) return false;
  // Node's definition before its removal (lib/util.js).
  nodeUtil.isNullOrUndefined = (value: unknown): value is null | undefined =>
    value === null || value === undefined;
  return true;
}
