# Set-up, build, serve and test. `make serve` and `make test` install what is missing first.
#
# Build outputs live outside the clone so that repeated runs (and CI) reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/eee-target
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

TRUNK_VERSION := 0.21.14
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3}' Cargo.lock)
ADDRESS ?= 127.0.0.1:8080
EEE := $(CARGO_TARGET_DIR)/debug/eee
DEMO := public/demo/build-report.json
BASEMAP := public/basemap/land-50m.json
# open_clip's CLIP BPE merges (FarSLIP's tokenizer), taken from the open-clip-torch wheel.
CLIP_VOCAB := public/vocab/bpe_simple_vocab_16e6.txt.gz

.PHONY: serve test tools browser-deps build demo native-test wasm-kernel-test e2e bench clean

serve: tools build
	$(EEE) serve --dir dist --address $(ADDRESS)

test: tools browser-deps build native-test wasm-kernel-test e2e

tools: node_modules/.package-lock.json
	rustup target add wasm32-unknown-unknown
	@if [ "$$(trunk --version 2>/dev/null)" != "trunk $(TRUNK_VERSION)" ]; then \
		cargo install trunk --version $(TRUNK_VERSION) --locked; fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Debian's Chromium and ChromeDriver for the browser tests.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; fi

$(EEE): Cargo.toml Cargo.lock $(shell find src -name '*.rs')
	cargo build --bin eee

$(DEMO): | $(EEE)
	$(EEE) demo build --land node_modules/world-atlas/land-50m.json --out public/demo

$(BASEMAP): node_modules/.package-lock.json
	mkdir -p public/basemap
	cp node_modules/world-atlas/land-50m.json $(BASEMAP)

$(CLIP_VOCAB):
	dev/fetch_clip_vocab.sh $@

demo: $(EEE) $(DEMO)

build: demo $(BASEMAP) $(CLIP_VOCAB)
	cargo fetch
	trunk build --release

native-test: $(CLIP_VOCAB)
	cargo test

# The CPU kernels' tests on wasm32 with SIMD, where their explicit WebAssembly SIMD loops run,
# in Node with wasm-bindgen-test-runner (installed with wasm-bindgen-cli).
wasm-kernel-test: tools
	cd tests/wasm-kernels && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/wasm-kernels \
		CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
		cargo test --locked --target wasm32-unknown-unknown

e2e: $(EEE)
	node tests/e2e/run.mjs --eee $(EEE) --dist dist

bench: tools build
	node tests/e2e/bench.mjs --eee $(EEE) --dist dist

clean:
	rm -rf dist public/demo public/basemap public/vocab
