import { binding } from './binding';
import { InvalidArgumentError, UnsupportedPlatformError } from './errors';
import { platformTuple } from './platform';

export type Allocator = 'glibc' | 'jemalloc' | 'tcmalloc' | 'darwin-zones' | 'windows-heap';

export interface HeapInfo {
  /** Bytes allocated on the C heap and not yet freed (small blocks; large ones too on allocators that do not split them out). */
  heapUsed: number;
  /** glibc: bytes in blocks mmap'd one by one (128 KiB and up). jemalloc, tcmalloc: bytes the allocator holds mapped. Windows: bytes in the large blocks the heaps VirtualAlloc one by one. macOS: always 0, as the zones count large blocks in `heapUsed`. Memory an addon maps itself (mmap, VirtualAlloc) shows in ProcessInfo.vms, not here. */
  mmapUsed: number;
  /** Windows only: how many heaps the process has. */
  heapCount?: number;
  /** Windows and macOS: heaps (zones) whose blocks could not be read, so are missing from heapUsed: a heap HeapLock or HeapWalk failed on, a malloc zone with no statistics. Leak checks that judge the C heap refuse while it is above 0. */
  unreadableHeaps?: number;
  /** Which allocator the figures come from. */
  allocator: Allocator;
}

export interface HeapTrimResult {
  allocator: Allocator;
  /** The allocator call that was made, e.g. `malloc_trim(0)`. */
  action: string;
  /** Whether memory went back to the OS; null when the allocator does not say. */
  released: boolean | null;
  /** Bytes that went back to the OS; null when the allocator does not say. */
  releasedBytes: number | null;
}

export interface ProcessInfo {
  /** Resident set size, bytes. */
  rss: number;
  /** Virtual memory size, bytes (Windows: private committed bytes). */
  vms: number;
  /** Unique set size: memory only this process maps, bytes. Absent on FreeBSD and NetBSD, which keep no such figure. */
  uss?: number;
  /** Open file descriptors (POSIX). */
  fds?: number;
  /** Open handles (Windows). */
  handles?: number;
  /** Native threads of the process. */
  threads: number;
}

function noArguments(name: string, args: unknown[]): void {
  if (args.length > 0) throw new InvalidArgumentError(`${name}() takes no arguments, got ${args.length}`);
}

/** `task`: what the call does, for the error when this platform cannot do it. */
function callProbe<T>(task: string, call: () => unknown): T {
  try {
    return call() as T;
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'NODELEAK_UNSUPPORTED') {
      const { message, supported } = err as { message: string; supported: string };
      throw new UnsupportedPlatformError(platformTuple(), message, supported, undefined, task);
    }
    throw err;
  }
}

/** Reads the C heap's figures from the allocator in use. */
export function heapInfo(...args: never[]): HeapInfo {
  noArguments('heapInfo', args);
  return callProbe('probe the C heap', () => binding().heapInfo());
}

/** Asks the allocator to give free memory back to the OS, and says what it did. */
export function heapTrim(...args: never[]): HeapTrimResult {
  noArguments('heapTrim', args);
  return callProbe('trim the C heap', () => binding().heapTrim());
}

/** The files of the shared objects loaded in this process (the executable, libraries, addons), as the OS lists them. */
export function loadedObjects(): string[] {
  return callProbe('list the loaded shared objects', () => binding().loadedObjects());
}

/** Reads the process figures a leak test watches: memory, open fds or handles, threads. */
export function processInfo(...args: never[]): ProcessInfo {
  noArguments('processInfo', args);
  return callProbe("read this process's memory, files and threads", () => binding().processInfo());
}
