# Tessera — the two commands a newcomer needs are `make run` and `make test`.
# Each target installs the Debian packages it needs when they are missing (and nothing when
# they are there), then builds with the committed Cargo.lock.

SHELL := /bin/bash
CARGO ?= cargo
DATA ?= data
KEY ?= tessera-master.key

# Debian packages the build and the tests need: ldap-utils for the LDAP end-to-end tests,
# freeradius-utils (radclient) and eapoltest (eapol_test) for the RADIUS ones; for SAML,
# libssl-dev libxml2-dev libxmlsec1-dev libclang-dev to build samael's xmlsec bindings, and
# xmlsec1 and python3-pysaml2 as the independent judges of what the IdP emits.
DEB_PACKAGES := build-essential pkg-config ldap-utils freeradius-utils eapoltest \
	libssl-dev libxml2-dev libxmlsec1-dev libclang-dev xmlsec1 python3-pysaml2

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

# $(call bench_packages,PACKAGES,SERVICE): installs the missing Debian PACKAGES with a
# policy-rc.d guard so that no service starts, and keeps the system SERVICE stopped (a bench
# runs its own private server).
define bench_packages
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing (the system $(2) is kept stopped: the bench runs its own)"; \
	  guard=""; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null && \
	    $(SUDO) chmod 755 /usr/sbin/policy-rc.d && guard=1; \
	  fi; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  rc=$$?; \
	  if [ -n "$$guard" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; \
	  if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now $(2) >/dev/null 2>&1 || true; fi; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	fi
endef

# $(call bench_run,SCRIPT): builds ldapbench and tessera (release, locked) and runs SCRIPT.
define bench_run
	@# One cargo run for both (one feature resolution, so the dependencies build once); when
	@# tessera does not build, ldapbench alone and the bench reports Tessera as not available.
	@if $(CARGO) build --release --locked -p ldapbench -p tessera; then built=ok; else \
	  $(CARGO) build --release --locked -p ldapbench || exit 1; built=failed; \
	  echo "warning: tessera did not build: its half of the bench is reported as not available" >&2; \
	fi; \
	BENCH_TESSERA_BUILD=$$built bash $(1)
endef

## make bench-ldap: Tessera against a private slapd with the same users and the same LDAP
## workloads, one side-by-side table with the targets (bench/ldap/run.sh; its BENCH_* variables
## set sizes and counts). Installs slapd and ldap-utils without starting the system slapd. Not
## part of `make test`.
# Debian packages `make bench-ldap` needs besides DEB_PACKAGES (slapd ships the argon2 module).
BENCH_LDAP_PACKAGES := slapd ldap-utils

.PHONY: bench-ldap
bench-ldap: deps
	$(call bench_packages,$(BENCH_LDAP_PACKAGES),slapd)
	$(call bench_run,bench/ldap/run.sh)

## make bench-radius: Tessera's RADIUS frontend against a private FreeRADIUS (Debian's, same
## users, equal-cost hashes) driven by radclient and eapol_test: argon2 PAP, cached PAP, EAP-TTLS
## wall time and throughput; one side-by-side table with the targets (bench/radius/run.sh; its
## BENCH_* variables set counts). Installs freeradius without starting the system one. Not part
## of `make test`.
# Debian packages `make bench-radius` needs besides DEB_PACKAGES (openssl makes the EAP
# certificate; python3's crypt module the equal-cost sha512-crypt hashes).
BENCH_RADIUS_PACKAGES := freeradius freeradius-utils eapoltest openssl python3

.PHONY: bench-radius
bench-radius: deps
	$(call bench_packages,$(BENCH_RADIUS_PACKAGES),freeradius)
	$(call bench_run,bench/radius/run.sh)

## make fuzz-ldap: libFuzzer on the LDAP request path (decode → handler → directory) for
## FUZZ_SECS seconds (default 60), from fuzz/corpus/ldap_request; new inputs go to
## fuzz/target/corpus (kept between runs, replayed first), crashes to fuzz/artifacts. Needs
## nightly; installs cargo-fuzz. Not part of `make test` (which replays the committed corpus).
FUZZ_SECS ?= 60

.PHONY: fuzz-ldap
fuzz-ldap: toolchain
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/target/corpus/ldap_request
	$(CARGO) +nightly fuzz run ldap_request fuzz/target/corpus/ldap_request fuzz/corpus/ldap_request \
	  -- -max_total_time=$(FUZZ_SECS)

## make fuzz-radius: libFuzzer on the RADIUS packet path (framing → client and authenticators →
## duplicate cache → handler → directory), the same way, from fuzz/corpus/radius_packet.
.PHONY: fuzz-radius
fuzz-radius: toolchain
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/target/corpus/radius_packet
	$(CARGO) +nightly fuzz run radius_packet fuzz/target/corpus/radius_packet fuzz/corpus/radius_packet \
	  -- -max_total_time=$(FUZZ_SECS)

## make bench-saml: the SAML IdP over loopback HTTP (keep-alive, no TLS) — signed responses per
## second through a live SSO session, and full SP-initiated logins per second (one user: the
## core's verified-credential cache stands in for argon2id after the first), each with the
## process's CPU time per operation; BENCH_THREADS and BENCH_SECS set the load. Not part of
## `make test`.
.PHONY: bench-saml
bench-saml: deps
	$(CARGO) run --release --locked -p tessera-saml --example saml_bench

## make fuzz-saml: libFuzzer on AuthnRequest parsing and checks (both bindings, inflate, the DTD
## guard, signatures, replay) the same way, from fuzz/corpus/saml_request.
.PHONY: fuzz-saml
fuzz-saml: toolchain
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/target/corpus/saml_request
	$(CARGO) +nightly fuzz run saml_request fuzz/target/corpus/saml_request fuzz/corpus/saml_request \
	  -- -max_total_time=$(FUZZ_SECS)

## make fuzz-saml-metadata: libFuzzer on SP metadata import (size bound, DTD guard, samael's
## metadata types, endpoint/certificate/flag extraction), from fuzz/corpus/saml_metadata.
.PHONY: fuzz-saml-metadata
fuzz-saml-metadata: toolchain
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/target/corpus/saml_metadata
	$(CARGO) +nightly fuzz run saml_metadata fuzz/target/corpus/saml_metadata fuzz/corpus/saml_metadata \
	  -- -max_total_time=$(FUZZ_SECS)

## make deny: licenses, advisories and sources of every dependency (installs cargo-deny).
deny: toolchain
	@command -v cargo-deny >/dev/null || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check

clean:
	$(CARGO) clean
	rm -rf $(DATA) $(KEY) tessera-tls.crt tessera-tls.key
