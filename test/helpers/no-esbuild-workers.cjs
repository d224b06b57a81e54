// Loaded first by .mocharc.json, before tsx loads esbuild, which reads this once. esbuild's synchronous API (tsx
// compiles each .ts file with it, unless its cache has the file) otherwise runs in a worker thread of the suite's own
// process, started on the first file compiled: a thread beside the checks the suite runs in that process, which they
// count and warn of. With it at 0, esbuild compiles in a child process.
process.env.ESBUILD_WORKER_THREADS = '0';
