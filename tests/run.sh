#!/bin/sh
# Runs the whole test suite: every test program built normally and under AddressSanitizer +
# UndefinedBehaviorSanitizer, then the build checks (gcc and clang at -Werror, C++, two
# translation units, GAN_STATIC, GAN_NO_STDIO). Ends with "N passed, N failed"; exits
# non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
CC=${CC:-cc}
OUT=build/tests
rm -rf "$OUT"   # nothing from an earlier run (a binary whose build failed, a demo's output) may count
mkdir -p "$OUT"
WARN="-std=c99 -Wall -Wextra -pedantic -Werror"
# Every tests/test_*.c is a test program.
TESTS=$(cd tests && ls test_*.c | sed 's/\.c$//')
passed=0
failed=0

skipped=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1"; }   # a check this machine cannot run

# A build or compile check counts as one test.
build() { # name, command...
    name=$1; shift
    if "$@" >"$OUT/$name.log" 2>&1; then pass; else fail "$name"; cat "$OUT/$name.log"; fi
}

# A test program adds its own counts; a crash, a non-zero exit or a hang (15 minutes, where
# coreutils' timeout is installed) counts as one more failure.
LIMIT=
command -v timeout >/dev/null 2>&1 && LIMIT="timeout 900"
run() { # label, command...
    label=$1; shift
    $LIMIT "$@" >"$OUT/$label.out" 2>&1
    rc=$?
    grep -v '^[0-9]* passed, [0-9]* failed$' "$OUT/$label.out" | grep '^FAIL' | sed "s|^|[$label] |"
    line=$(grep '^[0-9]* passed, [0-9]* failed$' "$OUT/$label.out" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
        fail "$label: exited with status $rc"; tail -n 20 "$OUT/$label.out"
    fi
    echo "$label: ${line:-no summary}"
}

SAN="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
for t in $TESTS; do
    build "$t" $CC -O2 $WARN -Itests -o "$OUT/$t" "tests/$t.c" -lm -lpthread && run "$t" "$OUT/$t"
    build "$t-asan" $CC $SAN $WARN -Itests -o "$OUT/$t-asan" "tests/$t.c" -lm -lpthread &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run "$t (asan+ubsan)" "$OUT/$t-asan"
done

# The plain C build (GAN_NO_SIMD: the reference loops, one thread, no joint pass): gradients,
# optimizers, checkpoints and the limits on the readable path.
for t in test_core test_limits; do
    build "$t-plain" $CC -O2 -DGAN_NO_SIMD $WARN -Itests -o "$OUT/$t-plain" "tests/$t.c" -lm -lpthread &&
        run "$t (GAN_NO_SIMD)" "$OUT/$t-plain"
done

# Test programs for another processor, built by its cross compiler and run under qemu's
# user-mode emulation, when both are installed (.ci/run installs them).
cross() { # compiler, emulator, name suffix, label, tests...
    xcc=$1 emu=$2 suffix=$3 what=$4; shift 4
    if ! command -v "$xcc" >/dev/null 2>&1 || ! command -v "$emu" >/dev/null 2>&1; then
        skip "$what: $xcc or $emu not installed"; return
    fi
    for t in "$@"; do
        build "$t-$suffix" "$xcc" -O2 -static $WARN -Itests -o "$OUT/$t-$suffix" "tests/$t.c" -lm -lpthread &&
            run "$t ($what)" "$emu" "$OUT/$t-$suffix"
    done
}

# A 32-bit build, where size_t has 32 bits: ARM (armhf). (Debian's gcc-multilib, for -m32,
# cannot be installed beside the aarch64 cross compiler below.)
cross arm-linux-gnueabihf-gcc qemu-arm armhf "32-bit ARM, qemu-arm" test_core test_limits

# The fast kernels on plain C arrays of 4 floats, the fallback where no vector unit is known;
# on x86-64 the builds above run SSE2.
build "test_kernels-portable" $CC -O2 -DGAN_PORTABLE_VECTORS $WARN -Itests -o "$OUT/test_kernels-portable" tests/test_kernels.c -lm -lpthread &&
    run "test_kernels (GAN_PORTABLE_VECTORS)" "$OUT/test_kernels-portable"

# The fast kernels as the machine's vector unit runs them (AVX-512 / AVX2 / NEON), when the
# compiler can target it; the core tests too, as the optimizers' scalar tails are longest at
# the widest vectors.
if $CC -march=native -E -x c /dev/null >/dev/null 2>&1; then
    build "test_core-native" $CC -O2 -march=native $WARN -Itests -o "$OUT/test_core-native" tests/test_core.c -lm -lpthread &&
        run "test_core (-march=native)" "$OUT/test_core-native"
    build "test_kernels-native" $CC -O2 -march=native $WARN -Itests -o "$OUT/test_kernels-native" tests/test_kernels.c -lm -lpthread &&
        run "test_kernels (-march=native)" "$OUT/test_kernels-native"
    build "test_kernels-native-asan" $CC $SAN -march=native $WARN -Itests -o "$OUT/test_kernels-native-asan" tests/test_kernels.c -lm -lpthread &&
        ASAN_OPTIONS=detect_leaks=1 run "test_kernels (-march=native, asan+ubsan)" "$OUT/test_kernels-native-asan"
else
    skip "test_kernels -march=native: $CC cannot target the native machine"
fi

# The AVX2 kernels, which -march=native does not choose where the machine has AVX-512.
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && grep -qw avx512f /proc/cpuinfo &&
    $CC -mavx2 -mfma -E -x c /dev/null >/dev/null 2>&1; then
    build "test_kernels-avx2" $CC -O2 -mavx2 -mfma $WARN -Itests -o "$OUT/test_kernels-avx2" tests/test_kernels.c -lm -lpthread &&
        run "test_kernels (-mavx2 -mfma)" "$OUT/test_kernels-avx2"
fi

# The NEON kernels on an x86-64 machine: the kernels against the reference loops, and the
# core tests (gradients, optimizers, checkpoints) on that path. (On an aarch64 machine the
# -march=native builds above run them.)
[ "$(uname -m)" != aarch64 ] &&
    cross aarch64-linux-gnu-gcc qemu-aarch64 neon "NEON, qemu-aarch64" test_kernels test_core

# The header, every example and every benchmark program at -Werror with each compiler present.
for cc in gcc clang; do
    if ! command -v $cc >/dev/null 2>&1; then skip "$cc: not installed"; continue; fi
    for src in examples/*.c bench/*.c tests/two_tu_a.c; do
        build "$cc-$(basename "$src" .c)" $cc $WARN -O2 -c -o "$OUT/$cc-$(basename "$src" .c).o" "$src"
    done
done
if command -v g++ >/dev/null 2>&1; then
    build "c++" g++ -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -c -o "$OUT/cxx.o" tests/two_tu_a.c
else
    skip "c++: g++ not installed"
fi
build "two-translation-units" $CC $WARN -o "$OUT/two_tu" tests/two_tu_a.c tests/two_tu_b.c -lm
[ -x "$OUT/two_tu" ] && run "two-translation-units" "$OUT/two_tu"
build "static" $CC $WARN -DGAN_STATIC -Wno-unused-function -c -o "$OUT/static.o" tests/two_tu_a.c
build "no-stdio" $CC $WARN -O2 -DGAN_NO_STDIO -c -o "$OUT/nostdio.o" tests/two_tu_a.c

# The MNIST demo end to end (train, sample, score), only where the shared digits are.
if [ -d ../shared/data/mnist10k ]; then
    build "mnist-e2e" sh tests/mnist_e2e.sh
else
    skip "mnist e2e: ../shared/data/mnist10k not found"
fi

[ "$skipped" -gt 0 ] && echo "$skipped skipped (the SKIP lines above say why)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
