"""Task metrics: perplexity and bits per character, and thin wrappers over the standard
libraries — seqeval for entity-level scores, sacrebleu for BLEU and chrF."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def perplexity(total_nll: float, tokens: int) -> float:
    """exp(Σ −log p(w_t) / N), the natural-log negative log-likelihood summed over N tokens."""
    if tokens <= 0:
        raise ValueError(f"perplexity needs at least one token, got {tokens}")
    return math.exp(total_nll / tokens)


def bits_per_char(total_nll: float, chars: int) -> float:
    """Σ −log₂ p(c_t) / N: the summed natural-log NLL over N characters, in bits."""
    if chars <= 0:
        raise ValueError(f"bits_per_char needs at least one character, got {chars}")
    return total_nll / chars / math.log(2)


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                  scheme: str = "IOB2") -> dict:
    """Entity-level precision, recall and F1 (seqeval, strict mode) for tag sequences."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import BILOU, IOB2, IOBES

    _check_aligned(gold, predicted)
    schemes = {"IOB2": IOB2, "IOBES": IOBES, "BIOES": IOBES, "BILOU": BILOU}
    if scheme not in schemes:
        raise ValueError(f"unknown tagging scheme {scheme!r}; one of {sorted(schemes)}")
    kwargs = dict(mode="strict", scheme=schemes[scheme], zero_division=0)
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    return {
        "precision": precision_score(gold, predicted, **kwargs),
        "recall": recall_score(gold, predicted, **kwargs),
        "f1": f1_score(gold, predicted, **kwargs),
    }


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Share of tokens whose predicted tag equals the gold tag (POS tagging's metric)."""
    _check_aligned(gold, predicted)
    total = sum(len(s) for s in gold)
    if total == 0:
        raise ValueError("token_accuracy needs at least one token")
    return sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps)) / total


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, default 13a tokenisation), one reference per sentence."""
    import sacrebleu

    _check_same_count(hypotheses, references)
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu), one reference per sentence."""
    import sacrebleu

    _check_same_count(hypotheses, references)
    return sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score


def accuracy(gold: Sequence, predicted: Sequence) -> float:
    """Share of equal labels."""
    _check_same_count(gold, predicted)
    if not len(gold):
        raise ValueError("accuracy needs at least one example")
    return float(np.mean([g == p for g, p in zip(gold, predicted)]))


def macro_f1(gold: Sequence, predicted: Sequence) -> float:
    """Unweighted mean over the gold and predicted classes of each class's F1."""
    _check_same_count(gold, predicted)
    scores = []
    for label in sorted(set(gold) | set(predicted), key=str):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def _check_same_count(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"expected as many predictions as references, got {len(b)} and {len(a)}")


def _check_aligned(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    _check_same_count(gold, predicted)
    for k, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"sentence {k}: {len(g)} gold tags but {len(p)} predicted")
