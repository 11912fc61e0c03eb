# samc -- build the library (static + shared), the samc program and the tests.
#   make            library and program
#   make test       build and run the test suite (ends with "N passed, N failed")
#   make bench      samc vs PyTorch on the same SAM step (bench/run.sh), samc vs sklearn
#                   on sparse rows (bench/sparse.sh)
#   make clean
CC      ?= cc
# the Python the package's tests run with (Debian's, with python3-cffi, -numpy, -pytest)
PYTHON  ?= /usr/bin/python3
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp -Iinclude -Isrc
LDLIBS  += -ldnnl -lopenblas -lz -lm -fopenmp

LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
# the samc program: every source under cli/ (and -lcjson, its JSON writer)
CLI_SRC := $(sort $(wildcard cli/*.c cli/*/*.c))
CLI_HDR := $(wildcard cli/*.h cli/*/*.h)
CLI_LIBS := -lcjson
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

$(CLI_SRC:%.c=build/%.o) $(CLI_SRC:%.c=build-san/%.o) $(CLI_SRC:%.c=build-mpi/%.o): $(CLI_HDR)

samc: $(CLI_SRC:%.c=build/%.o) build/libsamc.a
	$(CC) -o $@ $^ $(CLI_LIBS) $(LDLIBS)

# counts the library's allocations: malloc, calloc, realloc wrapped at link time
build/tests/test_noalloc: tests/test_noalloc.c tests/testutil.h build/libsamc.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< build/libsamc.a -lcmocka $(LDLIBS) \
	    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

# the output formats of samc sharpness: cli/report.c, with cJSON
build/tests/test_cli_report: tests/test_cli_report.c tests/testutil.h cli/report.h build/cli/report.o build/libsamc.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< build/cli/report.o build/libsamc.a -lcmocka $(CLI_LIBS) $(LDLIBS)

build/tests/reflinalg.o: tests/reflinalg.c tests/reflinalg.h
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -c $< -o $@

build/tests/%: tests/%.c tests/testutil.h tests/reflinalg.h build/libsamc.a build/tests/reflinalg.o
	@mkdir -p build/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< build/tests/reflinalg.o build/libsamc.a -lcmocka $(LDLIBS)

tests: $(TEST_BIN)

build/bench/%: bench/%.c build/libsamc.a
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -o $@ $< build/libsamc.a $(LDLIBS)

bench: all build/bench/sam_step build/bench/sgemm_peak build/bench/mem_budget \
       build/bench/gen_sparse build/bench/sparse_load
	@bash bench/run.sh
	@bash bench/sparse.sh

test: all $(TEST_BIN)
	@PYTHON=$(PYTHON) bash tests/run.sh $(TEST_BIN)

clean:
	rm -rf build samc build-san build-fuzz

.PHONY: all test tests bench clean

# ------------------------------------------------------------------ fuzzing
#   make fuzz        libFuzzer targets build-fuzz/fuzz_<name> (clang; fuzz/README.md)
#   make fuzz-seeds  regenerate fuzz/seeds/<name>/ (fuzz/gen_seeds.c)
#   bash fuzz/run.sh [SECONDS] [TARGET...]   run them
FUZZ_CC      ?= clang
FUZZ_TARGETS := libsvm csv idx cifar10 cifar100 npy ckpt dataspec schedule
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wno-pass-failed \
                -fopenmp -Iinclude -Isrc $(FUZZ_SAN)
