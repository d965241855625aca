"""The neural sentence-role classifier: a transformer encoder and a per-sentence head.

Each sentence is represented by its pooled token span (and/or its separator token), joined with
its position in the article, optionally passed through a BiGRU over the window's (or the whole
article's) sentences so neighbouring roles inform each other, then classified. An auxiliary head
predicts the corpus's fine-grained labels (multi-label) as extra training signal; it is unused at
inference.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from newsroles.model.spec import ModelSpec
from newsroles.model.windows import POSITION_BUCKETS, POSITION_EMBEDDING_DIM, n_features


def fp32_encoder(encoder: nn.Module) -> nn.Module:
    """`encoder` in float32, its config saying so: a base saved in bf16 or fp16 (as many hub
    checkpoints are) would otherwise load in that precision, clash with the fp32 head and train in
    half precision; half-precision speed comes from autocast (model/network/device.py), not the weights."""
    encoder.float()
    config = getattr(encoder, "config", None)
    if config is not None:  # what a saved folder's config.json says; transformers 5 calls it dtype, 4 torch_dtype
        setattr(config, "dtype" if hasattr(config, "dtype") else "torch_dtype", torch.float32)
    return encoder


ENCODE_CHUNK = 32  # windows per encoder call when labeling whole-article batches (SentenceRoleModel.encode)


class SentenceRoleModel(nn.Module):
    def __init__(self, encoder: nn.Module, spec: ModelSpec, n_labels: int, n_aux: int = 0):
        super().__init__()
        self.spec = spec
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        width = hidden * (2 if spec.pooling == "mean+sep" else 1)
        self.use_headline = spec.is_article and spec.headline_features
        if self.use_headline:
            width += hidden + 1  # sentence x headline, and their cosine
        self.use_positions = spec.is_article and spec.position_features
        if self.use_positions:
            self.position_embedding = nn.Embedding(POSITION_BUCKETS, POSITION_EMBEDDING_DIM)
            width += n_features(spec) + POSITION_EMBEDDING_DIM
        self.context = None
        if spec.is_article and spec.context_layer in ("gru", "article"):
            self.context = nn.GRU(width, spec.context_hidden, batch_first=True, bidirectional=True)
            width += 2 * spec.context_hidden
        self.dropout = nn.Dropout(spec.dropout)
        self.head = nn.Linear(width, n_labels)
        # Added to the logits; zero while training, then tuned on dev (training/recipes/label_bias.py).
        self.register_buffer("label_bias", torch.zeros(n_labels))
        # Divides the logits: 1 while training, then fitted on dev so confidences match accuracy
        # (training/recipes/temperature.py). Being a weight, every runtime (ONNX, bf16, int8) applies it.
        self.register_buffer("temperature", torch.ones(()))
        self.aux_head = nn.Linear(width, n_aux) if n_aux else None

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The encoder's hidden states. A whole-article batch (context_layer: article) holds every
        window of a long article, which at once could take gigabytes of attention: labeling (no
        gradients) reads such a batch ENCODE_CHUNK windows at a time. Other batches are capped in
        tokens where they are made (model/batching.py) and run whole, as large as the caller asked."""
        if torch.is_grad_enabled() or not self.spec.article_context or len(input_ids) <= ENCODE_CHUNK:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        parts = [
            self.encoder(input_ids=input_ids[at : at + ENCODE_CHUNK], attention_mask=attention_mask[at : at + ENCODE_CHUNK]).last_hidden_state
            for at in range(0, len(input_ids), ENCODE_CHUNK)
        ]
        return torch.cat(parts)

    def sentence_vectors(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encode(batch["input_ids"], batch["attention_mask"])
        parts = []
        if self.spec.pooling in ("mean", "mean+sep"):
            parts.append(torch.bmm(batch["pool"].to(hidden.dtype), hidden))
        if self.spec.pooling in ("sep", "mean+sep"):
            index = batch["sep_index"].unsqueeze(-1).expand(-1, -1, hidden.size(-1))
            parts.append(hidden.gather(1, index))
        if self.use_headline:
            sentence = parts[0]
            headline = torch.bmm(batch["title_pool"].to(hidden.dtype), hidden)  # (batch, 1, hidden)
            parts.append(sentence * headline)
            parts.append(nn.functional.cosine_similarity(sentence, headline, dim=-1, eps=1e-6).unsqueeze(-1))
        if self.use_positions:
            parts.append(batch["position_features"].to(hidden.dtype))
            parts.append(self.position_embedding(batch["position_index"]).to(hidden.dtype))
        x = torch.cat(parts, dim=-1)
        if self.context is not None and self.spec.article_context:
            x = torch.cat([x, self.article_context(x, batch["article_order"], batch["article_slot"]).to(x.dtype)], dim=-1)
        elif self.context is not None:
            x = torch.cat([x, self.run_context(x.float(), batch["sentence_mask"].sum(1)).to(x.dtype)], dim=-1)
        return self.dropout(x)

    def run_context(self, sequences: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The BiGRU over padded sequences (batch, steps, width) of the given lengths."""
        packed = pack_padded_sequence(sequences, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        ctx, _ = self.context(packed)
        return pad_packed_sequence(ctx, batch_first=True, total_length=sequences.size(1))[0]

    def article_context(self, x: torch.Tensor, order: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """The BiGRU over each article's sentences in order (model/windows.py article_layout),
        read back into the windows' (batch, sentences) grid."""
        flat = x.float().reshape(-1, x.size(-1))
        ctx = self.run_context(flat[order.clamp(min=0)], (order >= 0).sum(1))
        ctx = ctx.reshape(-1, ctx.size(-1))[slot.clamp(min=0)]
        return ctx * (slot >= 0).unsqueeze(-1).to(ctx.dtype)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.sentence_vectors(batch)
        aux = self.aux_head(x) if self.aux_head is not None else None
        return (self.head(x) + self.label_bias) / self.temperature, aux

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Folders saved before calibration have no temperature: they load as they were (T = 1).
        state_dict.setdefault(prefix + "temperature", torch.ones(()))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
