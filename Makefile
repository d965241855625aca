# One command each, on a fresh machine (each does its own set-up):
#   make demo   convert the shared corpus, train the default model, evaluate it, label an example story
#   make test   run the test suite
# Torch: the CPU wheel is pinned for this set-up and CI. On a CUDA machine use e.g.
#   make demo TORCH=torch==2.13.0 TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (or install the CUDA build of your choice into .venv first).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
SHARED ?= ../shared
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup test demo benchmark clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/newsroles data convert $(SHARED)/data/newsdiscourse data/newsdiscourse
	$(BIN)/newsroles baseline --config configs/default.yaml
	model=$$($(BIN)/newsroles train --config configs/default.yaml) && \
	$(BIN)/newsroles evaluate "$$model" data/newsdiscourse/validation.jsonl --output "$$model/validation-eval.json" && \
	$(BIN)/newsroles label $(SHARED)/examples/yonhap-north-korea-diplomacy.txt --model "$$model"

benchmark: setup
	$(BIN)/python -m pip install -q -e ".[test,benchmarks]"
	$(BIN)/python benchmarks/splitter_boundary_f1.py --data $(SHARED)/data/newsdiscourse

clean:
	rm -rf $(VENV) build *.egg-info
