#!/bin/sh
# bench/mnist_speed.sh - the MNIST demo's training throughput against the PyTorch reference,
# side by side: build/mnist train (gan.py settings, batch 64) and bench/mnist_torch.py (the
# same model, loss and optimiser in PyTorch), one thread each, taking turns for ROUNDS rounds
# of EPOCHS epochs, so that both see the same machine. Prints each run's steps per second and
# the median ratios. gan.h's training loop is timed as PyTorch's is (its "training alone" rate,
# the ratio the target is about), and also with its per-epoch saving (sample grid, loss curve,
# checkpoint and export written), which the PyTorch reference does not do.
#
# Usage: sh bench/mnist_speed.sh
# Environment: IMAGES (default ../shared/data/mnist10k/mnist10k-images-idx3-ubyte), EPOCHS (2),
#              ROUNDS (3), PYTHON (/usr/bin/python3), THREADS (gan.h's, default 1). PyTorch runs
#              with OPENBLAS_NUM_THREADS=1;
#              OPENBLAS_CORETYPE is passed through as set (SkylakeX selects OpenBLAS's AVX-512 kernels).
set -u
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-../shared/data/mnist10k/mnist10k-images-idx3-ubyte}
EPOCHS=${EPOCHS:-2}
ROUNDS=${ROUNDS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-1}
OUT=out/bench-mnist
if [ ! -f "$IMAGES" ]; then echo "mnist_speed: skipped: no $IMAGES (set IMAGES=, see README)"; exit 0; fi
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    echo "mnist_speed: skipped: $PYTHON has no torch (Debian: apt-get install python3-torch)"; exit 0
fi
make -s build/mnist || exit 1
mkdir -p $OUT
echo "MNIST demo speed: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $EPOCHS epochs of $IMAGES per run," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, gan.h on $THREADS thread(s), PyTorch on 1"
printf '%-6s %16s %16s %14s %8s %14s\n' round "gan.h training" "gan.h + saving" "torch steps/s" ratio \
       "ratio + saving"
ratios=""
ratios_saving=""
r=1
while [ $r -le "$ROUNDS" ]; do
    rm -rf $OUT/c    # a fresh run each round (mnist train will not start one over another)
    line=$(./build/mnist train --images "$IMAGES" --out $OUT/c --epochs "$EPOCHS" --threads "$THREADS" \
        --log-every 100000 | grep 'done,')
    c=$(echo "$line" | sed -n 's/.*; \([0-9.]*\) steps\/s training alone.*/\1/p')
    cs=$(echo "$line" | sed -n 's/.*(\([0-9.]*\) steps\/s, saving included.*/\1/p')
    t=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PYTHON" bench/mnist_torch.py --images "$IMAGES" --out $OUT/t \
        --epochs "$EPOCHS" --n 100 --log-every 100000 | sed -n 's/.*: \([0-9.]*\) steps\/s.*/\1/p')
    if [ -z "$c" ] || [ -z "$cs" ] || [ -z "$t" ]; then echo "mnist_speed: a run failed (gan.h '$c' '$cs', torch '$t')"; exit 1; fi
    ratio=$(echo "$c $t" | awk '{ printf "%.2f", $1 / $2 }')
    ratio_saving=$(echo "$cs $t" | awk '{ printf "%.2f", $1 / $2 }')
    printf '%-6s %16s %16s %14s %7sx %13sx\n' $r "$c" "$cs" "$t" "$ratio" "$ratio_saving"
    ratios="$ratios $ratio"
    ratios_saving="$ratios_saving $ratio_saving"
    r=$((r + 1))
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'; }
echo "median ratio $(echo "$ratios" | median)x, with gan.h's saving $(echo "$ratios_saving" | median)x"
