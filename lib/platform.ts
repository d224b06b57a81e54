/** The platform-arch-libc tuple prebuilds are named by, e.g. `linux-x64-glibc`. */
export function platformTuple(): string {
  const base = `${process.platform}-${process.arch}`;
  return process.platform === 'linux' ? `${base}-${linuxLibc()}` : base;
}

function linuxLibc(): 'glibc' | 'musl' {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}
