#!/bin/sh
# bench/quadratic.sh - the quadratic-curve demo against its PyTorch port, side by side.
#
# 0. Fidelity (when PyTorch is installed): bench/quadratic_dump.c writes gan.h's initial weights,
#    batches and per-update losses for 30 iterations; the port replays them and must agree.
# 1. Speed: the default 10,001-iteration run of examples/quadratic.c built with -O2 (portable
#    kernels, build/quadratic-portable) and -O2 -march=native (build/quadratic-native, as `make`)
#    and of bench/quadratic_torch.py (one thread), one after the other in this one run.
#    Prints each one's wall time (whole process) and training-loop time, and the ratios.
#    The PyTorch part is skipped, with a message, when python3-torch is not installed.
# 2. Quality: build/quadratic-native --quality 5 (seeds 1-5, default settings); skip with QUALITY=0.
#
# Usage: sh bench/quadratic.sh [extra flags for both programs, e.g. --iterations 2001]
# Environment: CC (default cc), PYTHON (default /usr/bin/python3), QUALITY (1).
set -u
cd "$(dirname "$0")/.."
CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
QUALITY=${QUALITY:-1}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p build out/bench-quadratic
WARN="-std=c99 -Wall -Wextra -pedantic"
$CC -O2 $WARN -o build/quadratic-portable examples/quadratic.c -lm || exit 1
$CC -O2 -march=native $WARN -o build/quadratic-native examples/quadratic.c -lm || exit 1
$CC -O2 $WARN -o build/quadratic_dump bench/quadratic_dump.c -lm || exit 1

now() { date +%s.%N; }
# Runs a command, keeps its output in a log, prints its wall time in seconds.
timed() { # log, command...
    log=$1; shift
    t0=$(now)
    "$@" >"$log" 2>&1 || { echo "FAILED: $*" >&2; cat "$log" >&2; exit 1; }
    t1=$(now)
    echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }'
}
# The "trained in X s" figure a program printed.
loop_time() { sed -n 's/.*trained in \([0-9.]*\) s.*/\1/p' "$1" | head -n 1; }

if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    ./build/quadratic_dump --out out/bench-quadratic/dump.txt >/dev/null &&
        "$PYTHON" bench/quadratic_torch.py --crosscheck out/bench-quadratic/dump.txt ||
        { echo "the PyTorch port does not compute what gan.h computes: its timing would mean nothing"; exit 1; }
fi
echo "quadratic demo, speed: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores, CC=$CC $($CC --version | head -n 1)"
echo "flags for both programs: ${*:-(defaults: 10,001 iterations, batch 256, 10 D + 10 G updates)}"
L=out/bench-quadratic
c_wall=$(timed $L/c-O2.log ./build/quadratic-portable --out $L/c-O2 --progress 100000000 "$@")
n_wall=$(timed $L/c-native.log ./build/quadratic-native --out $L/c-native --progress 100000000 "$@")
c_loop=$(loop_time $L/c-O2.log)
n_loop=$(loop_time $L/c-native.log)
printf '%-40s %10s %10s\n' "program" "wall (s)" "loop (s)"
printf '%-40s %10s %10s\n' "gan.h, cc -O2" "$c_wall" "$c_loop"
printf '%-40s %10s %10s\n' "gan.h, cc -O2 -march=native" "$n_wall" "$n_loop"
if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    t_wall=$(timed $L/torch.log "$PYTHON" bench/quadratic_torch.py "$@")
    t_loop=$(loop_time $L/torch.log)
    printf '%-40s %10s %10s\n' "PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)'), 1 thread" "$t_wall" "$t_loop"
    echo "$t_wall $c_wall $n_wall $t_loop $c_loop $n_loop" | awk '{
        printf "PyTorch / gan.h -O2:                 %.1fx wall, %.1fx training loop\n", $1 / $2, $4 / $5
        printf "PyTorch / gan.h -O2 -march=native:   %.1fx wall, %.1fx training loop\n", $1 / $3, $4 / $6 }'
    echo "PyTorch port's own quality figures: $(grep '^quality' $L/torch.log)"
else
    echo "PyTorch: skipped ($PYTHON cannot import torch; install python3-torch to compare)"
fi

if [ "$QUALITY" != 0 ]; then
    echo
    echo "quadratic demo, quality over 5 seeds (build/quadratic-native --quality 5 $*):"
    ./build/quadratic-native --quality 5 "$@"
fi
