// jemalloc's heap profiles (heap_v2 text, written by mallctl("prof.dump")) and the allocation sites that grew in
// proportion to the calls between them. Pure: no native code, no I/O.
import { InvalidArgumentError } from './errors';

/** One line of MAPPED_LIBRARIES (the /proc/self/maps of the dumping process). */
export interface Mapping {
  start: bigint;
  end: bigint;
  /** Offset in the file of the mapping's first byte. */
  offset: bigint;
  path: string;
}

/** The live sampled allocations of one stack. */
export interface StackSample {
  /** Return addresses, innermost first. */
  addresses: bigint[];
  count: number;
  bytes: number;
}

export interface HeapProfile {
  /** Keyed by the stack's addresses as written in the dump. */
  stacks: Map<string, StackSample>;
  mappings: Mapping[];
}

/** An allocation stack whose live bytes grew at one rate in every profiled round. */
export interface GrowingStack {
  addresses: bigint[];
  bytesPerCall: number;
  allocationsPerCall: number;
}

/** Parses a heap_v2 dump. Throws InvalidArgumentError when the text is not one. */
export function parseHeapProfile(text: string): HeapProfile {
  const lines = text.split('\n');
  if (!lines[0]?.startsWith('heap_v2/')) throw new InvalidArgumentError('not a jemalloc heap_v2 profile (first line must start with heap_v2/)');
  const stacks = new Map<string, StackSample>();
  const mappings: Mapping[] = [];
  let index = 1;
  while (index < lines.length && !lines[index].startsWith('MAPPED_LIBRARIES:')) {
    const line = lines[index];
    index = index + 1;
    if (!line.startsWith('@ ')) continue;
    const key = line.slice(2).trim();
    // The line after a stack: "  t*: <count>: <bytes> [...]", the totals over every thread.
    const totals = /^\s*t\*:\s*(\d+):\s*(\d+)/.exec(lines[index] ?? '');
    if (!totals) throw new InvalidArgumentError(`heap_v2 profile: no t*: totals after the stack @ ${key}`);
    const previous = stacks.get(key);
    const count = Number(totals[1]) + (previous?.count ?? 0);
    const bytes = Number(totals[2]) + (previous?.bytes ?? 0);
    stacks.set(key, { addresses: key.split(/\s+/).map((address) => BigInt(address)), count, bytes });
  }
  for (const line of lines.slice(index + 1)) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+([0-9a-f]+)\s+\S+\s+\d+\s+(\S.*)$/.exec(line.trim());
    if (match) mappings.push({ start: BigInt(`0x${match[1]}`), end: BigInt(`0x${match[2]}`), offset: BigInt(`0x${match[3]}`), path: match[4] });
  }
  return { stacks, mappings };
}

/** Two rates agree when neither is more than this many times the other. */
const RATE_AGREEMENT = 2;

/**
 * The stacks that grew in every round at rates that agree, by bytes per call, largest first. `profiles[i]` was
 * dumped after `calls[i]` more calls (sampling started, with every earlier sample dropped, just before the first).
 * A stack that grew in one round only, or at rates that disagree, is a cache filling or noise, not a leak site.
 */
export function growingStacks(profiles: readonly HeapProfile[], calls: readonly number[]): GrowingStack[] {
  if (profiles.length === 0 || profiles.length !== calls.length) {
    throw new InvalidArgumentError('growingStacks(): one call count per profile, and at least one profile');
  }
  const keys = new Set(profiles.flatMap((profile) => [...profile.stacks.keys()]));
  const totalCalls = calls.reduce((sum, n) => sum + n, 0);
  const growing: GrowingStack[] = [];
  for (const key of keys) {
    const bytes = profiles.map((profile) => profile.stacks.get(key)?.bytes ?? 0);
    const rates = bytes.map((value, round) => (value - (round === 0 ? 0 : bytes[round - 1])) / calls[round]);
    if (rates.some((rate) => rate <= 0)) continue;
    if (Math.max(...rates) > RATE_AGREEMENT * Math.min(...rates)) continue;
    const last = profiles[profiles.length - 1].stacks.get(key) as StackSample;
    growing.push({ addresses: last.addresses, bytesPerCall: last.bytes / totalCalls, allocationsPerCall: last.count / totalCalls });
  }
  return growing.sort((a, b) => b.bytesPerCall - a.bytesPerCall);
}
