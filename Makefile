# Parley — the two commands a newcomer needs:
#   make run    install what is missing, build, start Parley on http://localhost:8080
#   make test   the whole test suite: Swift unit and integration tests, SDK unit tests, browser end-to-end tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
VENV := .venv
PY := $(VENV)/bin/python
APT_RUN_PACKAGES := pkg-config libssl-dev libavcodec-dev libswresample-dev libavutil-dev libopus-dev
APT_TEST_PACKAGES := chromium chromium-driver libsrtp2-dev iproute2 util-linux ffmpeg rtmpdump \
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice python3-gi gir1.2-gst-plugins-bad-1.0 \
  nginx libnginx-mod-rtmp nftables coturn prometheus
export DEBIAN_FRONTEND := noninteractive

.PHONY: help run build build-release build-static install test test-swift test-sdk test-e2e bench deps-run deps-test clean

help:
	@echo "make run    - install what is missing, build, and start Parley on http://localhost:8080"
	@echo "make test   - run the whole test suite (installs test dependencies when missing)"
	@echo "make bench  - run the benchmarks (release build)"
	@echo "make install PREFIX=/usr/local - a self-contained release binary and the web apps it serves (docs/DEPLOY.md)"

# Installs Debian packages only when absent; `apt-get update` runs once, and only if something is missing.
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-run:
	$(call apt_ensure,$(APT_RUN_PACKAGES))
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 is required: https://www.swift.org/install/linux/"; exit 1; }

# nginx (RTMP push tests), coturn (TURN tests) and prometheus (its promtool lints /metrics) come with system
# services; the tests start their own or none, so a service this installed is disabled again.
deps-test: deps-run
	@had=""; for s in nginx coturn prometheus; do dpkg -s $$s >/dev/null 2>&1 && had="$$had $$s"; done; \
	$(MAKE) --no-print-directory apt-test-packages || exit 1; \
	for s in nginx coturn prometheus; do \
	  case " $$had " in *" $$s "*) continue;; esac; \
	  if command -v systemctl >/dev/null && systemctl is-enabled $$s >/dev/null 2>&1; then \
	    echo "$$s was installed for the tests only (they start their own): disabling its system service"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO systemctl disable --now $$s >/dev/null 2>&1 || true; \
	  fi; \
	done
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r e2e/requirements.txt

.PHONY: apt-test-packages
apt-test-packages:
	$(call apt_ensure,$(APT_TEST_PACKAGES))

build: deps-run
	$(SWIFT) build --product parley

build-release: deps-run
	$(SWIFT) build -c release --product parley

run: build-release
	.build/release/parley $(ARGS)

# A binary that runs on a machine without Swift: the Swift runtime and Foundation linked in (the C libraries stay
# Debian's: APT_RUN_PACKAGES). Its own build folder, so it never rebuilds the release build `make run` uses.
# STATIC_CONFIG=debug builds the same binary unoptimized, quicker (cold in CI: 5.3 minutes, against ~8 for release):
# e2e/test_install.py checks the install with it (the layout and the linking, not the optimizer); never deploy it.
STATIC_CONFIG ?= release
build-static: deps-run
	$(SWIFT) build -c $(STATIC_CONFIG) --static-swift-stdlib --scratch-path .build/static --product parley

# PREFIX/bin/parley and PREFIX/share/parley/web (the apps and SDK it serves); DESTDIR for packaging.
PREFIX ?= /usr/local
install: build-static
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/parley
	install -m 755 .build/static/$(STATIC_CONFIG)/parley $(DESTDIR)$(PREFIX)/bin/parley
	rm -rf $(DESTDIR)$(PREFIX)/share/parley/web
	cp -R Web $(DESTDIR)$(PREFIX)/share/parley/web
	find $(DESTDIR)$(PREFIX)/share/parley/web -name test -type d -prune -exec rm -rf {} +

test: deps-test
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory test-swift test-sdk test-e2e test-bench-smoke test-fuzz

test-swift:
	$(SWIFT) test --skip-build

test-sdk:
	node --test Web/sdk/test/

test-e2e:
	mkdir -p e2e/output
	PARLEY_BIN=.build/debug/parley PARLEY_TESTBED_BIN=.build/debug/parley-testbed $(PY) -m pytest e2e -q --durations=20

# Benchmarks never run in `make test`; figures go to docs/BENCHMARKS.md. The WebRTC load run (bench/standard.sh,
# ~45 minutes) measures Parley beside Debian's Janus (as shipped, and with event_loops 2 and 1) in a private network
# namespace, three interleaved runs of each sweep (RUNS=1 for one), and rewrites the generated part of
# docs/BENCHMARKS.md; CHURN_SECONDS=600 makes its churn run the 10-minute leak check.
bench: deps-test
	$(call apt_ensure,janus iproute2 util-linux)
	$(SWIFT) build -c release --product srtp-bench
	.build/release/srtp-bench 2
	$(SWIFT) build -c release --product parley
	$(SWIFT) build -c release --product parley-bench
	bench/standard.sh
	bench/rtmp/run.sh
	bench/recording/run.sh

# Recordings beside forwarding alone: the fan-out run without and with 20 recorded 1.5 Mbit/s publishers (a few
# minutes, release build); prints loss, latency, CPU and every recording's holes.
.PHONY: bench-recording
bench-recording: deps-test build-release
	$(SWIFT) build -c release --product parley-bench
	bench/recording/run.sh

