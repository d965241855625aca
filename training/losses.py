"""The training losses: weighted (optionally focal) cross-entropy on roles, BCE on the corpus's own labels
and on auxiliary corpora's targets."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from newsroles.model.article import Article


def class_weights(articles: list[Article], labels: list[str], scheme: str) -> torch.Tensor | None:
    if scheme == "none":
        return None
    counts = np.array([sum(s.label == name for a in articles for s in a.sentences) for name in labels], dtype=float)
    counts = np.maximum(counts, 1.0)
    weights = counts.sum() / (len(labels) * counts)
    if scheme == "sqrt":
        weights = np.sqrt(weights)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def role_loss(logits, targets, weights, focal_gamma: float, label_smoothing: float) -> torch.Tensor:
    logits, targets = logits.reshape(-1, logits.size(-1)), targets.reshape(-1)
    keep = targets != -100
    if not keep.any():
        return logits.sum() * 0.0
    logits, targets = logits[keep].float(), targets[keep]
    if focal_gamma <= 0:
        return nn.functional.cross_entropy(logits, targets, weight=weights, label_smoothing=label_smoothing)
    log_p = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).squeeze(1)
    loss = -((1 - log_p.exp()) ** focal_gamma) * log_p
    if weights is not None:
        w = weights[targets]
        return (loss * w).sum() / w.sum()
    return loss.mean()


def aux_loss(aux_logits, aux_targets) -> torch.Tensor:
    keep = aux_targets >= 0
    if aux_logits is None or not keep.any():
        return torch.zeros(())
    return nn.functional.binary_cross_entropy_with_logits(aux_logits.float()[keep], aux_targets[keep])


def grouped_aux_loss(aux_logits, aux_targets, groups: list[tuple[list[int], float]]) -> torch.Tensor:
    """The sum over `groups` of weight x `aux_loss` on those columns: each auxiliary corpus's
    targets (and the labeled corpus's own labels) weighted apart (training/data/auxiliary.py)."""
    if aux_logits is None or not groups:
        return torch.zeros(())
    parts = [weight * aux_loss(aux_logits[..., columns], aux_targets[..., columns]).to(aux_logits.device) for columns, weight in groups]
    return torch.stack(parts).sum()


def distill_loss(logits, soft_targets, mask, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) at temperature T, times T² (Hinton et al. 2015), averaged over the
    sentences `mask` keeps.

    The teacher gives probabilities, not logits: its log-probabilities divided by T and
    renormalised are exactly its softmax at T (log q is a logit vector up to a constant), so
    teacher and student are softened the same way. Zero where the student's softmax equals the
    teacher's; the gradient pulls the student's logits toward the teacher's log-probabilities.
    """
    logits, soft, mask = logits.reshape(-1, logits.size(-1)), soft_targets.reshape(-1, soft_targets.size(-1)), mask.reshape(-1)
    if not mask.any():
        return logits.sum() * 0.0
    student = torch.log_softmax(logits[mask].float() / temperature, dim=-1)
    # Rounded files hold exact zeros: floor them so log() stays finite.
    teacher = torch.log_softmax(torch.log(soft[mask].float().clamp_min(1e-6)) / temperature, dim=-1)
    kl = (teacher.exp() * (teacher - student)).sum(dim=-1)
    return kl.mean() * temperature**2
