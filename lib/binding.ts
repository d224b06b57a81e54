import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { BindingLoadError } from './errors';
import { platformTuple } from './platform';

/** What the native probe returns, before lib/probe.ts types and checks it. */
export interface NativeProbe {
  heapInfo(): Record<string, unknown>;
  heapTrim(): Record<string, unknown>;
  processInfo(): Record<string, unknown>;
  /** Takes the process-wide one-check guard: null when taken, else the label of the check that holds it. */
  acquireCheck(label: string): string | null;
  /** Gives the guard back, if this thread holds it. */
  releaseCheck(): void;
  /** How many Node environments (main thread, workers) have loaded the probe. */
  loadedEnvironments(): number;
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