FUZZ_OBJ     := $(LIB_SRC:%.c=build-fuzz/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

build-fuzz/%.o: %.c include/samc.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/libsamc.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

build-fuzz/fuzz_%: fuzz/fuzz_target.c fuzz/targets.h build-fuzz/libsamc.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_NAME=$* -o $@ $< \
	    build-fuzz/libsamc.a $(LDLIBS)

fuzz: $(FUZZ_BIN)

build/fuzz/gen_seeds: fuzz/gen_seeds.c build/libsamc.a
	@mkdir -p build/fuzz
	$(CC) $(CFLAGS) -o $@ $< build/libsamc.a $(LDLIBS)

fuzz-seeds: build/fuzz/gen_seeds
	for t in $(FUZZ_TARGETS); do mkdir -p fuzz/seeds/$$t; done
	build/fuzz/gen_seeds fuzz/seeds

# the corpus replay test calls the targets' code
build/tests/test_fuzz_corpus build-san/tests/test_fuzz_corpus: fuzz/targets.h

# ------------------------------------------------------- sanitizer test suite
#   make sanitize    library, program and tests with ASan + UBSan into build-san/,
#                    then the whole suite (tests/run.sh) on those binaries
SAN_CC     ?= $(CC)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS := -O1 -g -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp -Iinclude -Isrc \
              $(SAN_FLAGS)
SAN_OBJ    := $(LIB_SRC:%.c=build-san/%.o)
SAN_TESTS  := $(TEST_SRC:tests/%.c=build-san/tests/%)
# third-party code only (libopenblas, libgomp): tests/lsan.supp, tests/ubsan.supp
SAN_ENV    := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
              LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/ubsan.supp

build-san/%.o: %.c include/samc.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

build-san/libsamc.a: $(SAN_OBJ)
	$(AR) rcs $@ $^

build-san/samc: $(CLI_SRC:%.c=build-san/%.o) build-san/libsamc.a
	$(SAN_CC) $(SAN_FLAGS) -o $@ $^ $(CLI_LIBS) $(LDLIBS)

build-san/tests/test_noalloc: tests/test_noalloc.c tests/testutil.h build-san/libsamc.a
	@mkdir -p build-san/tests
	$(SAN_CC) $(SAN_CFLAGS) -Itests -o $@ $< build-san/libsamc.a -lcmocka $(LDLIBS) \
	    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

build-san/tests/test_cli_report: tests/test_cli_report.c tests/testutil.h cli/report.h build-san/cli/report.o build-san/libsamc.a
	@mkdir -p build-san/tests
	$(SAN_CC) $(SAN_CFLAGS) -Itests -o $@ $< build-san/cli/report.o build-san/libsamc.a -lcmocka $(CLI_LIBS) $(LDLIBS)

build-san/tests/reflinalg.o: tests/reflinalg.c tests/reflinalg.h
	@mkdir -p build-san/tests
	$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

build-san/tests/%: tests/%.c tests/testutil.h tests/reflinalg.h build-san/libsamc.a build-san/tests/reflinalg.o
	@mkdir -p build-san/tests
	$(SAN_CC) $(SAN_CFLAGS) -Itests -o $@ $< build-san/tests/reflinalg.o build-san/libsamc.a -lcmocka $(LDLIBS)

sanitize: build-san/samc $(SAN_TESTS)
	@$(SAN_ENV) SAMC=build-san/samc PYTHON=$(PYTHON) bash tests/run.sh $(SAN_TESTS)

.PHONY: fuzz fuzz-seeds sanitize

# ------------------------------------------------ MPI data-parallel build
#   make MPI=1       build-mpi/samc: the library and program compiled with mpicc
#                    and -DSAMC_MPI (src/dist/dist_mpi.c); run it as
#                    mpirun -np K build-mpi/samc train ...  The default build
#                    (src/dist/dist_single.c) stays MPI-free.
MPICC      ?= mpicc
MPI_CFLAGS := -O2 -g -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp -Iinclude -Isrc -DSAMC_MPI
MPI_OBJ    := $(LIB_SRC:%.c=build-mpi/%.o)

build-mpi/%.o: %.c include/samc.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(MPICC) $(MPI_CFLAGS) -c $< -o $@

build-mpi/libsamc.a: $(MPI_OBJ)
	$(AR) rcs $@ $^

build-mpi/samc: $(CLI_SRC:%.c=build-mpi/%.o) build-mpi/libsamc.a
	$(MPICC) -o $@ $^ $(CLI_LIBS) $(LDLIBS)

mpi: build-mpi/samc

clean: clean-mpi
clean-mpi:
	rm -rf build-mpi

ifeq ($(MPI),1)
.DEFAULT_GOAL := mpi
endif

.PHONY: mpi clean-mpi
