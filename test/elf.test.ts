// The ELF reader the symbolizer and the own-allocator scan share, on files written here: 32- and 64-bit, cut short,
// not ELF at all.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { type Elf, bufferReader, readElf } from '../lib/elf';
import { importsSymbol } from '../lib/own-allocators';
import { buildFixture } from './helpers/fixtures';
import { needCommand } from './helpers/requires';

interface MadeSymbol {
  name: string;
  value: number;
  size: number;
  type: number;
  defined: boolean;
}

/** A little-endian ELF file with one PT_LOAD segment and a dynamic symbol table (null symbol first, as linkers write). */
function elfFile(wide: boolean, symbols: MadeSymbol[]): Buffer {
  const headerSize = wide ? 64 : 52;
  const programSize = wide ? 56 : 32;
  const sectionSize = wide ? 64 : 40;
  const symbolSize = wide ? 24 : 16;
  const names = Buffer.from(`\0${symbols.map((symbol) => `${symbol.name}\0`).join('')}`);
  const table = Buffer.alloc(symbolSize * (symbols.length + 1));
  let nameAt = 1;
  symbols.forEach((symbol, index) => {
    const at = symbolSize * (index + 1);
    table.writeUInt32LE(nameAt, at);
    nameAt = nameAt + symbol.name.length + 1;
    const shndx = symbol.defined ? 7 : 0;
    if (wide) {
      table[at + 4] = 0x10 | symbol.type; // STB_GLOBAL
      table.writeUInt16LE(shndx, at + 6);
      table.writeBigUInt64LE(BigInt(symbol.value), at + 8);
      table.writeBigUInt64LE(BigInt(symbol.size), at + 16);
    } else {
      table.writeUInt32LE(symbol.value, at + 4);
      table.writeUInt32LE(symbol.size, at + 8);
      table[at + 12] = 0x10 | symbol.type;
      table.writeUInt16LE(shndx, at + 14);
    }
  });
  const programAt = headerSize;
  const namesAt = programAt + programSize;
  const tableAt = namesAt + names.length;
  const sectionsAt = tableAt + table.length;
  const file = Buffer.alloc(sectionsAt + 3 * sectionSize);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = wide ? 2 : 1;
  file[5] = 1; // little-endian
  file[6] = 1;
  const word = (value: number, at: number): void => {
    if (wide) file.writeBigUInt64LE(BigInt(value), at);
    else file.writeUInt32LE(value, at);
  };
  word(programAt, wide ? 32 : 28);
  word(sectionsAt, wide ? 40 : 32);
  file.writeUInt16LE(programSize, wide ? 54 : 42);
  file.writeUInt16LE(1, wide ? 56 : 44);
  file.writeUInt16LE(sectionSize, wide ? 58 : 46);
  file.writeUInt16LE(3, wide ? 60 : 48);
  // PT_LOAD: file offset 0x1000 mapped at 0x401000, 0x2000 bytes.
  file.writeUInt32LE(1, programAt);
  if (wide) {
    file.writeBigUInt64LE(0x1000n, programAt + 8);
    file.writeBigUInt64LE(0x401000n, programAt + 16);
    file.writeBigUInt64LE(0x2000n, programAt + 32);
  } else {
    file.writeUInt32LE(0x1000, programAt + 4);
    file.writeUInt32LE(0x401000, programAt + 8);
    file.writeUInt32LE(0x2000, programAt + 16);
  }
  names.copy(file, namesAt);
  table.copy(file, tableAt);
  const section = (index: number, type: number, offset: number, size: number, link: number): void => {
    const at = sectionsAt + index * sectionSize;
    file.writeUInt32LE(type, at + 4);
    if (wide) {
      file.writeBigUInt64LE(BigInt(offset), at + 24);
      file.writeBigUInt64LE(BigInt(size), at + 32);
      file.writeUInt32LE(link, at + 40);
    } else {
      file.writeUInt32LE(offset, at + 16);
      file.writeUInt32LE(size, at + 20);
      file.writeUInt32LE(link, at + 24);
    }
  };
  section(1, 11, tableAt, table.length, 2); // SHT_DYNSYM, its names in section 2
  section(2, 3, namesAt, names.length, 0); // SHT_STRTAB
  return file;
}

const SYMBOLS: MadeSymbol[] = [
  { name: 'madvise', value: 0, size: 0, type: 2, defined: false },
  { name: 'napi_register_module_v1', value: 0x401230, size: 0x40, type: 2, defined: true },
  { name: 'counter', value: 0x402000, size: 8, type: 1, defined: true },
];

describe('ELF files', () => {
  for (const wide of [false, true]) {
    it(`reads a ${wide ? '64' : '32'}-bit file's loadable segment and dynamic symbols, and which it imports`, () => {
      const file = elfFile(wide, SYMBOLS);
      const elf = readElf(bufferReader(file));
      expect(elf).to.not.equal(null);
      expect(elf?.loads).to.deep.equal([{ offset: 0x1000n, vaddr: 0x401000n, filesz: 0x2000n }]);
      const symbols = elf?.symbols('dynamic').filter((symbol) => symbol.name !== '');
      expect(symbols).to.deep.equal(SYMBOLS.map((symbol) => ({ ...symbol, value: BigInt(symbol.value), size: BigInt(symbol.size) })));
      expect(importsSymbol(file, 'madvise')).to.equal(true);
      expect(importsSymbol(file, 'madvis')).to.equal(false); // whole names only
      expect(importsSymbol(file, 'napi_register_module_v1')).to.equal(false); // defined there, not imported
    });
  }

  it('throws RangeError on a file cut short, and importsSymbol says false', () => {
    const file = elfFile(true, SYMBOLS);
    for (const length of [10, 40, 100, file.length - 1]) {
      expect(() => (readElf(bufferReader(file.subarray(0, length))) as Elf).symbols('dynamic'), `cut at ${length}`).to.throw(RangeError);
      expect(importsSymbol(file.subarray(0, length), 'madvise')).to.equal(false);
    }
  });

  it('is null for what is not a little-endian ELF file', () => {
    expect(readElf(bufferReader(Buffer.from('MZ, not ELF at all')))).to.equal(null);
    const bigEndian = elfFile(true, SYMBOLS);
    bigEndian[5] = 2;
    expect(readElf(bufferReader(bigEndian))).to.equal(null);
  });

  it('reads an addon built here as nm -D does: its imports and its exports', function () {
    if (process.platform !== 'linux') this.skip();
    needCommand(this, 'nm', 'binutils');
    const file = buildFixture('own_pages');
    const nm = (which: string): string[] =>
      execFileSync('nm', ['-D', which, '--without-symbol-versions', file], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/).pop() as string)
        .sort();
    const symbols = readElf(bufferReader(fs.readFileSync(file)))?.symbols('dynamic') ?? [];
    const names = (defined: boolean): string[] =>
      symbols.filter((symbol) => symbol.defined === defined && symbol.name !== '').map((symbol) => symbol.name).sort();
    expect(names(false)).to.include('madvise').and.to.deep.equal(nm('--undefined-only'));
    expect(names(true)).to.include('napi_register_module_v1').and.to.deep.equal(nm('--defined-only'));
  });
});
