/** The platform-arch-libc tuple prebuilds are named by, e.g. `linux-x64-glibc`. */
export function platformTuple(): string {
  const base = `${process.platform}-${process.arch}`;
  return process.platform === 'linux' ? `${base}-${linuxLibc()}` : base;
}

function linuxLibc(): 'glibc' | 'musl' {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/**
 * The runtime, when it has no V8: `Bun 1.4.5` (Bun runs JavaScriptCore behind Node's API, and names a V8 version in
 * process.versions all the same). Null under Node. A check collects V8's garbage and reads V8's heap; the probe's own
 * calls work without it.
 */
export function runtimeWithoutV8(): string | null {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `Bun ${versions.bun}`;
  return versions.v8 ? null : `a runtime without V8 (Node API ${versions.node ?? 'unknown'})`;
}
