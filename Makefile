# gan.h - build the examples, run the demo, the tests and the benchmarks.
#   make demo    build and run the main demo
#   make test    the whole test suite (tests/run.sh): ends with "N passed, N failed"
#   make bench   benchmark programs that print figures
CC      ?= cc
CFLAGS  ?= -O2 -std=c99 -Wall -Wextra -pedantic
LDLIBS  = -lm
BUILD   = build

EXAMPLES = $(BUILD)/gaussian

all: $(EXAMPLES)

$(BUILD)/%: examples/%.c gan.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

demo: $(BUILD)/gaussian
	./$(BUILD)/gaussian

test:
	CC=$(CC) sh tests/run.sh

clean:
	rm -rf $(BUILD) out

.PHONY: all demo test clean
