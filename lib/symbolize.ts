// Return addresses to functions and source lines: the object each lies in (from the process's mappings), its
// address inside that object (ELF program headers), the function from the object's symbol table, and, where the
// object has debug information and binutils' addr2line is installed, the demangled name and file:line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Mapping } from './heap-profile';

/** One frame of an allocation stack; a function inlined into another has a frame of its own, at the same address. */
export interface Frame {
  /** The return address, hex. */
  address: string;
  /** The mapped object (executable or shared library) it lies in; null for code outside any file (JIT). */
  object: string | null;
  /** The address inside the object (its ELF virtual address), hex; null when unknown. */
  offset: string | null;
  /** `function`, or `symbol+0x…` from the symbol table; null when neither says. */
  function: string | null;
  file: string | null;
  line: number | null;
}

interface ElfSymbol {
  value: bigint;
  size: bigint;
  name: string;
}

interface ElfObject {
  loads: { offset: bigint; vaddr: bigint; filesz: bigint }[];
  /** Function symbols, by address. */
  symbols: ElfSymbol[];
}

function readAt(fd: number, position: bigint, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  fs.readSync(fd, buffer, 0, length, Number(position));
  return buffer;
}

/** Program headers and function symbols of a 64-bit little-endian ELF file; null for anything else. */
function readElf(file: string): ElfObject | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const header = readAt(fd, 0n, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return null;
    const phoff = header.readBigUInt64LE(32);
    const shoff = header.readBigUInt64LE(40);
    const phnum = header.readUInt16LE(56);
    const shnum = header.readUInt16LE(60);
    const loads: ElfObject['loads'] = [];
    const programHeaders = readAt(fd, phoff, 56 * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = 56 * i;
      if (programHeaders.readUInt32LE(at) !== 1) continue; // PT_LOAD
      loads.push({
        offset: programHeaders.readBigUInt64LE(at + 8),
        vaddr: programHeaders.readBigUInt64LE(at + 16),
        filesz: programHeaders.readBigUInt64LE(at + 32),
      });
    }
    const sections = readAt(fd, shoff, 64 * shnum);
    const section = (i: number) => ({
      type: sections.readUInt32LE(64 * i + 4),
      offset: sections.readBigUInt64LE(64 * i + 24),
      size: sections.readBigUInt64LE(64 * i + 32),
      link: sections.readUInt32LE(64 * i + 40),
    });
    const symbols: ElfSymbol[] = [];
    for (let i = 0; i < shnum; i++) {
      const table = section(i);
      if (table.type !== 2 && table.type !== 11) continue; // SHT_SYMTAB, SHT_DYNSYM
      const strings = section(table.link);
      const names = readAt(fd, strings.offset, Number(strings.size));
      const entries = readAt(fd, table.offset, Number(table.size));
      for (let at = 0; at + 24 <= entries.length; at += 24) {
        if ((entries[at + 4] & 0xf) !== 2) continue; // STT_FUNC
        const value = entries.readBigUInt64LE(at + 8);
        if (value === 0n) continue;
        const start = entries.readUInt32LE(at);
        const name = names.toString('utf8', start, names.indexOf(0, start));
        symbols.push({ value, size: entries.readBigUInt64LE(at + 16), name });
      }
    }
    symbols.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return { loads, symbols };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** The function symbol holding `vaddr`, as `name` or `name+0x…`. */
function symbolAt(elf: ElfObject, vaddr: bigint): string | null {
  let low = 0;
  let high = elf.symbols.length - 1;
  let found: ElfSymbol | null = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (elf.symbols[middle].value <= vaddr) {
      found = elf.symbols[middle];
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  if (!found || (found.size > 0n && vaddr >= found.value + found.size)) return null;
  const past = vaddr - found.value;
  return past === 0n ? found.name : `${found.name}+0x${past.toString(16)}`;
}

let addr2lineMissing = false;

interface SourcePlace {
  fn: string | null;
  file: string | null;
  line: number | null;
}

/**
 * addr2line's answer for each address of one object: the functions at it, innermost first (a function inlined into
 * another is one more entry), or null when addr2line is not installed.
 */
function addr2line(object: string, vaddrs: bigint[]): SourcePlace[][] | null {
  if (addr2lineMissing || vaddrs.length === 0) return null;
  let output: string;
  try {
    output = execFileSync('addr2line', ['-a', '-i', '-C', '-f', '-e', object, ...vaddrs.map((vaddr) => `0x${vaddr.toString(16)}`)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') addr2lineMissing = true;
    return null;
  }
  // -a starts each address's answer with the address itself; then function and file:line pairs follow.
  const answers: SourcePlace[][] = [];
  const lines = output.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (/^0x[0-9a-f]+$/.test(lines[index])) {
      answers.push([]);
      continue;
    }
    if (answers.length === 0 || lines[index] === '') continue;
    const fn = lines[index];
    const location = /^(.*?):(\d+)/.exec(lines[index + 1] ?? '');
    index = index + 1;
    const known = location !== null && location[1] !== '??';
    answers[answers.length - 1].push({
      fn: fn === '??' ? null : fn,
      file: known ? (location as RegExpExecArray)[1] : null,
      line: known && Number((location as RegExpExecArray)[2]) > 0 ? Number((location as RegExpExecArray)[2]) : null,
    });
  }
  return answers.length === vaddrs.length ? answers : null;
}

/**
 * Frames for stacks of return addresses. Each address is looked up one byte back, inside the call instruction, so
 * the line shown is the call's and not the one after it.
 */
export function symbolize(stacks: readonly (readonly bigint[])[], mappings: readonly Mapping[]): Frame[][] {
  const elves = new Map<string, ElfObject | null>();
  const elfOf = (object: string): ElfObject | null => {
    if (!elves.has(object)) elves.set(object, readElf(object));
    return elves.get(object) ?? null;
  };
  const located = stacks.map((addresses) =>
    addresses.map((address) => {
      const mapping = mappings.find((map) => address >= map.start && address < map.end && map.path.startsWith('/'));
      if (!mapping) return { address, object: null, vaddr: null };
      const elf = elfOf(mapping.path);
      const fileOffset = address - 1n - mapping.start + mapping.offset;
      const load = elf?.loads.find((segment) => fileOffset >= segment.offset && fileOffset < segment.offset + segment.filesz);
      return { address, object: mapping.path, vaddr: load ? load.vaddr + fileOffset - load.offset : null };
    }),
  );
  // One addr2line run per object, over every address in it.
  const lookups = new Map<string, bigint[]>();
  for (const frame of located.flat()) {
    if (frame.object && frame.vaddr !== null) lookups.set(frame.object, [...(lookups.get(frame.object) ?? []), frame.vaddr]);
  }
  const answers = new Map<string, SourcePlace[]>();
  for (const [object, vaddrs] of lookups) {
    const unique = [...new Set(vaddrs)];
    const answer = addr2line(object, unique);
    if (answer) unique.forEach((vaddr, i) => answers.set(`${object}@${vaddr}`, answer[i]));
  }
  return located.map((frames) =>
    frames.flatMap(({ address, object, vaddr }) => {
      const base: Frame = {
        address: `0x${address.toString(16)}`,
        object,
        offset: vaddr === null ? null : `0x${vaddr.toString(16)}`,
        function: null,
        file: null,
        line: null,
      };
      if (!object || vaddr === null) return [base];
      const elf = elfOf(object);
      const symbol = elf ? symbolAt(elf, vaddr) : null;
      const places = answers.get(`${object}@${vaddr}`) ?? [];
      if (places.length === 0) return [{ ...base, function: symbol }];
      // One frame per function at this address: inlined ones first, then the one the code was inlined into.
      return places.map((place) => ({ ...base, function: place.fn ?? symbol, file: place.file, line: place.line }));
    }),
  );
}
