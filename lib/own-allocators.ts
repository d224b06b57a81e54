// Allocators the process's code carries besides the one heapInfo() reads: a library an addon links (libmimalloc),
// or one built into an addon (Rust's mimalloc or jemallocator crates). Their blocks never show in the C heap figures,
// so a leak through them shows only in the process's memory (rss, uss). Linux only (it reads /proc/self/maps).
import fs from 'node:fs';
import path from 'node:path';
import { bufferReader, readElf } from './elf';
import { permissionDenied } from './errors';

export type AllocatorName = 'mimalloc' | 'jemalloc' | 'tcmalloc' | 'rpmalloc' | 'snmalloc';

export interface OwnAllocator {
  /** 'unknown' for an addon that manages pages itself and carries no known allocator's marker. */
  name: AllocatorName | 'unknown';
  /** The mapped file that carries it. */
  object: string;
  /**
   * 'linked': a library of its own; 'built in': its code inside an addon; 'pages': an addon that imports madvise, as
   * allocators that manage their own pages do.
   */
  how: 'linked' | 'built in' | 'pages';
}

const LIBRARIES: [RegExp, AllocatorName][] = [
  [/^libmimalloc[.-]/, 'mimalloc'],
  [/^libjemalloc[.-]/, 'jemalloc'],
  [/^libtcmalloc(_minimal)?[.-]/, 'tcmalloc'],
  [/^librpmalloc[.-]/, 'rpmalloc'],
  [/^libsnmalloc/, 'snmalloc'],
];

/**
 * Strings an allocator's code carries (the prefix of its messages, the names of its settings), as they appear in a
 * built addon. mimalloc builds its environment variables' names at run time from the lowercase "mimalloc_", so its
 * message prefix is what a stripped addon keeps. snmalloc reads no settings at run time (its SNMALLOC_ names are
 * macros) and keeps only its fatal messages. rpmalloc keeps no string of its own in a release build: only its symbol
 * names mark it, which an addon that hides and strips them does not carry.
 */
const MARKERS: [string, AllocatorName][] = [
  ['mimalloc: warning: ', 'mimalloc'],
  ['<jemalloc>', 'jemalloc'],
  ['_RJEM_MALLOC_CONF', 'jemalloc'],
  ['TCMALLOC_', 'tcmalloc'],
  ['rpmalloc_initialize', 'rpmalloc'],
  ['Failed to initialise snmalloc.', 'snmalloc'],
];

/** The allocators whose marker strings are in `bytes` (an addon's file). */
export function allocatorMarkers(bytes: Buffer): AllocatorName[] {
  const found = new Set<AllocatorName>();
  for (const [marker, name] of MARKERS) if (bytes.includes(marker)) found.add(name);
  return [...found];
}

/** Files mapped into this process. */
function mappedFiles(): string[] {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    return [...new Set(maps.split('\n').map((line) => line.slice(line.indexOf('/')).trim()).filter((file) => file.startsWith('/')))];
  } catch (err) {
    const refused = permissionDenied(err);
    if (refused) throw refused;
    return [];
  }
}

/**
 * Whether an ELF file (`bytes`, 32- or 64-bit, little-endian) imports `name`: an undefined symbol of its dynamic symbol
 * table, which stripping keeps. False for anything else, malformed files included.
 */
export function importsSymbol(bytes: Buffer, name: string): boolean {
  try {
    return readElf(bufferReader(bytes))?.imports(name) ?? false;
  } catch {
    return false; // cut short: not an ELF file this can read
  }
}

const scanned = new Map<string, { mtimeMs: number; names: AllocatorName[]; ownPages: boolean }>();

/**
 * Marker strings of one addon, and whether it imports madvise, cached while its file is unchanged; addons above 256
 * MiB are not read.
 */
function scanAddon(file: string): { names: AllocatorName[]; ownPages: boolean } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const refused = permissionDenied(err);
    if (refused) throw refused;
    return { names: [], ownPages: false }; // unlinked since it was mapped
  }
  const cached = scanned.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs) return cached;
  let bytes: Buffer | null;
  try {
    bytes = stat.size <= 256 << 20 ? fs.readFileSync(file) : null;
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
  const scan = { mtimeMs: stat.mtimeMs, names: bytes ? allocatorMarkers(bytes) : [], ownPages: bytes ? importsSymbol(bytes, 'madvise') : false };
  scanned.set(file, scan);
  return scan;
}

/**
 * The allocators mapped into this process other than `processAllocator` (the one heapInfo() reads), and addons
 * (*.node) that carry one or manage pages themselves, except the files in `skip` (nodeleak's own probe, which names
 * jemalloc and tcmalloc).
 */
export function ownAllocators(processAllocator: string | null, skip: readonly string[]): OwnAllocator[] {
  if (process.platform !== 'linux') return [];
  const found: OwnAllocator[] = [];
  for (const file of mappedFiles()) {
    if (skip.includes(file)) continue;
    const base = path.basename(file);
    const library = LIBRARIES.find(([pattern]) => pattern.test(base));
    if (library) {
      if (library[1] !== processAllocator) found.push({ name: library[1], object: file, how: 'linked' });
      continue;
    }
    if (!file.endsWith('.node')) continue;
    const { names, ownPages } = scanAddon(file);
    for (const name of names) if (name !== processAllocator) found.push({ name, object: file, how: 'built in' });
    // Allocators of their own hand freed pages back with madvise, whatever their name; an addon on malloc has no
    // reason to (one that maps files, as LMDB does, is counted too: its pages are judged as well, not hidden).
    if (names.length === 0 && ownPages) found.push({ name: 'unknown', object: file, how: 'pages' });
  }
  return found;
}
