// Return addresses to functions and source lines: the object each lies in (from the process's mappings), its
// address inside that object (ELF program headers), the function from the object's symbol table, and, where the
// object has debug information and binutils' addr2line is installed, the demangled name and file:line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { type ElfLoad, type ElfSymbol, fileReader, readElf } from './elf';
import type { Mapping } from './heap-profile';

const STT_FUNC = 2;

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

interface ElfObject {
  loads: ElfLoad[];
  /** Function symbols, by address. */
  symbols: ElfSymbol[];
}

/** Loadable segments and function symbols of an ELF file; null for anything else. */
function readObject(file: string): ElfObject | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const elf = readElf(fileReader(fd));
    if (!elf) return null;
    const symbols = elf.symbols('all').filter((symbol) => symbol.type === STT_FUNC && symbol.value !== 0n);
    symbols.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return { loads: elf.loads, symbols };
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
    if (!elves.has(object)) elves.set(object, readObject(object));
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
