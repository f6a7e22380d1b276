# Tessera — the two commands a newcomer needs are `make run` and `make test`.
# Each target installs the Debian packages it needs when they are missing (and nothing when
# they are there), then builds with the committed Cargo.lock.

SHELL := /bin/bash
CARGO ?= cargo
DATA ?= data
KEY ?= tessera-master.key

# Debian packages the build and the tests need. (The frontends' issues add ldap-utils,
# freeradius-utils, eapoltest, xmlsec1 and python3-pysaml2 here as their tests land.)
DEB_PACKAGES := build-essential pkg-config

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test bench lint deny deps toolchain clean

deps: toolchain
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: Tessera needs a Rust toolchain >= 1.88 (rustup)" >&2; exit 1; }

## make run: build, seed the demo MSP tree into $(DATA) when it is empty, and serve it.
run: deps
	$(CARGO) build --release --locked
	./target/release/tessera --data $(DATA) --master-key-file $(KEY) serve --demo

## make test: formatting and lints, then every test of the workspace.
test: deps lint
	$(CARGO) test --workspace --locked

lint: toolchain
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## make bench: criterion micro-benchmarks and the 100k-user scale run of the core.
bench: deps
	$(CARGO) bench --locked -p tessera-directory

## make deny: licenses, advisories and sources of every dependency (installs cargo-deny).
deny: toolchain
	@command -v cargo-deny >/dev/null || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check

clean:
	$(CARGO) clean
	rm -rf $(DATA) $(KEY) tessera-tls.crt tessera-tls.key
