# lorad: the two commands a new user runs are `make run` and `make test`.
SWIFT ?= swift
FIXTURES ?= $(abspath ../shared/fixtures)
# `make run MODEL=/path/to/checkpoint` serves that checkpoint instead of the embedded demo.
MODEL ?=

.PHONY: deps build release run test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Starts lorad in the foreground on the embedded demo (or MODEL), with its state and socket under .lorad/.
run: release
	@scripts/run.sh "$(MODEL)"

# Tests build optimized: the numeric loops run tens of times slower in a debug build.
test: deps
	$(SWIFT) build -c release -Xswiftc -enable-testing --build-tests
	LORA_FIXTURES="$(FIXTURES)" $(SWIFT) test -c release -Xswiftc -enable-testing --skip-build

bench: release
	$(SWIFT) run -c release lorad-bench forward --shape smollm2-135m

clean:
	rm -rf .build
