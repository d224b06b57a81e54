import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { BindingLoadError } from './errors';
import { platformTuple } from './platform';

/** What the native probe returns, before lib/probe.ts types and checks it. */
export interface NativeProbe {
  heapInfo(): Record<string, unknown>;
  heapTrim(): Record<string, unknown>;
  processInfo(): Record<string, unknown>;
}

let probe: NativeProbe | undefined;

/** Loads the probe on first use, so importing nodeleak never throws. */
export function binding(): NativeProbe {
  if (probe) return probe;
  try {
    probe = nodeGypBuild(path.join(__dirname, '..')) as NativeProbe;
  } catch (err) {
    throw new BindingLoadError(platformTuple(), err);
  }
  return probe;
}
