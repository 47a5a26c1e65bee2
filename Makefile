# lorad: the two commands a new user runs are `make run` and `make test`.
SWIFT ?= swift
FIXTURES ?= $(abspath ../shared/fixtures)
# `make run MODEL=/path/to/checkpoint` serves that checkpoint instead of the embedded demo.
MODEL ?=

.PHONY: deps build release run test bench clean install install-files

# `make install` (after a release build) lays lorad out as a distribution package would, under DESTDIR/PREFIX:
# binaries in bin, the systemd units and sysusers.d/tmpfiles.d snippets in lib (systemd reads
# /usr/local/lib/systemd/system as well as /usr/lib/systemd/system), the embedded demo in share/lorad/demo
# (where lorad looks beside its binary), docs and the example configuration in share/doc/lorad, and
# /etc/lorad/lorad.toml only when there is none. The units name PREFIX's binaries.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD_DIR ?= .build/release
BINDIR = $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR = $(PREFIX)/share/doc/lorad
DEMODIR = $(PREFIX)/share/lorad/demo
SYSCONFDIR ?= /etc

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

install: release
	@$(MAKE) --no-print-directory install-files

# The files only, from BUILD_DIR (no build): what `install` runs after building, and what the tests run.
install-files:
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(TMPFILESDIR)" \
		"$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(DEMODIR)" "$(DESTDIR)$(SYSCONFDIR)/lorad"
	install -m 0755 "$(BUILD_DIR)/lorad" "$(BUILD_DIR)/lorctl" "$(DESTDIR)$(BINDIR)/"
	for unit in lorad.service lorad.socket; do \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/|$(PREFIX)/share/|g' "systemd/$$unit" > "$(DESTDIR)$(UNITDIR)/$$unit" && \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$$unit" || exit 1; \
	done
	install -m 0644 systemd/lorad.sysusers "$(DESTDIR)$(SYSUSERSDIR)/lorad.conf"
	install -m 0644 systemd/lorad.tmpfiles "$(DESTDIR)$(TMPFILESDIR)/lorad.conf"
	install -m 0644 systemd/lorad.toml "$(DESTDIR)$(DOCDIR)/lorad.toml.example"
	install -m 0644 README.md docs/*.md "$(DESTDIR)$(DOCDIR)/"
	cp -R share/demo/. "$(DESTDIR)$(DEMODIR)/"
	chmod -R u=rwX,go=rX "$(DESTDIR)$(DEMODIR)"
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/lorad/lorad.toml" ]; then \
		echo "kept the existing $(DESTDIR)$(SYSCONFDIR)/lorad/lorad.toml (the new example is $(DOCDIR)/lorad.toml.example)"; \
	else \
		install -m 0644 systemd/lorad.toml "$(DESTDIR)$(SYSCONFDIR)/lorad/lorad.toml"; \
	fi
	@echo "installed lorad under $(DESTDIR)$(PREFIX); then: systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload && systemctl enable --now lorad.socket"
