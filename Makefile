# gan.h - build the examples, run the demo, the tests and the benchmarks.
#   make demo              build and run the main demo (the quadratic curve, into out/quadratic/)
#   make test              the whole test suite (tests/run.sh): ends with "N passed, N failed"
#   make bench             benchmark programs that print figures
#   make bench-quadratic   the quadratic demo against its PyTorch port, then its quality over 5 seeds
CC      ?= cc
CFLAGS  ?= -O2 -std=c99 -Wall -Wextra -pedantic
LDLIBS  = -lm
BUILD   = build

EXAMPLES = $(BUILD)/gaussian $(BUILD)/quadratic

all: $(EXAMPLES)

$(BUILD)/%: examples/%.c gan.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/quadratic: examples/quadratic.h examples/plot.h

demo: $(BUILD)/quadratic
	./$(BUILD)/quadratic

test:
	CC=$(CC) sh tests/run.sh

bench-quadratic:
	CC=$(CC) sh bench/quadratic.sh

clean:
	rm -rf $(BUILD) out

.PHONY: all demo test bench-quadratic clean
