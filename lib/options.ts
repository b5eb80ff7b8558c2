/** Which (row, column) pairs are positives. */
export type PositivesKind = 'diagonal' | 'none';

export interface SiglipOptions {
  /**
   * 'diagonal' (default): row i's positive is column i + positiveOffset when that
   * column exists, else row i has none. 'none': every pair is a negative (a chunk
   * of another device's texts).
   */
  positives?: PositivesKind;
  /** Offset k of the diagonal, any integer (default 0). */
  positiveOffset?: number;
  /** Worker threads (default: hardware concurrency). */
  threads?: number;
}

/** The paper's initialisation: t' = log 10 (t = 10) and b = -10. */
export const SIGLIP_DEFAULT_T_PRIME = Math.log(10);
export const SIGLIP_DEFAULT_BIAS = -10;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['positives', 'positiveOffset', 'threads']);

/** Rejects unknown option names (a typo would otherwise be ignored silently). */
export function checkOptionNames(options: unknown): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new RangeError(`options.${key} is not an option (known: ${[...KNOWN_OPTIONS].join(', ')})`);
    }
  }
}
