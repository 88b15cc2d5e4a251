#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for wattaudit and builds it.  Idempotent: packages already
# installed are not fetched again, and the build only rebuilds what changed.
#   scripts/setup.sh           packages to build and run, then a release build in build/
#   scripts/setup.sh --tests   also the packages the test suite needs (peers, fuzzers, npm)
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[[ ${1:-} == --tests ]] && want_tests=1

run_pkgs=(build-essential cmake pkg-config
          libmodbus-dev librrd-dev rrdtool rrdcached libgsl-dev libusb-1.0-0-dev
          libconfig-dev libcjson-dev libmicrohttpd-dev libsodium-dev libgnutls28-dev
          fonts-wqy-zenhei)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev mbpoll socat collectd-core nodejs npm
           umockdev libumockdev-dev nut-server nut-client prometheus-node-exporter prometheus
           libcurl4-openssl-dev openssl chromium wrk)

pkgs=("${run_pkgs[@]}")
((want_tests)) && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian on some images; what is on PATH will do.
if ((want_tests)) && command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=()
    for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
    missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ((want_tests)) && [[ -f tests/interop/package.json ]]; then
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if ((want_tests)) && [[ -f tests/dashboard/e2e/package.json ]]; then
    (cd tests/dashboard/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" --target wattaudit >/dev/null
echo "setup: built build/cli/wattaudit"
