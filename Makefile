# Hookline: `make dev` runs the platform locally, `make test` proves it.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: dev dev-reset install test bench soak venv build lint fmt template-check openapi unit clean console-test package

## Run the whole platform on 127.0.0.1:$${HOOKLINE_PORT:-3000} (Ctrl-C stops it).
## `cargo run` finds the binary wherever the target directory is
## (CARGO_TARGET_DIR, .cargo/config). The emulator's data is kept in
## .hookline/ between runs; DEV_ARGS="--parameter RetentionDays=7" passes flags.
dev: venv
	$(CARGO) run --quiet --bin hookline -- dev $(DEV_ARGS)

## `make dev` with an empty emulator: deletes what .hookline/ kept.
dev-reset: venv
	$(CARGO) run --quiet --bin hookline -- dev --fresh $(DEV_ARGS)

## Puts `hookline` on PATH (~/.cargo/bin; a release build, some minutes).
install:
	$(CARGO) install --locked --path functions/hookline

## Everything CI runs: formatting, lints, template checks, unit and integration tests.
test: venv lint template-check
	infra/with-moto.sh $(CARGO) test --workspace --all-targets
	infra/with-moto.sh infra/contract.sh
	$(MAKE) --no-print-directory console-test

## Release build, criterion micro benchmarks, then the end-to-end run on moto:
## target/bench/summary.json, a table on stdout, docs/performance.md.
## BENCH_ARGS="--events 1000 --fanout-endpoints 2000" for a quicker run.
bench: venv
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench --workspace --bench micro
	infra/with-moto.sh ./target/release/hookline-bench $(BENCH_ARGS)

## Fault-injection soak (release build, loopback only, not part of `test`):
## events to flaky and dead receivers while `hookline dev` is SIGKILLed and
## restarted; target/soak/summary.json and a table. SOAK_EVENTS=1000 for a
## quicker run; SOAK_TIME_LIMIT (seconds, 4200) bounds it.
soak: venv
	$(CARGO) build --release --bin hookline --bin hookline-soak
	infra/with-moto.sh timeout --kill-after=30 $$(( $${SOAK_TIME_LIMIT:-4200} + 300 )) ./target/release/hookline-soak

## `sam build` of template.yaml for arm64 (cargo-lambda and zig from
## infra/requirements-package.txt into .venv), then checks that every function
## has an aarch64 .aws-sam/build/<LogicalId>/bootstrap. Not part of `test`.
package:
	bash infra/package.sh

## The Python tools (moto_server, cfn-lint, sam) in .venv.
venv:
	@bash infra/venv.sh

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## cfn-lint and `sam validate --lint` on template.yaml.
template-check: venv
	bash infra/check-template.sh

## The admin console in Debian's Chromium (/usr/bin/chromium) through playwright-core:
## `hookline dev` with its own moto, a local receiver; screenshots in target/console-screenshots/.
console-test: venv
	@# The same build as `cargo test --workspace --all-targets` (nothing to do after it).
	$(CARGO) build --workspace --all-targets
	cd tests/console && npm ci --no-audit --no-fund --loglevel=error && npm test

## Regenerate docs/openapi.json from the code.
openapi:
	UPDATE_OPENAPI=1 $(CARGO) test -p admin-api --lib openapi

.PHONY: contract fuzz

## The API contract (part of `make test`): schemathesis sends generated requests
## from docs/openapi.json to `hookline dev`; no 5xx, every answer as documented.
contract: venv
	infra/with-moto.sh infra/contract.sh

## Fuzz the parsers (not part of `make test`): each cargo-fuzz target in fuzz/
## for FUZZ_SECONDS (600); installs cargo-fuzz when missing.
fuzz:
	infra/fuzz.sh

## Unit tests only (no emulator needed).
unit:
	$(CARGO) test --workspace --lib --bins

clean:
	$(CARGO) clean
	rm -rf .venv
