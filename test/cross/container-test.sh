#!/bin/sh
# Run by release.yml inside a Linux test container that has Node but no C
# compiler: the prebuilt probe must load and work from prebuilds/ alone.
# Usage: container-test.sh <expected allocator | none>
set -eu
if ! command -v node >/dev/null; then
  dnf -y -q module enable nodejs:20
  dnf -y -q install nodejs npm
fi
for compiler in cc gcc c++ g++ clang make; do
  if command -v "$compiler" >/dev/null; then echo "this test container must have no $compiler" >&2; exit 1; fi
done
[ ! -e build ] || { echo "build/ must not exist: the probe has to come from prebuilds/" >&2; exit 1; }
node --expose-gc --single-threaded test/cross/probe-check.js "$PWD" "$1"
