# Loupe — everyday commands. The build itself is CMake (CMakePresets.json); this file only
# strings the steps together. See docs/OPERATIONS.md.
#
#   make / make build   configure (dev preset) if needed, build the C code and the web UI
#   make test           build, then run the whole suite (unit, integration, e2e, fuzz corpus
#                       replays) with ctest; lists what was skipped and why at the end
#                       (LOUPE_TEST_REQUIRE=all turns every skip into a failure, as CI does)
#   make asan-test      the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make faults         build, then only the fault suite (ctest label faults)
#   make soak           build, then the soak (ctest label soak) for SOAK_SECONDS (1800; make test
#                       runs it for 180)
#   make run            a complete local instance under ./var (scripts/run-local.sh)
#   make install        release build, then `cmake --install` of it (PREFIX=/usr/local by
#                       default; DESTDIR=… stages it elsewhere)
#   make package        release build, then the Debian package (cpack -G DEB) in build/packages
#   make bench          release build, then the benchmarks in bench/
#   make fuzz           libFuzzer targets (clang), each run for FUZZ_SECONDS
#   make deps           install the missing Debian packages (every build does this when
#                       something is missing; LOUPE_SKIP_DEPS=1 leaves packages alone)
#   make docs-config    regenerate docs/CONFIG.md from the configuration table
#   make clean          remove the preset build directories and the built web UI

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 1800
CTEST_ARGS ?=

WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -path web/dist -prune -o -type f -print 2>/dev/null)

.PHONY: all build web test faults soak asan asan-test release run install package bench fuzz deps deps-ready clean docs-config

all: build

# --- packages: installed when missing, so `make test` on a fresh machine needs nothing else ---
# (one dpkg-query call when everything is there)
deps-ready:
ifneq ($(LOUPE_SKIP_DEPS),1)
	@scripts/deps.sh check >/dev/null || scripts/deps.sh install
endif

# --- configure (once per preset; CMake re-runs itself when CMakeLists change) ----------------
build/%/CMakeCache.txt: | deps-ready
	cmake --preset $*

# --- web UI (only when web/package.json exists) ----------------------------------------------
ifneq ($(wildcard web/package.json),)
build/web-deps.stamp: web/package.json $(wildcard web/package-lock.json) | deps-ready
	@mkdir -p build
	cd web && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

build/web.stamp: build/web-deps.stamp $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: build/web.stamp
else
web:
	@:
endif

# --- builds ----------------------------------------------------------------------------------
build: deps-ready build/dev/CMakeCache.txt web
	cmake --build --preset dev -j $(JOBS)

asan: deps-ready build/asan/CMakeCache.txt web
	cmake --build --preset asan -j $(JOBS)

release: deps-ready build/release/CMakeCache.txt web
	cmake --build --preset release -j $(JOBS)

# --- tests -----------------------------------------------------------------------------------
# Every skip appends "<test>: <reason>" to build/<preset>/test-skips.log (cmake/LoupeTesting.cmake);
# the list is printed after ctest, whether it passed or not.
define run_ctest
	@rm -f build/$(1)/test-skips.log
	@rc=0; ctest --preset $(1) $(CTEST_ARGS) || rc=$$?; \
	if [ -s build/$(1)/test-skips.log ]; then \
	  echo "== skipped (they need what this machine lacks; LOUPE_TEST_REQUIRE=all fails them):"; \
	  sort -u build/$(1)/test-skips.log | sed 's/^/   /'; \
	else echo "== nothing was skipped"; fi; \
	exit $$rc
endef

test: build
	$(call run_ctest,dev)

asan-test: asan
	$(call run_ctest,asan)

faults: build
	ctest --preset dev -L faults $(CTEST_ARGS)

soak: build
	LOUPE_SOAK_SECONDS=$(SOAK_SECONDS) ctest --preset dev -L soak -V $(CTEST_ARGS)

# --- running ---------------------------------------------------------------------------------
run:
	scripts/run-local.sh

# --- installing and packaging (docs/OPERATIONS.md) --------------------------------------------
install: release
	cmake --install build/release $(if $(PREFIX),--prefix $(PREFIX))

package: release
	cd build/release && cpack -G DEB -B $(CURDIR)/build/packages

# --- benchmarks and fuzzing ------------------------------------------------------------------
# Every bench/*.sh runs against the release build; one that exits 77 (a tool is missing) is
# reported as skipped.
bench: release
	@for b in bench/*.sh; do \
	  echo "== $$b"; \
	  rc=0; bash "$$b" $(CURDIR)/build/release || rc=$$?; \
	  if [ $$rc -eq 77 ]; then echo "   (skipped)"; elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	done

fuzz: deps-ready build/fuzz/CMakeCache.txt
	cmake --build --preset fuzz -j $(JOBS)
	scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

# --- housekeeping ----------------------------------------------------------------------------
deps:
	scripts/deps.sh install

docs-config: build/dev/CMakeCache.txt
	cmake --build --preset dev -j $(JOBS) --target louped
	scripts/docs-config.sh build/dev/src/app/louped docs/CONFIG.md.tmp || { rm -f docs/CONFIG.md.tmp; exit 1; }
	mv docs/CONFIG.md.tmp docs/CONFIG.md
	@echo "docs/CONFIG.md regenerated"

clean:
	rm -rf build/dev build/release build/asan build/fuzz build/packages build/web.stamp build/web-deps.stamp web/dist
