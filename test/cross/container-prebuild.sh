#!/bin/sh
# Run by release.yml inside the Linux build containers, in the repository with
# node_modules already installed: AlmaLinux 8 (glibc 2.28, so the binary runs
# on every glibc >= 2.28) or Alpine (musl). Usage: container-prebuild.sh <node version>
set -eu
if command -v apk >/dev/null; then
  apk add --no-cache build-base python3
else
  dnf -y -q module enable nodejs:20
  dnf -y -q install nodejs npm gcc-c++ make python3.11 binutils
  export PYTHON=python3.11
fi
npx prebuildify --napi --strip --tag-libc --target "node@$1"
# A glibc binary must not need symbols newer than the container's glibc.
for binary in prebuilds/*/*.glibc.node; do
  [ -e "$binary" ] || continue
  newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k2,2n -k3,3n | tail -n 1)
  echo "$binary needs $newest"
  case "$newest" in
    GLIBC_2.[0-9] | GLIBC_2.[0-9].* | GLIBC_2.1[0-9] | GLIBC_2.1[0-9].* | GLIBC_2.2[0-8] | GLIBC_2.2[0-8].*) ;;
    *) echo "$binary needs $newest, newer than glibc 2.28" >&2; exit 1 ;;
  esac
done
