// Addons with an allocator of their own (a linked libmimalloc, or mimalloc/jemalloc built into a Rust addon): their
// blocks never show in the C heap figures, so process memory is judged too, and a leak through them is caught.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { allocatorMarkers, importsSymbol } from '../lib/own-allocators';
import { buildFixture } from './helpers/fixtures';
import { platformTuple } from '../lib/platform';
import { IN_USER_NAMESPACE, QUIET_GLIBC_TUNABLES, QUIET_NODE_FLAGS, WITHOUT_PROC, lastJson, runCode, runJsonScript } from './helpers/child';
import { inCi, needFile, needNamespaces } from './helpers/requires';

describe('allocators of an addon’s own', function () {
  this.timeout(180_000);

  it('are recognised in an addon by the strings their code carries', () => {
    expect(allocatorMarkers(Buffer.from('\0mimalloc: warning: \0'))).to.deep.equal(['mimalloc']);
    expect(allocatorMarkers(Buffer.from('\0<jemalloc>: Invalid conf pair\0_RJEM_MALLOC_CONF\0'))).to.deep.equal(['jemalloc']);
    expect(allocatorMarkers(Buffer.from('\0plain addon, malloc only\0'))).to.deep.equal([]);
  });

  it('are recognised by what a release build keeps: snmalloc by its fatal message, not its macros', () => {
    // What a stripped release build of snmalloc's Rust entry points keeps (docs/benchmarks.md, "Allocators built in").
    expect(allocatorMarkers(Buffer.from('\0Failed to get time\0Failed to initialise snmalloc.\0'))).to.deep.equal(['snmalloc']);
    expect(allocatorMarkers(Buffer.from('\0rpmalloc_initialize\0rpmalloc_thread_initialize\0'))).to.deep.equal(['rpmalloc']);
  });

  // The same code, built as a library: what an addon that builds the allocator in carries.
  for (const [file, name, debianPackage] of [
    ['libmimalloc.so.2', 'mimalloc', 'libmimalloc2.0'],
    ['libjemalloc.so.2', 'jemalloc', 'libjemalloc2'],
    ['libtcmalloc_minimal.so.4', 'tcmalloc', 'libtcmalloc-minimal4'],
  ] as const) {
    it(`are recognised in ${name}'s own build (${file})`, function () {
      if (process.platform !== 'linux' || !platformTuple().endsWith('-glibc')) this.skip();
      const library = path.join(`/usr/lib/${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`, file);
      needFile(this, library, debianPackage);
      expect(allocatorMarkers(fs.readFileSync(library))).to.deep.equal([name]);
    });
  }

  it('are found built into a published Rust addon (@node-rs/xxhash, mimalloc), whose everyday call passes judged on uss', async function () {
    if (process.platform !== 'linux') this.skip();
    // Loaded in a child only: mapped into this process, it would make every check here judge uss.
    const result = await runJsonScript<{ unavailable?: string; verdict: string; judged: string[]; ownAllocators?: { name: string; object: string; how: string; judged: string }[] }>(
      path.join(__dirname, 'own-alloc-fixtures', 'rust-addon.ts'),
      { nodeFlags: QUIET_NODE_FLAGS, env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES }, timeoutMs: 170_000 },
    );
    if (result.unavailable !== undefined) {
      // a platform the package publishes no binary for
      if (inCi()) throw new Error(`@node-rs/xxhash did not load: ${result.unavailable}`);
      console.log(`      skipped: @node-rs/xxhash did not load (${result.unavailable})`);
      return this.skip();
    }
    expect(result.verdict).to.equal('clean');
    expect(result.judged).to.include('uss');
    const own = result.ownAllocators?.find(({ name }) => name === 'mimalloc');
    expect(own).to.include({ how: 'built in', judged: 'uss' });
    expect(path.basename(own!.object)).to.match(/^xxhash\..+\.node$/);
  });

  describe('with the own_pages fixture (2 MiB regions of its own, pages given back with madvise, no allocator named)', () => {
    const script = path.join(__dirname, 'own-alloc-fixtures', 'check.ts');

    before(function () {
      if (process.platform !== 'linux') this.skip();
    });

    it('an addon that imports madvise is told from one that does not, by its dynamic symbols', () => {
      const pages = fs.readFileSync(buildFixture('own_pages'));
      expect(importsSymbol(pages, 'madvise')).to.equal(true);
      expect(importsSymbol(pages, 'madvis')).to.equal(false); // whole names only
      expect(importsSymbol(pages, 'napi_register_module_v1')).to.equal(false); // defined there, not imported
      expect(importsSymbol(fs.readFileSync(buildFixture('leaks')), 'madvise')).to.equal(false);
      expect(importsSymbol(pages.subarray(0, 100), 'madvise')).to.equal(false); // cut short: no throw
      expect(importsSymbol(Buffer.from('MZ, not ELF'), 'madvise')).to.equal(false);
    });

    for (const quiet of [true, false]) {
      it(`a 1.2 KB/call leak from its regions is caught on process memory, the clean twin passes (${quiet ? 'quiet' : 'plain'} process)`, async () => {
        const result = await runJsonScript<Record<string, Record<string, unknown>>>(script, {
          nodeFlags: quiet ? QUIET_NODE_FLAGS : [],
          env: { GLIBC_TUNABLES: quiet ? QUIET_GLIBC_TUNABLES : undefined },
          args: ['pages'],
          timeoutMs: 170_000,
        });
        expect(result.clean.verdict).to.equal('clean');
        const [own] = result.clean.ownAllocators as { name: string; object: string; how: string; judged: string }[];
        expect(own).to.include({ name: 'unknown', how: 'pages', judged: 'uss' });
        expect(path.basename(own.object)).to.equal('own_pages.node');
        expect(result.leak.verdict).to.equal('leak');
        expect(result.leak.metric).to.equal('uss');
        expect(result.leak.bytesPerCall).to.be.within(1000, 2000);
        expect(result.leak.note).to.equal(
          'note: own_pages.node manages memory pages itself (it imports madvise), as allocators the C heap figures do not see do: uss judged as well',
        );
      });
    }
  });

  describe('with the own_pages fixture deleted once loaded (a rebuild under a watching test runner)', () => {
    const script = path.join(__dirname, 'own-alloc-fixtures', 'check.ts');

    before(function () {
      if (process.platform !== 'linux') this.skip();
    });

    it('is still found: read through /proc/self/map_files where the process may, else as an addon that could not be read', async function () {
      needNamespaces(this, IN_USER_NAMESPACE);
      const listed = await runJsonScript<{ name: string; object: string; how: string }[]>(script, { args: ['gone', 'list'] });
      expect(listed).to.have.length(1);
      expect(listed[0].how).to.be.oneOf(['pages', 'gone']);
      const unreadable = await runJsonScript<{ how: string }[]>(script, { args: ['gone', 'list'], launcher: IN_USER_NAMESPACE });
      expect(unreadable).to.have.length(1);
      expect(unreadable[0]).to.include({ name: 'unknown', how: 'gone' });
    });

    it('where it cannot be read, a 1.2 KB/call leak from its regions is caught on process memory, the clean twin passes', async function () {
      needNamespaces(this, IN_USER_NAMESPACE);
      const result = await runJsonScript<Record<string, Record<string, unknown>>>(script, {
        nodeFlags: QUIET_NODE_FLAGS,
        env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES },
        args: ['gone'],
        launcher: IN_USER_NAMESPACE,
        timeoutMs: 170_000,
      });
      expect(result.clean.verdict).to.equal('clean');
      expect(result.clean.ownAllocators).to.have.length(1);
      expect((result.clean.ownAllocators as Record<string, unknown>[])[0]).to.include({ name: 'unknown', how: 'gone', judged: 'uss' });
      expect(result.leak.verdict).to.equal('leak');
      expect(result.leak.metric).to.equal('uss');
      expect(result.leak.bytesPerCall).to.be.within(1000, 2000);
      expect(result.leak.note).to.match(/^note: own_pages\.node was deleted or replaced on disk after it was loaded, .*\(restart the process to load the file as it is now\): uss judged as well$/);
    });
  });

  describe('with the own_alloc fixture (mi_malloc from Debian’s libmimalloc, never malloc)', () => {
    const script = path.join(__dirname, 'own-alloc-fixtures', 'check.ts');

    before(function () {
      if (process.platform !== 'linux') this.skip();
      needFile(this, '/usr/include/mimalloc.h', 'libmimalloc-dev');
    });

    it('finds the linked mimalloc, and not the allocator the C heap figures read', async () => {
      const listed = await runJsonScript<Record<string, { name: string; how: string }[]>>(script, { args: ['list'] });
      expect(listed.asGlibc.map(({ name, how }) => `${name} ${how}`)).to.include('mimalloc linked');
      expect(listed.asMimalloc.filter((own) => own.name === 'mimalloc')).to.deep.equal([]);
    });

    it('lists the loaded objects through the probe (as on macOS and Windows), so a Linux without /proc finds it too', async function () {
      const code = `
        require(${JSON.stringify(buildFixture('own_alloc'))});
        console.log(JSON.stringify(require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'probe.ts'))}).loadedObjects()));`;
      const loaded = lastJson(await runCode(code)) as string[];
      expect(loaded.map((file) => path.basename(file))).to.include.members(['own_alloc.node', 'libmimalloc.so.2', 'nodeleak.node']);
      expect(loaded.every((file) => path.isAbsolute(file))).to.equal(true);
      needNamespaces(this, WITHOUT_PROC);
      const listed = await runJsonScript<Record<string, { name: string; how: string; object: string }[]>>(script, { args: ['list'], launcher: WITHOUT_PROC });
      expect(listed.asGlibc.map(({ name, how, object }) => `${name} ${how} ${path.basename(object)}`)).to.deep.equal(['mimalloc linked libmimalloc.so.2']);
    });

    for (const quiet of [true, false]) {
      it(`a 1.2 KB/call leak through mi_malloc is caught on process memory, the clean twin passes (${quiet ? 'quiet' : 'plain'} process)`, async () => {
        const result = await runJsonScript<Record<string, Record<string, unknown>>>(script, {
          nodeFlags: quiet ? QUIET_NODE_FLAGS : [],
          env: { GLIBC_TUNABLES: quiet ? QUIET_GLIBC_TUNABLES : undefined },
          timeoutMs: 170_000,
        });
        expect(result.clean.verdict).to.equal('clean');
        expect(result.clean.judged).to.include('uss');
        const [own] = result.clean.ownAllocators as { name: string; object: string; how: string; judged: string }[];
        expect(own).to.include({ name: 'mimalloc', how: 'linked', judged: 'uss' });
        expect(path.basename(own.object)).to.match(/^libmimalloc\.so/);
        expect(result.leak.verdict).to.equal('leak');
        expect(result.leak.metric).to.equal('uss');
        expect(result.leak.bytesPerCall).to.be.within(1000, 2000);
        expect(result.leak.note).to.match(/^note: libmimalloc\.so[\d.]* is mimalloc, an allocator the C heap figures do not see: uss judged as well$/);
      });
    }

    for (const checkers of ['resources and memory', 'memory']) {
      it(`an addon the function's first call loads counts, without warm-up (checkers: ${checkers})`, async () => {
        const result = await runJsonScript<{ judged: string[]; ownAllocators?: { name: string; judged: string }[] }>(script, {
          nodeFlags: QUIET_NODE_FLAGS,
          env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES },
          args: ['lazy', checkers === 'memory' ? 'memory' : 'all'],
          timeoutMs: 170_000,
        });
        expect(result.ownAllocators?.map(({ name, judged }) => `${name} ${judged}`)).to.deep.equal(['mimalloc uss']);
        expect(result.judged).to.include('uss');
      });
    }

    it('with the metrics named, process memory is not added, and the report says the allocator was not judged', async () => {
      const result = await runJsonScript<Record<string, Record<string, unknown>>>(script, {
        nodeFlags: QUIET_NODE_FLAGS,
        env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES },
        args: ['named'],
        timeoutMs: 170_000,
      });
      expect(result.leak.verdict).to.equal('clean'); // the C heap does not see mi_malloc: only the user's choice of metrics hides it
      expect(result.leak.judged).to.deep.equal(['heap', 'v8heap']);
      expect((result.leak.ownAllocators as { judged: unknown }[])[0].judged).to.equal(null);
    });

    it('with uss among the metrics named, it is judged at the floor such allocators need, and the report says so', async () => {
      const result = await runJsonScript<Record<string, Record<string, unknown>>>(script, {
        nodeFlags: QUIET_NODE_FLAGS,
        env: { GLIBC_TUNABLES: QUIET_GLIBC_TUNABLES },
        args: ['named-uss'],
        timeoutMs: 170_000,
      });
      expect(result.clean.verdict).to.equal('clean');
      expect(result.clean.judged).to.deep.equal(['heap', 'v8heap', 'uss']);
      expect((result.clean.noise as Record<string, number>).uss).to.equal(4 * 1024 * 1024);
      expect((result.clean.ownAllocators as { name: string; judged: unknown }[]).map(({ name, judged }) => `${name} ${judged}`)).to.deep.equal(['mimalloc uss']);
      expect(result.leak.verdict).to.equal('leak');
      expect(result.leak.metric).to.equal('uss');
      expect(result.leak.note).to.match(/: uss judged as well$/);
    });
  });
});
