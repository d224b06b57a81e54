// Debian's allocator libraries that specs and benches preload, and the packages that install them.
import path from 'node:path';

const LIB_DIR = `/usr/lib/${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`;

export const JEMALLOC = { library: path.join(LIB_DIR, 'libjemalloc.so.2'), debianPackage: 'libjemalloc2' };
export const TCMALLOC = { library: path.join(LIB_DIR, 'libtcmalloc_minimal.so.4'), debianPackage: 'libtcmalloc-minimal4' };
export const MIMALLOC = { library: path.join(LIB_DIR, 'libmimalloc.so.2'), debianPackage: 'libmimalloc2.0' };