# The WebSocket leak check (issue 17): 100,000 connect/join/leave sockets against the release server; fails if its
# RSS ends more than 5 MiB above where it was after the first 1,000 (about 3 minutes).
.PHONY: bench-ws
bench-ws: build-release
	python3 bench/ws_cycles.py 100000

# The RTMP benchmarks alone (latency beside nginx-rtmp, CPU per RTMP player and per VP8 → H.264 transcode, 20
# publishers with players): a few minutes, release build.
.PHONY: bench-rtmp
bench-rtmp: deps-test build-release
	bench/rtmp/run.sh

# A few seconds of the load generator against Parley (debug builds): 1 publisher, 2 subscribers at a low rate;
# fails on any loss, duplicate, failed peer or subscriber without a keyframe. Part of `make test`.
.PHONY: test-bench-smoke
test-bench-smoke:
	$(SWIFT) build --product parley
	$(SWIFT) build --product parley-bench
	.build/debug/parley-bench fanout --parley-bin .build/debug/parley --subscribers 2 --video-kbps 300 \
	  --warmup 1 --duration 3 --assert-no-loss --quiet --log-dir $${TMPDIR:-/tmp}/parley-bench-smoke

clean:
	rm -rf .build $(VENV) e2e/output

# Coverage-guided fuzzing (libFuzzer) of every parser of untrusted bytes; docs/ROBUSTNESS.md, "Fuzzing". The targets
# are Fuzz/FuzzTargets; each has its seeds in Fuzz/corpus/<target> (Fuzz/make-seeds.py). `make fuzz` runs each target
# for FUZZ_SECONDS (or FUZZ_RUNS inputs), one after the other; what it finds goes to .build/fuzz-corpus, crashes to
# .build/fuzz-crashes, and it ends with a table of inputs, exec/s and coverage per target. FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 3600
FUZZ_RUNS ?=
FUZZ_TEST_SECONDS ?= 10
FUZZ_TARGETS ?= $(notdir $(wildcard Fuzz/corpus/*))
FUZZ_BIN := .build/fuzz/release/parley-fuzz
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))

.PHONY: fuzz-build fuzz test-fuzz
# Optimized (-c release keeps every overflow and bounds trap): 4 to 50 times the inputs per second of a debug build.
fuzz-build: deps-run
	$(SWIFT) build -c release --scratch-path .build/fuzz --product parley-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING

fuzz: fuzz-build
	@mkdir -p .build/fuzz-crashes .build/fuzz-logs; failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build/fuzz-corpus/$$t; echo "== $$t ($(FUZZ_LIMIT))"; start=$$(date +%s); \
	  PARLEY_FUZZ_TARGET=$$t nice -n 10 $(FUZZ_BIN) .build/fuzz-corpus/$$t Fuzz/corpus/$$t $(FUZZ_LIMIT) \
	    -artifact_prefix=.build/fuzz-crashes/$$t- -print_final_stats=1 > .build/fuzz-logs/$$t.log 2>&1 \
	    || { failed="$$failed $$t"; grep -E "ERROR|fuzz property|Fatal error|Test unit written" .build/fuzz-logs/$$t.log | head -5; }; \
	  echo "parley-fuzz-seconds: $$(( $$(date +%s) - start ))" >> .build/fuzz-logs/$$t.log; \
	done; \
	python3 Fuzz/fuzz-report.py $(addprefix .build/fuzz-logs/,$(addsuffix .log,$(FUZZ_TARGETS))); \
	if [ -n "$$failed" ]; then echo "crashed:$$failed (inputs in .build/fuzz-crashes; logs in .build/fuzz-logs)"; exit 1; fi

# Part of what `make test` can run: the committed seeds replayed one by one, then FUZZ_TEST_SECONDS of fuzzing per
# target (new inputs to a temporary directory); fails on any crash.
test-fuzz: fuzz-build
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $$tmp/$$t; \
	  if PARLEY_FUZZ_TARGET=$$t $(FUZZ_BIN) Fuzz/corpus/$$t/* > $$tmp/$$t-replay.log 2>&1 \
	    && PARLEY_FUZZ_TARGET=$$t $(FUZZ_BIN) $$tmp/$$t Fuzz/corpus/$$t -max_total_time=$(FUZZ_TEST_SECONDS) \
	      -artifact_prefix=$$tmp/$$t- -print_final_stats=1 > $$tmp/$$t.log 2>&1; then \
	    echo "fuzz $$t: ok, $$(sed -n 's/^stat::number_of_executed_units: *//p' $$tmp/$$t.log) inputs"; \
	  else \
	    failed="$$failed $$t"; echo "fuzz $$t: FAILED"; cat $$tmp/$$t-replay.log $$tmp/$$t.log 2>/dev/null | grep -v "^#" | tail -40; \
	    mkdir -p .build/fuzz-crashes; cp $$tmp/$$t-crash-* $$tmp/$$t-leak-* $$tmp/$$t-timeout-* .build/fuzz-crashes/ 2>/dev/null || true; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing failed:$$failed (inputs in .build/fuzz-crashes)"; exit 1; fi
