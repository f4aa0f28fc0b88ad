# gan.h - build the examples, run the demo, the tests and the benchmarks.
#   make demo    build and run the main demo
#   make test    the whole test suite (tests/run.sh): ends with "N passed, N failed"
#   make bench   benchmark programs that print figures
#   make mnist-data  fetch the four MNIST files into data/mnist/ (needs curl and a network)
CC      ?= cc
CFLAGS  ?= -O2 -std=c99 -Wall -Wextra -pedantic
LDLIBS  = -lm
BUILD   = build

EXAMPLES = $(BUILD)/gaussian $(BUILD)/mnist

all: $(EXAMPLES)

$(BUILD)/%: examples/%.c gan.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/mnist: examples/mnist.c examples/plot.h gan.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ examples/mnist.c $(LDLIBS)

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

demo: $(BUILD)/gaussian
	./$(BUILD)/gaussian

test:
	CC=$(CC) sh tests/run.sh

clean:
	rm -rf $(BUILD) out

.PHONY: all demo test clean mnist-data
