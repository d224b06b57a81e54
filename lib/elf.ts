// ELF files (32- and 64-bit, little-endian): the loadable segments and the symbol tables, which the symbolizer and
// the own-allocator scan read. Every offset comes from the file itself, so every read is bounds-checked.
import fs from 'node:fs';

/** Reads `length` bytes at `offset`; throws RangeError when the file ends before. */
export type ReadAt = (offset: number, length: number) => Buffer;

export interface ElfLoad {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  /** STT_*: 2 is a function. */
  type: number;
  /** False for a symbol the file imports (its section index is SHN_UNDEF). */
  defined: boolean;
}

export interface Elf {
  /** PT_LOAD program headers. */
  loads: ElfLoad[];
  /** The symbols of the dynamic table (SHT_DYNSYM, which stripping keeps), and with 'all' of the full one (SHT_SYMTAB). */
  symbols(tables: 'dynamic' | 'all'): ElfSymbol[];
  /** Whether the dynamic table names `name` as a symbol the file imports. */
  imports(name: string): boolean;
}

export function bufferReader(bytes: Buffer): ReadAt {
  return (offset, length) => {
    if (offset < 0 || offset + length > bytes.length) throw new RangeError(`ELF read of ${length} bytes at ${offset} past the end`);
    return bytes.subarray(offset, offset + length);
  };
}

export function fileReader(fd: number): ReadAt {
  return (offset, length) => {
    const buffer = Buffer.alloc(length);
    if (fs.readSync(fd, buffer, 0, length, offset) < length) throw new RangeError(`ELF read of ${length} bytes at ${offset} past the end`);
    return buffer;
  };
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;

/** The file behind `read`, or null when it is not a little-endian ELF file. Throws RangeError when it is cut short. */
export function readElf(read: ReadAt): Elf | null {
  const ident = read(0, 16);
  if (ident.readUInt32BE(0) !== 0x7f454c46 || ident[5] !== 1 || (ident[4] !== 1 && ident[4] !== 2)) return null;
  const wide = ident[4] === 2;
  const header = read(0, wide ? 64 : 52);
  const word = (buffer: Buffer, at: number): bigint => (wide ? buffer.readBigUInt64LE(at) : BigInt(buffer.readUInt32LE(at)));
  const offset = (buffer: Buffer, at: number): number => Number(word(buffer, at));

  const programAt = offset(header, wide ? 32 : 28);
  const programSize = header.readUInt16LE(wide ? 54 : 42);
  const programCount = header.readUInt16LE(wide ? 56 : 44);
  const loads: ElfLoad[] = [];
  for (let index = 0; index < programCount; index++) {
    const entry = read(programAt + index * programSize, wide ? 56 : 32);
    if (entry.readUInt32LE(0) !== PT_LOAD) continue;
    loads.push(
      wide
        ? { offset: entry.readBigUInt64LE(8), vaddr: entry.readBigUInt64LE(16), filesz: entry.readBigUInt64LE(32) }
        : { offset: word(entry, 4), vaddr: word(entry, 8), filesz: word(entry, 16) },
    );
  }

  const sectionAt = offset(header, wide ? 40 : 32);
  const sectionSize = header.readUInt16LE(wide ? 58 : 46);
  const sectionCount = header.readUInt16LE(wide ? 60 : 48);
  const section = (index: number): { type: number; offset: number; size: number; link: number } => {
    const entry = read(sectionAt + index * sectionSize, wide ? 64 : 40);
    return wide
      ? { type: entry.readUInt32LE(4), offset: offset(entry, 24), size: offset(entry, 32), link: entry.readUInt32LE(40) }
      : { type: entry.readUInt32LE(4), offset: offset(entry, 16), size: offset(entry, 20), link: entry.readUInt32LE(24) };
  };
  const symbolSize = wide ? 24 : 16;
  /** Each entry of the symbol tables asked for: its table's bytes, its offset there, and the table's names. */
  const eachEntry = (tables: 'dynamic' | 'all', visit: (entries: Buffer, at: number, names: Buffer) => boolean | void): void => {
    for (let index = 0; index < sectionCount; index++) {
      const table = section(index);
      if (table.type !== SHT_DYNSYM && (tables === 'dynamic' || table.type !== SHT_SYMTAB)) continue;
      const strings = section(table.link);
      const names = read(strings.offset, strings.size);
      const entries = read(table.offset, table.size);
      for (let at = 0; at + symbolSize <= entries.length; at += symbolSize) if (visit(entries, at, names) === true) return;
    }
  };
  const defined = (entries: Buffer, at: number): boolean => entries.readUInt16LE(at + (wide ? 6 : 14)) !== 0;
  const nameEnd = (names: Buffer, start: number): number => {
    const end = names.indexOf(0, start);
    if (end < 0) throw new RangeError(`ELF symbol name at ${start} has no end`);
    return end;
  };
  const symbols = (tables: 'dynamic' | 'all'): ElfSymbol[] => {
    const found: ElfSymbol[] = [];
    eachEntry(tables, (entries, at, names) => {
      const start = entries.readUInt32LE(at);
      found.push({
        name: names.toString('utf8', start, nameEnd(names, start)),
        value: word(entries, at + (wide ? 8 : 4)),
        size: word(entries, at + (wide ? 16 : 8)),
        type: entries[at + (wide ? 4 : 12)] & 0xf,
        defined: defined(entries, at),
      });
    });
    return found;
  };
  // Compares bytes and decodes no name: it runs on every addon mapped, right before a check's first read, where thousands
  // of short-lived strings can move the round in which V8 adds a heap page (and the page's record in the C heap).
  const imports = (name: string): boolean => {
    const wanted = Buffer.from(name);
    let found = false;
    eachEntry('dynamic', (entries, at, names) => {
      if (defined(entries, at)) return false;
      const start = entries.readUInt32LE(at);
      found = nameEnd(names, start) - start === wanted.length && names.compare(wanted, 0, wanted.length, start, start + wanted.length) === 0;
      return found;
    });
    return found;
  };
  return { loads, symbols, imports };
}
