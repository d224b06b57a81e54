// Allocators the process's code carries besides the one heapInfo() reads: a library an addon links (libmimalloc),
// or one built into an addon (Rust's mimalloc or jemallocator crates). Their blocks never show in the C heap figures,
// so a leak through them shows only in the process's memory (rss, uss).
import fs from 'node:fs';
import path from 'node:path';
import { bufferReader, readElf } from './elf';
import { permissionDenied } from './errors';
import { loadedObjects } from './probe';
import type { OwnAllocatorHow } from './report';

export type AllocatorName = 'mimalloc' | 'jemalloc' | 'tcmalloc' | 'rpmalloc' | 'snmalloc';

export interface OwnAllocator {
  /** 'unknown' for an addon that manages pages itself and carries no known allocator's marker. */
  name: AllocatorName | 'unknown';
  /** The mapped file that carries it. */
  object: string;
  /**
   * 'linked': a library of its own; 'built in': its code inside an addon; 'pages': an addon that imports madvise, as
   * allocators that manage their own pages do; 'gone': an addon deleted or replaced on disk since it was loaded, whose
   * mapped file this process may not read (name 'unknown').
   */
  how: OwnAllocatorHow;
}

/** Their file names: libmimalloc.so.2, libmimalloc.2.dylib, mimalloc.dll and mimalloc-override.dll. */
const LIBRARIES: [RegExp, AllocatorName][] = [
  [/^(lib)?mimalloc[.-]/i, 'mimalloc'],
  [/^(lib)?jemalloc[.-]/i, 'jemalloc'],
  [/^(lib)?tcmalloc(_minimal)?[.-]/i, 'tcmalloc'],
  [/^(lib)?rpmalloc[.-]/i, 'rpmalloc'],
  [/^(lib)?snmalloc/i, 'snmalloc'],
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

/** Throws PermissionDeniedError when the read that failed with `err` was refused by Node's permission model. */
function throwIfRefused(err: unknown): void {
  const refused = permissionDenied(err);
  if (refused) throw refused;
}

interface MappedFile {
  file: string;
  /** Linux: unlinked since it was mapped (maps says "(deleted)"): the path names another file, or none. */
  gone: boolean;
  /** Linux: the address range of one of its mappings, as /proc/self/map_files names it. */
  range: string;
}

const DELETED = ' (deleted)';

/**
 * Files mapped into this process, each once: on Linux from /proc/self/maps, which also tells files deleted since;
 * elsewhere (and on a Linux without /proc) as the probe lists the loaded shared objects, or node's report where the
 * probe cannot.
 */
function mappedFiles(): MappedFile[] {
  if (process.platform !== 'linux') return loadedFiles();
  let maps: string;
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch (err) {
    throwIfRefused(err);
    return loadedFiles();
  }
  const files = new Map<string, MappedFile>();
  for (const line of maps.split('\n')) {
    const named = line.slice(line.indexOf('/')).trim();
    if (!named.startsWith('/')) continue;
    const gone = named.endsWith(DELETED);
    const file = gone ? named.slice(0, -DELETED.length) : named;
    if (!files.has(file)) files.set(file, { file, gone, range: line.slice(0, line.indexOf(' ')) });
  }
  return [...files.values()];
}

function loadedFiles(): MappedFile[] {
  let files: string[];
  try {
    files = loadedObjects();
  } catch {
    files = reportedObjects();
  }
  return [...new Set(files.filter((file) => path.isAbsolute(file)))].map((file) => ({ file, gone: false, range: '' }));
}

/** The shared objects node's diagnostic report lists (empty where it cannot make one). */
function reportedObjects(): string[] {
  try {
    const objects = (process.report?.getReport() as { sharedObjects?: unknown } | undefined)?.sharedObjects;
    return Array.isArray(objects) ? objects.filter((file): file is string => typeof file === 'string') : [];
  } catch {
    return [];
  }
}

/** A path as the file system names it, to compare two names of one file (a Windows or macOS path in another case). */
function canonical(file: string): string {
  let resolved: string;
  try {
    resolved = fs.realpathSync.native(file);
  } catch {
    resolved = path.resolve(file);
  }
  return process.platform === 'win32' || process.platform === 'darwin' ? resolved.toLowerCase() : resolved;
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

interface AddonScan {
  names: AllocatorName[];
  ownPages: boolean;
}

const scanned = new Map<string, AddonScan & { mtimeMs: number }>();

/** Addons above this size are not read. */
const MAX_SCANNED_BYTES = 256 << 20;

function scanBytes(bytes: Buffer | null): AddonScan {
  return { names: bytes ? allocatorMarkers(bytes) : [], ownPages: bytes ? importsSymbol(bytes, 'madvise') : false };
}

/**
 * Marker strings of one mapped addon, and whether it imports madvise, cached while its file is unchanged; null when its
 * file is gone and the mapped one cannot be read. A gone file is read through /proc/self/map_files, which the kernel
 * opens only to processes with CAP_SYS_ADMIN (CAP_CHECKPOINT_RESTORE since Linux 5.9).
 */
function scanAddon({ file, gone, range }: MappedFile): AddonScan | null {
  if (gone) {
    try {
      const mapped = `/proc/self/map_files/${range}`;
      return scanBytes(fs.statSync(mapped).size <= MAX_SCANNED_BYTES ? fs.readFileSync(mapped) : null);
    } catch (err) {
      throwIfRefused(err);
      return null;
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throwIfRefused(err);
    return null; // unlinked since /proc/self/maps was read
  }
  const cached = scanned.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs) return cached;
  let bytes: Buffer | null;
  try {
    bytes = stat.size <= MAX_SCANNED_BYTES ? fs.readFileSync(file) : null;
  } catch (err) {
    throw permissionDenied(err) ?? err;
  }
  const scan = { mtimeMs: stat.mtimeMs, ...scanBytes(bytes) };
  scanned.set(file, scan);
  return scan;
}

/**
 * The allocators mapped into this process other than `processAllocator` (the one heapInfo() reads), and addons
 * (*.node) that carry one or manage pages themselves, except the files in `skip` (nodeleak's own probe, which names
 * jemalloc and tcmalloc).
 */
export function ownAllocators(processAllocator: string | null, skip: readonly string[]): OwnAllocator[] {
  const skipped = new Set(skip.map(canonical));
  const skippedNames = new Set(skip.map((file) => path.basename(file).toLowerCase()));
  const found: OwnAllocator[] = [];
  for (const mapped of mappedFiles()) {
    const { file } = mapped;
    if (skippedNames.has(path.basename(file).toLowerCase()) && skipped.has(canonical(file))) continue;
    const base = path.basename(file);
    const library = LIBRARIES.find(([pattern]) => pattern.test(base));
    if (library) {
      if (library[1] !== processAllocator) found.push({ name: library[1], object: file, how: 'linked' });
      continue;
    }
    if (!file.endsWith('.node')) continue;
    const scan = scanAddon(mapped);
    // What cannot be read may carry an allocator: its memory is judged as if it did, rather than not at all.
    if (!scan) {
      found.push({ name: 'unknown', object: file, how: 'gone' });
      continue;
    }
    const { names, ownPages } = scan;
    for (const name of names) if (name !== processAllocator) found.push({ name, object: file, how: 'built in' });
    // Allocators of their own hand freed pages back with madvise, whatever their name; an addon on malloc has no
    // reason to (one that maps files, as LMDB does, is counted too: its pages are judged as well, not hidden).
    if (names.length === 0 && ownPages) found.push({ name: 'unknown', object: file, how: 'pages' });
  }
  return found;
}
