# samc -- build the library (static + shared), the samc program and the tests.
#   make            library and program
#   make test       build and run the test suite (ends with "N passed, N failed")
#   make bench      samc vs PyTorch on the same SAM step (bench/run.sh)
#   make clean
CC      ?= cc
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp -Iinclude -Isrc
LDLIBS  += -lopenblas -lz -lm -fopenmp

LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=build/tests/%)

all: build/libsamc.a build/libsamc.so samc

build/%.o: %.c include/samc.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

build/libsamc.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

build/libsamc.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

samc: build/cli/samc.o build/libsamc.a
	$(CC) -o $@ $^ $(LDLIBS)

# counts the library's allocations: malloc, calloc, realloc wrapped at link time
build/tests/test_noalloc: tests/test_noalloc.c tests/testutil.h build/libsamc.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< build/libsamc.a -lcmocka $(LDLIBS) \
	    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

build/tests/%: tests/%.c tests/testutil.h build/libsamc.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< build/libsamc.a -lcmocka $(LDLIBS)

tests: $(TEST_BIN)

build/bench/%: bench/%.c build/libsamc.a
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -o $@ $< build/libsamc.a $(LDLIBS)

bench: all build/bench/sam_step
	@bash bench/run.sh

test: all $(TEST_BIN)
	@bash tests/run.sh $(TEST_BIN)

clean:
	rm -rf build samc

.PHONY: all test tests bench clean
