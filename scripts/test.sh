#!/usr/bin/env bash
# Runs every test: the unit and integration suites under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), then each libFuzzer target briefly on its corpus
# (build-fuzz/, clang).  Servers the tests need (simulator, rrdcached, node peers, mbpoll's
# counterpart) are started and stopped by the tests themselves, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWA_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DWA_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$jobs"
