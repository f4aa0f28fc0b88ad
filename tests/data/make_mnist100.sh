#!/bin/sh
# Writes the test fixtures mnist100-{images-idx3,labels-idx1}-ubyte: the first 100 images and
# labels of /work/shared/data/mnist10k as standard IDX files (a new header with count 100, then
# the first 100 items' bytes unchanged), and checks with cmp that the data bytes equal the
# originals'. Run from the repository root: sh tests/data/make_mnist100.sh
set -eu
SRC=${1:-/work/shared/data/mnist10k}
D=tests/data
# IDX header: 00 00, type 08 (unsigned byte), ndim, then each dimension as a big-endian u32.
printf '\000\000\010\003\000\000\000\144\000\000\000\034\000\000\000\034' > $D/mnist100-images-idx3-ubyte
tail -c +17 "$SRC/mnist10k-images-idx3-ubyte" | head -c 78400 >> $D/mnist100-images-idx3-ubyte
printf '\000\000\010\001\000\000\000\144' > $D/mnist100-labels-idx1-ubyte
tail -c +9 "$SRC/mnist10k-labels-idx1-ubyte" | head -c 100 >> $D/mnist100-labels-idx1-ubyte
# The data bytes after each header must equal the first bytes of the originals after theirs.
cmp -n 78400 -i 16:16 $D/mnist100-images-idx3-ubyte "$SRC/mnist10k-images-idx3-ubyte"
cmp -n 100 -i 8:8 $D/mnist100-labels-idx1-ubyte "$SRC/mnist10k-labels-idx1-ubyte"
[ "$(wc -c < $D/mnist100-images-idx3-ubyte)" -eq 78416 ] && [ "$(wc -c < $D/mnist100-labels-idx1-ubyte)" -eq 108 ]
echo "fixtures written and checked"
