#!/bin/bash
# Issue 15's GPU checks in one run on the `device` tool's H200 (no network there, at most 64 MiB
# carried, 10 minutes a command). Prepare here, then run from the repository root:
#   python benchmarks/gpu_bundle.py          # writes .device/ (wheels, bf16 base, data), ~45 MB
#   device run: command "bash benchmarks/gpu_check.sh", carry [".device"], timeout_s 560
# Writes under $OUT: env.txt, tests.log, train.log, metrics.json, speed.log, summary.md.
# Without a GPU it stops at once (exit 3): every stage below is meant for CUDA. DRY_RUN=1 runs the
# same plumbing on a CPU in about three minutes (a few training steps, one copy of the stories).
set -u
DRY=${DRY_RUN:-0}
DEVICE=cuda; STEPS=(); REPEAT=20; TESTS=(tests)
[ "$DRY" = 1 ] && { DEVICE=cpu; STEPS=(--train.max_steps 3 --train.epochs 1); REPEAT=1; TESTS=(tests/test_article_context.py); }
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
START=$(date +%s)
log() { echo "[$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/summary.md"; }

# The machine has torch, transformers, onnxruntime and typer; pydantic and our import root are
# what it lacks: the wheels go to /tmp/site, and newsroles/<part> are links to this checkout.
mkdir -p /tmp/site/newsroles
$PY -c "import pydantic" 2>/dev/null || $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .device/wheels/*.whl || exit 1
for part in model training inference configs; do ln -sfn "$PWD/$part" "/tmp/site/newsroles/$part"; done
export PYTHONPATH=/tmp/site
NEWSROLES=("$PY" -m newsroles.inference.cli)

{ nvidia-smi; $PY -c "import torch, transformers, onnxruntime; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''); print('transformers', transformers.__version__, 'onnxruntime', onnxruntime.__version__)"; } > "$OUT/env.txt" 2>&1
[ "$DRY" = 1 ] || $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" || { log "no CUDA GPU: nothing to check"; exit 3; }
log "# GPU check ($(grep -m1 '^torch' "$OUT/env.txt"))"

# 1. The test suite with a GPU present (device=auto now picks CUDA; the CUDA-only tests run).
timeout 180 $PY -m pytest -q -p no:cacheprovider --ignore tests/test_browser.py "${TESTS[@]}" > "$OUT/tests.log" 2>&1
log "tests: exit $? — $(tail -1 "$OUT/tests.log")"

# 2. The default model trained on the GPU (bf16 autocast), from the bundled 4-layer base.
rm -rf /tmp/gpu-default
t0=$(date +%s%N)
timeout 240 "${NEWSROLES[@]}" train --model.base .device/base --model.encoder_layers null --train.device "$DEVICE" "${STEPS[@]}" \
  --data.train .device/data/train.jsonl --data.dev .device/data/validation.jsonl -o /tmp/gpu-default > "$OUT/train.log" 2>&1
status=$?
t1=$(date +%s%N)
cp /tmp/gpu-default/metrics.json "$OUT/metrics.json" 2>/dev/null
log "training: exit $status, $(( (t1 - t0) / 1000000 )) ms wall; $(grep -a 'macro F1' "$OUT/train.log" | tail -1 | tr -s ' │' ' ')"
[ $status = 0 ] || exit 1

# 3. Labeling speed: `newsroles label` end to end on the validation stories repeated 20 times
# (raw text, so splitting and writing count), then in process at several batch sizes.
DEVICE=$DEVICE REPEAT=$REPEAT $PY - > "$OUT/speed.log" 2>&1 <<'EOF'
import json, os, sys, time
from pathlib import Path

sys.path.insert(0, "benchmarks")
from labeling_speed import run_cli, write_archive  # the CPU benchmark's archive and timed CLI run

from newsroles.inference.predictor import load_labeler
from newsroles.training.data.readers import read_articles

device, repeat = os.environ["DEVICE"], int(os.environ["REPEAT"])
data = Path(".device/data/validation.jsonl")
articles = read_articles(data)
archive, labels = Path("/tmp/archive.jsonl"), Path("/tmp/labels.jsonl")
write_archive(data, repeat * len(articles), 10**6, archive)  # every sentence of every story, `repeat` times
for batch in (128, 1024):
    for attempt in (1, 2):  # the first pays CUDA's start-up and kernel choice
        seconds = run_cli("/tmp/gpu-default", archive, labels, 0, ("--device", device, "--batch-size", str(batch)))
        n = sum(len(json.loads(line)["sentences"]) for line in labels.open())
        print(f"e2e newsroles label, batch {batch}, run {attempt}: {n} sentences in {seconds:.2f} s = {n / seconds:.0f} sentences/s")
labeler = load_labeler("/tmp/gpu-default", device=device)
many = articles * repeat
n = sum(len(a.sentences) for a in many)
for batch in (128, 512, 2048):
    labeler.predict(many[:50], batch_size=batch)
    t0 = time.perf_counter()
    labeler.predict(many, batch_size=batch)
    seconds = time.perf_counter() - t0
    print(f"in process, batch {batch}: {n} sentences in {seconds:.2f} s = {n / seconds:.0f} sentences/s")
EOF
log "labeling: exit $?"
sed 's/^/    /' "$OUT/speed.log" | grep sentences/s | tee -a "$OUT/summary.md"
