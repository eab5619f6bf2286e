#!/usr/bin/env bash
# Run here, before a session's first call to the GPU machine: downloads into .gpu-deps/ (ignored by
# git) the Debian 12 packages that loralab builds with and the GPU machine lacks. That machine has
# nvcc, CMake, ninja and a C++ compiler, but none of these libraries, and it can reach no package
# registry (/work/.library/device/KINDS.md). scripts/gpu-check.sh unpacks them there, into /tmp,
# never into /. About 15 MB; the call carries them:
#
#   scripts/gpu-deps.sh        # here, once
#   device run: command "scripts/gpu-check.sh", carry [".gpu-deps"], timeout_s 540
set -euo pipefail
cd "$(dirname "$0")/.."

# The headers and CMake files of what CMakeLists.txt finds, the shared libraries the programs load,
# and pkgconf (bench/ and data/ ask pkg-config for OpenBLAS and PCRE2).
packages=(
  libfmt-dev libfmt9 nlohmann-json3-dev libcli11-dev catch2
  libbenchmark-dev libbenchmark1debian
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0
  libpcre2-dev libpcre2-8-0
  pkgconf-bin libpkgconf3
)
command -v apt-get >/dev/null || { echo "gpu-deps: needs apt-get (a Debian 12 machine, like the development one)" >&2; exit 1; }
rm -rf .gpu-deps
mkdir -p .gpu-deps
cd .gpu-deps
# apt-get download works as any user; as root it warns that _apt cannot write here, which is harmless.
if ! apt-get download "${packages[@]}" 2> >(grep -v 'unsandboxed as root' >&2); then
  echo "gpu-deps: apt-get download failed; run 'apt-get update' (as root) and try again" >&2
  exit 1
fi
echo "gpu-deps: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1), in .gpu-deps/"
