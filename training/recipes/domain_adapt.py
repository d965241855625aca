"""Domain-adaptive pretraining: a base encoder's masked-language-model training continued on news.

Gururangan et al. 2020 ("Don't Stop Pretraining") found that a pretrained encoder trained further,
with its own masked-word objective, on unlabeled text of the task's domain classifies that domain
better, most of all where labeled data is scarce. NewsDiscourse has 502 training articles, and
`../shared/data/news-unlabeled` thousands of stories no model here had read as text before (the
semi-supervised recipe reads them only through a teacher's labels).

`adapt_base` reads articles (any file `read_articles` takes: the converted corpus, unlabeled
stories), packs their tokens into blocks, masks 15% of them and trains the base to restore them.
A sentence-embedding base such as all-MiniLM-L6-v2 ships without its masked-word head, so a fresh
head is trained first with the encoder frozen (`head_warmup_steps`): its random gradients would
otherwise scramble the pretrained layers in the first steps. With `layers` the encoder is shortened
first (model.encoder_layers), so the layers adapted are the ones the classifier keeps.

The result is a Hugging Face model folder (encoder and tokenizer, no head) that `model.base` takes
like any other; `adapt.json` beside it records the settings, the files read and the held-out
masked-word loss before and after. It is written atomically.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.network.attention_dropout import CONFIG_KEYS, with_attention_dropout
from newsroles.model.network.base import resolve_base_model
from newsroles.model.network.encoder_layers import keep_first_layers
from newsroles.training.data.readers import read_articles

INFO_FILE = "adapt.json"


@dataclass
class AdaptSettings:
    """How the base is trained further; the defaults are the ones BENCHMARKS.md measured."""

    layers: int | None = 4  # keep the encoder's first N layers, as model.encoder_layers does; None: all
    epochs: float = 1.0  # passes over the blocks (a fraction stops early)
    block_size: int = 256  # tokens a block, [CLS] and [SEP] included
    batch_size: int = 16
    learning_rate: float = 1e-4
    head_warmup_steps: int = 100  # steps that train only the new masked-word head
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    mask_probability: float = 0.15
    heldout_fraction: float = 0.02  # blocks kept out to measure the masked-word loss before and after
    seed: int = 13
    threads: int | None = None


@dataclass
class AdaptReport:
    base: str
    settings: dict
    sources: list[str]
    articles: int
    tokens: int
    blocks: int
    steps: int
    heldout_loss_before: float
    heldout_loss_after: float
    minutes: float
    loss_curve: list[tuple[int, float]] = field(default_factory=list)


def article_text(article: Article) -> str:
    """The article as running text: the headline, then its sentences, a paragraph to a line."""
    lines, current, paragraph = [], [], None
    for s in article.sentences:
        if current and s.paragraph != paragraph:
            lines.append(" ".join(current))
            current = []
        current.append(s.text)
        paragraph = s.paragraph
    if current:
        lines.append(" ".join(current))
    title = (article.title or "").strip()
    return "\n".join(([title] if title else []) + lines)


def pack_blocks(token_ids: Iterable[list[int]], block_size: int, cls_id: int, sep_id: int) -> list[list[int]]:
    """Texts' token ids joined (a [SEP] after each text) and cut into blocks of `block_size`, each
    opened by [CLS] and closed by [SEP]; the last, shorter remainder is dropped, so no block pads."""
    body = block_size - 2
    if body < 8:
        raise UserError(f"block_size {block_size} is too small (at least 10 tokens)")
    stream: list[int] = []
    blocks = []
    for ids in token_ids:
        stream.extend(ids)
        stream.append(sep_id)
        while len(stream) >= body:
            blocks.append([cls_id] + stream[:body] + [sep_id])
            del stream[:body]
    return blocks


def _masked_batch(blocks: Sequence[list[int]], tokenizer, probability: float, generator: torch.Generator):
    """BERT's masking: of the chosen 15%, 80% become [MASK], 10% a random token, 10% stay."""
    ids = torch.tensor(blocks, dtype=torch.long)
    labels = ids.clone()
    special = torch.zeros_like(ids, dtype=torch.bool)
    for sid in tokenizer.all_special_ids:
        special |= ids == sid
    chosen = (torch.rand(ids.shape, generator=generator) < probability) & ~special
    labels[~chosen] = -100
    roll = torch.rand(ids.shape, generator=generator)
    ids[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    ids[swap] = torch.randint(len(tokenizer), (int(swap.sum()),), generator=generator)
    return ids, labels


def _masked_loss(model, ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the masked positions only: the head's vocabulary-wide output layer is
    most of a step's work if it runs on every token (15 times less this way)."""
    hidden = model.base_model(input_ids=ids).last_hidden_state
    where = labels != -100
    head = getattr(model, "cls", None) or getattr(model, "lm_head", None)  # BERT's, RoBERTa's and MPNet's
    if head is None:
        raise UserError(f"cannot find the masked-word head of {type(model).__name__}")
    logits = head(hidden[where])
    return torch.nn.functional.cross_entropy(logits.float(), labels[where])


def _heldout_loss(model, blocks, tokenizer, settings: AdaptSettings) -> float:
    """Mean masked-word loss on the held-out blocks, with the same masks every time it is asked."""
    if not blocks:
        return float("nan")
    g = torch.Generator().manual_seed(settings.seed + 1)
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(blocks), settings.batch_size):
            ids, labels = _masked_batch(blocks[i:i + settings.batch_size], tokenizer, settings.mask_probability, g)
            n = int((labels != -100).sum())
            if n:
                total += float(_masked_loss(model, ids, labels)) * n
                count += n
    model.train()
    return total / max(count, 1)


def _load_masked_lm(base: str, layers: int | None):
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_base_model(base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.mask_token_id is None:
        raise UserError(f"base model '{base}' has no [MASK] token, so it cannot be trained on masked words")
    config = AutoConfig.from_pretrained(path)
    own = {k: getattr(config, k) for k in CONFIG_KEYS if isinstance(getattr(config, k, None), (int, float))}
    with_attention_dropout(config, 0.0)  # fused attention on a CPU: steps twice as fast
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the fresh head's "newly initialized weights" warning is expected
    try:
        model = AutoModelForMaskedLM.from_pretrained(path, config=config)
    finally:
        hf_logging.set_verbosity(verbosity)
    keep_first_layers(model.base_model, layers, f"base model '{base}'", setting="--layers")
    return model, tokenizer, own


def adapt_base(
    base: str,
    articles: Sequence[Article],
    out: str | Path,
    settings: AdaptSettings | None = None,
    sources: Sequence[str] = (),
    overwrite: bool = False,
    progress: bool = True,
) -> AdaptReport:
    """Train `base` further on the articles' text with masked words; write it to `out`."""
    from transformers import get_linear_schedule_with_warmup

    s = settings or AdaptSettings()
    out = Path(out)
    if out.exists() and not overwrite:
        raise UserError("the output folder exists (--overwrite replaces it)", out)
    if s.threads:
        torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    model, tokenizer, own_dropout = _load_masked_lm(base, s.layers)

    texts = [article_text(a) for a in articles]
    encoded = tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]
    n_tokens = sum(map(len, encoded))
    blocks = pack_blocks(encoded, s.block_size, tokenizer.cls_token_id, tokenizer.sep_token_id)
    random.Random(s.seed).shuffle(blocks)
    n_held = int(len(blocks) * s.heldout_fraction) if len(blocks) > 1 else 0
    heldout, train = blocks[:n_held], blocks[n_held:]
    if not train:
        raise UserError(f"too little text for one {s.block_size}-token block ({n_tokens} tokens)")

    batches_per_epoch = math.ceil(len(train) / s.batch_size)
    total = max(1, int(round(batches_per_epoch * s.epochs)))
    before = _heldout_loss(model, heldout, tokenizer, s)
    # The word embeddings (tied to the head's output layer) stay as they are: they are over half the
    # encoder's weights, their update was a third of each step's time, and the vocabulary is not new.
    embeddings = model.get_input_embeddings().weight
    embeddings.requires_grad_(False)
    trained = [p for p in model.parameters() if p is not embeddings]
    decay = [p for p in trained if p.ndim > 1]
    no_decay = [p for p in trained if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.learning_rate,
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * s.warmup_ratio), total)
    encoder_params = [p for p in model.base_model.parameters() if p is not embeddings]
    head_only = s.head_warmup_steps > 0
    for p in encoder_params:
        p.requires_grad_(not head_only)

    g = torch.Generator().manual_seed(s.seed)
    model.train()
    start, step, curve, smooth = time.time(), 0, [], None
    order: list[int] = []
    while step < total:
        if not order:
            order = torch.randperm(len(train), generator=g).tolist()
        idx, order = order[:s.batch_size], order[s.batch_size:]
        if head_only and step >= s.head_warmup_steps:
            for p in encoder_params:
                p.requires_grad_(True)
            head_only = False
        ids, labels = _masked_batch([train[i] for i in idx], tokenizer, s.mask_probability, g)
        loss = _masked_loss(model, ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        value = loss.item()
        smooth = value if smooth is None else 0.98 * smooth + 0.02 * value
        if step % 50 == 0 or step == total:
            curve.append((step, round(smooth, 4)))
            if progress:
                rate = step / (time.time() - start)
                print(
                    f"adapt: step {step}/{total}  loss {smooth:.3f}  {rate * s.batch_size * s.block_size:,.0f} tokens/s"
                    f"  {(total - step) / rate / 60:.1f} min left",
                    file=sys.stderr, flush=True,
                )
    after = _heldout_loss(model, heldout, tokenizer, s)
    report = AdaptReport(
        base=base, settings=asdict(s), sources=list(sources), articles=len(articles),
        tokens=n_tokens, blocks=len(blocks), steps=total,
        heldout_loss_before=round(before, 4), heldout_loss_after=round(after, 4),
        minutes=round((time.time() - start) / 60, 2), loss_curve=curve,
    )
    encoder = model.base_model
    for key, value in own_dropout.items():  # saved as the base had it; train.attention_dropout decides later
        setattr(encoder.config, key, value)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / INFO_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return report


def adapt_base_from_files(
    base: str, paths: Sequence[str | Path], out: str | Path, settings: AdaptSettings | None = None,
    max_articles: int | None = None, overwrite: bool = False, progress: bool = True,
) -> AdaptReport:
    """`adapt_base` on the articles of files that `read_articles` takes (their labels are not read),
    in the order given; `max_articles` keeps the first N of them all."""
    if not paths:
        raise UserError("give at least one file of articles to adapt the base on")
    articles: list[Article] = []
    for path in paths:
        articles.extend(read_articles(path))
    if max_articles is not None:
        articles = articles[:max_articles]
    if progress:
        print(f"adapt: {len(articles):,} articles from {len(paths)} file(s)", file=sys.stderr, flush=True)
    return adapt_base(base, articles, out, settings, sources=[str(p) for p in paths], overwrite=overwrite, progress=progress)
