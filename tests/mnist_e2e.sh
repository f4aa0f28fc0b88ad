#!/bin/sh
# The MNIST demo end to end on the shared 10,000 digits (tests/run.sh calls this only when
# ../shared/data/mnist10k exists): one short epoch of training (the first 3,200 digits, 50
# steps, to keep the suite fast at the portable kernels' speed), sampling, and scoring
# against all 10,000 digits; the training again on one thread, which must give the same
# checkpoint bits as on two. Exits non-zero, saying why, if a step fails or its output lacks
# what it must show.
set -u
cd "$(dirname "$0")/.."
CC=${CC:-cc}
DATA=../shared/data/mnist10k
OUT=build/tests/mnist-e2e
rm -rf "$OUT"
mkdir -p "$OUT"
fail() { echo "mnist e2e: $1"; exit 1; }

$CC -O2 -std=c99 -Wall -Wextra -pedantic -Werror -DGAN_THREADS -o "$OUT/mnist" examples/mnist.c -lm -lpthread ||
    fail "build failed"

"$OUT/mnist" train --images $DATA/mnist10k-images-idx3-ubyte --labels $DATA/mnist10k-labels-idx1-ubyte \
    --out "$OUT/run" --epochs 1 --limit 3200 --log-every 25 --threads 2 >"$OUT/train.log" 2>&1 ||
    { cat "$OUT/train.log"; fail "mnist train exited with status $?"; }
cat "$OUT/train.log"
"$OUT/mnist" train --images $DATA/mnist10k-images-idx3-ubyte --out "$OUT/run1" --epochs 1 --limit 3200 \
    --log-every 0 --threads 1 || fail "mnist train --threads 1 exited with status $?"
cmp -s "$OUT/run/checkpoint.gan" "$OUT/run1/checkpoint.gan" || fail "two threads and one gave different checkpoints"
grep -q '^epoch   1/1  step     50/50  D loss [0-9.]*  G loss [0-9.]*  D(x) 0\.[0-9]*  D(G(z)) 0\.[0-9]*' "$OUT/train.log" ||
    fail "no progress line for step 50/50"
for f in samples-epoch-001.png checkpoint.gan generator.gan losses.csv losses.svg options.txt; do
    [ -s "$OUT/run/$f" ] || fail "train wrote no $f"
done
[ "$(wc -l <"$OUT/run/losses.csv")" -eq 51 ] || fail "losses.csv should hold a header and 50 rows"

"$OUT/mnist" sample --model "$OUT/run/generator.gan" --n 2000 --out "$OUT/gen-idx3-ubyte" --grid "$OUT/gen.png" ||
    fail "mnist sample exited with status $?"
[ "$(wc -c <"$OUT/gen-idx3-ubyte")" -eq $((16 + 2000 * 784)) ] || fail "sample file has the wrong size"

"$OUT/mnist" score --images $DATA/mnist10k-images-idx3-ubyte --gen "$OUT/gen-idx3-ubyte" \
    --classifier "$OUT/classifier.gan" >"$OUT/score.log" 2>&1 ||
    { cat "$OUT/score.log"; fail "mnist score exited with status $?"; }
cat "$OUT/score.log"
grep -q 'correct on the 1000 held-out digits' "$OUT/score.log" || fail "no classifier accuracy"
grep -q '^generated vs real  *[0-9.]*  ' "$OUT/score.log" || fail "no Frechet distance"
grep -q '^real vs real (the floor)  *[0-9.]*  ' "$OUT/score.log" || fail "no real-vs-real floor"
grep -q '^smallest class: ' "$OUT/score.log" || fail "no class histogram"
# The figures themselves: the classifier learns digits (95% on these), two halves of the real
# digits are close (FD about 1.3, IS about 9.5), and 50 steps of training are far from them.
awk '/correct on the 1000 held-out digits/ { sub("%", "", $2); ok = $2 >= 90 } END { exit !ok }' "$OUT/score.log" ||
    fail "the classifier scores below 90% on held-out digits"
awk '/^real vs real/ { ok = $6 < 5 && $7 > 8 } END { exit !ok }' "$OUT/score.log" ||
    fail "real-vs-real floor: FD not below 5 or real IS not above 8"
awk '/^generated vs real/ { g = $4 } /^real vs real/ { r = $6 } END { exit !(g > 10 * r && g < 1e6) }' "$OUT/score.log" ||
    fail "generated-vs-real FD is not far above the floor (or not finite)"
echo "mnist e2e: ok"
