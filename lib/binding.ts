import path from 'node:path';
import type nodeGypBuildType from 'node-gyp-build';
import { BindingLoadError } from './errors';
import { platformTuple } from './platform';

/** What the native probe returns, before lib/probe.ts types and checks it. */
export interface NativeProbe {
  heapInfo(): Record<string, unknown>;
  heapTrim(): Record<string, unknown>;
  processInfo(): Record<string, unknown>;
  /** The files of the shared objects loaded (src-native/probe.h). */
  loadedObjects(): string[];
  /** The allocator's heap profiler (src-native/probe.h): 'state' | 'start' | 'stop' | 'dump'. */
  heapProfile(command: string, value: number, path: string): number;
  /** Takes the process-wide one-check guard: null when taken, else the label of the check that holds it. */
  acquireCheck(label: string): string | null;
  /** Gives the guard back, if this thread holds it. */
  releaseCheck(): void;
  /** How many Node environments (main thread, workers) have loaded the probe. */
  loadedEnvironments(): number;
}

let probe: NativeProbe | undefined;

/** The package root node-gyp-build loads the probe from. */
const packageRoot = path.join(__dirname, '..');

/**
 * node-gyp-build, loaded on first use: loading it reads the file system (/etc/alpine-release), which Node's
 * permission model (`node --permission`) may refuse, and importing nodeleak must not throw.
 */
function nodeGypBuild(): typeof nodeGypBuildType {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node-gyp-build') as typeof nodeGypBuildType;
}

/** Path of the probe's binary, or null when none can be loaded. */
export function bindingPath(): string | null {
  try {
    return (nodeGypBuild() as unknown as { resolve(dir: string): string }).resolve(packageRoot);
  } catch {
    return null;
  }
}

/** Loads the probe on first use, so importing nodeleak never throws. */
export function binding(): NativeProbe {
  if (probe) return probe;
  try {
    probe = nodeGypBuild()(packageRoot) as NativeProbe;
  } catch (err) {
    throw new BindingLoadError(platformTuple(), err);
  }
  return probe;
}
