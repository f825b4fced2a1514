# Two commands do everything on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := graphviz chromium fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system demo test bench checkpoint docs docs-site data clean

setup: system $(STAMP)

# Debian packages: dot for diagrams, chromium for browser tests, a CJK font for charts.
system:
	@missing=""; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then \
	    echo "error: need root to install:$$missing (run: sudo apt-get install$$missing)" >&2; exit 1; \
	  fi; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null \
	    || { echo "error: apt-get failed; install by hand: sudo apt-get install$$missing" >&2; exit 1; }; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The main job on the embedded defaults: the worked example, one attention head, the
# whole model and one MLP op by op of data/checkpoint.json on "anna", a few samples and
# one weight's Adam update.
demo: setup
	@mkdir -p out
	$(BIN)/microgpt-trace expr "a*b+a" --edge-labels -o out/expr.svg
	$(BIN)/microgpt-trace head --text anna --pos 4 --head 2 -o out/head.svg
	$(BIN)/microgpt-trace model --text anna --depth 2 -o out/model.svg > /dev/null
	$(BIN)/microgpt-trace scope pos4/layer0/mlp --text anna -o out/mlp.svg
	$(BIN)/microgpt-trace scope pos3/embed --text anna -o out/rmsnorm.svg
	$(BIN)/microgpt-trace backward "a*b+a" -o out/backward.html
	$(BIN)/microgpt-trace explore --text anna -o out/explore.html
	$(BIN)/microgpt-trace backward --text anna --pos 4 --head 2 -o out/head-backward.gif
	$(BIN)/microgpt-trace sample -n 5
	$(BIN)/microgpt-trace adam "layer0.mlp_fc1[2][5]" --steps 2000 > out/adam.txt && cat out/adam.txt
	@echo
	@echo "outputs in $(CURDIR)/out/:"
	@echo "  expr.svg   a*b+a with data, grads and what flowed along each edge"
	@echo "  head.svg   layer 0, head 2 at position 4 of 'anna' (half its weight on the 'n' before), whole-loss grads"
	@echo "  model.svg  the whole model on 'anna', collapsed into blocks"
	@echo "  mlp.svg    the MLP at position 4 of 'anna' op by op: 16 of 64 ReLU gates open"
	@echo "  rmsnorm.svg  the embedding at position 3: RMSNorm scales the sum by 3.735"
	@echo "  backward.html      step through backward on a*b+a (open in a browser)"
	@echo "  explore.html       the whole traced model on 'anna': click blocks down to ops, zoom, inspect, step"
	@echo "  head-backward.gif  the gradient flowing back through that head"
	@echo "  adam.txt   one weight's Adam update mid-schedule (--steps 2000), number by number"

# The linter (pyproject.toml says which rules), then every test, one worker per core
# (pytest-xdist); tests/conftest.py lists the markers.
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto

bench: setup
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_trace.py
	$(BIN)/python benchmarks/bench_frames.py
	$(BIN)/python benchmarks/bench_explore.py

# The default checkpoint: the reference defaults on the shipped names (about 11 s of CPU time).
checkpoint: setup
	@mkdir -p out
	$(BIN)/microgpt-trace train --data names -o data/checkpoint.json --log out/checkpoint-metrics.jsonl

# The figures in docs/img (their text sources are checked by `make test`).
docs: setup
	$(BIN)/microgpt-trace docs

# The docs as a static site in site/ (English at site/index.html, Japanese at
# site/ja/index.html), Sphinx with MyST; warnings and broken links fail the build.
docs-site: setup
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs site
	$(BIN)/python -m sphinx -W --keep-going -q -b html -c docs -D language=ja docs/ja site/ja
	@echo "site in $(CURDIR)/site/: open site/index.html (日本語: site/ja/index.html)"

# Rebuild data/names.txt and data/names-ja.txt from their PyPI packages (dev-time only).
data:
	$(PYTHON) -m venv /tmp/microgpt-trace-dataenv
	/tmp/microgpt-trace-dataenv/bin/pip install -q names==0.3.0 japanese-personal-name-dataset==0.4.0
	/tmp/microgpt-trace-dataenv/bin/python scripts/build_data.py

clean:
	rm -rf $(VENV) out site .pytest_cache
