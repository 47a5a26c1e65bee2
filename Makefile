# lorad: the two commands a new user runs are `make run` and `make test`.
SWIFT ?= swift
FIXTURES ?= $(abspath ../shared/fixtures)
DEFAULT_MODEL ?= $(FIXTURES)/models/stories260K

.PHONY: deps build release run test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Until the daemon lands (a later issue), `run` builds and evaluates the default model offline.
run: release
	@scripts/run.sh "$(DEFAULT_MODEL)"

# Tests build optimized: the numeric loops run tens of times slower in a debug build.
test: deps
	$(SWIFT) build -c release -Xswiftc -enable-testing --build-tests
	LORA_FIXTURES="$(FIXTURES)" $(SWIFT) test -c release -Xswiftc -enable-testing --skip-build

bench: release
	$(SWIFT) run -c release lorad-bench forward --shape smollm2-135m

clean:
	rm -rf .build
