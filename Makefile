# gan.h - build the examples, run the demo, the tests and the benchmarks.
#   make demo              build and run the main demo (the quadratic curve, into out/quadratic/)
#   make test              the whole test suite (tests/run.sh): ends with "N passed, N failed"
#   make bench             benchmark programs that print figures
#   make bench-quadratic   the quadratic demo against its PyTorch port, then its quality over 5 seeds
#   make bench-mnist       the MNIST demo's training speed against the PyTorch reference, side by side
#   make mnist-data        fetch the four MNIST files into data/mnist/ (needs curl and a network)
CC      ?= cc
CFLAGS  ?= -O2 -std=c99 -Wall -Wextra -pedantic
LDLIBS  = -lm
BUILD   = build
# The examples are built for this machine's vector unit: with -march=native gan.h picks its
# AVX-512 / AVX2+FMA / NEON kernels (the quadratic demo trains in 5.3 s instead of 19.5 s with
# the SSE2 kernels of a plain x86-64 build). `make NATIVE=` builds for any CPU of the kind.
NATIVE  ?= -march=native

EXAMPLES = $(BUILD)/gaussian $(BUILD)/quadratic $(BUILD)/mnist

all: $(EXAMPLES)

$(BUILD)/%: examples/%.c gan.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(NATIVE) $(THREADS) -o $@ $< $(LDLIBS)

$(BUILD)/quadratic: examples/quadratic.h examples/plot.h

demo: $(BUILD)/quadratic
	./$(BUILD)/quadratic

# The MNIST demo can share each training step among the processors (`mnist train --threads`).
$(BUILD)/mnist: examples/plot.h
$(BUILD)/mnist: THREADS = -DGAN_THREADS
$(BUILD)/mnist: LDLIBS += -lpthread

# The MNIST files, from a public mirror; nothing else in the build downloads anything.
MNIST_MIRROR ?= https://storage.googleapis.com/cvdf-datasets/mnist
MNIST_FILES = train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
mnist-data:
	@command -v curl >/dev/null 2>&1 || { echo "make mnist-data: curl is not installed; put the MNIST IDX files into data/mnist/ by hand (see README)" >&2; exit 1; }
	@mkdir -p data/mnist
	@for f in $(MNIST_FILES); do \
	    if [ -s data/mnist/$$f ]; then echo "data/mnist/$$f is there"; continue; fi; \
	    echo "fetching $(MNIST_MIRROR)/$$f.gz"; \
	    if curl -fsSL --retry 2 --connect-timeout 15 -o data/mnist/$$f.gz $(MNIST_MIRROR)/$$f.gz && gunzip -f data/mnist/$$f.gz; then :; else \
	        rm -f data/mnist/$$f.gz; \
	        echo "make mnist-data: could not fetch $$f.gz from $(MNIST_MIRROR) (no network?)." >&2; \
	        echo "  Put the four MNIST IDX files (gunzipped) into data/mnist/ by hand, or give any IDX files to mnist --images (README)." >&2; \
	        exit 1; \
	    fi; \
	done

test:
	CC=$(CC) sh tests/run.sh

# The benchmark targets this machine's vector unit (-march=native: AVX-512 / AVX2 / NEON
# kernels; without it gan.h falls back to blocked portable C) and has GAN_THREADS, so it can
# also time case 2 on two threads. It runs PyTorch beside gan.h when /usr/bin/python3 has
# torch, with Debian's OpenBLAS if installed (libopenblas0-pthread).
BENCH_CFLAGS = -O2 -march=native -std=c99 -Wall -Wextra -pedantic -DGAN_THREADS
OPENBLAS_DIR = /usr/lib/x86_64-linux-gnu/openblas-pthread
BENCH_TORCH  = $(shell /usr/bin/python3 -c "import torch" >/dev/null 2>&1 && echo --torch bench/torch_bench.py)
BENCH_BLAS   = $(if $(wildcard $(OPENBLAS_DIR)/libblas.so.3),--blas $(OPENBLAS_DIR))

$(BUILD)/bench: bench/bench.c gan.h
	@mkdir -p $(BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/bench.c -lm -lpthread

bench: $(BUILD)/bench
	./$(BUILD)/bench $(BENCH_TORCH) $(BENCH_BLAS) $(BENCH_ARGS)

bench-quadratic:
	CC=$(CC) sh bench/quadratic.sh

bench-mnist:
	sh bench/mnist_speed.sh

clean:
	rm -rf $(BUILD) out

.PHONY: all demo test bench bench-quadratic bench-mnist clean mnist-data
