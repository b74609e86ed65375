"""Role words (vla/models/role_words.py): each instruction-pointer role reads the instruction's words in their
places, so the destination's colour is not the object's even where the sentence embedding cannot tell the
two orders apart."""

from __future__ import annotations

import numpy as np
import torch

from vla.models.pointer import InstructionPointer
from vla.models.role_words import RoleWords

COLOURS, TOKENS, DIM, WORD_DIM, MAX_WORDS = 6, 8, 24, 16, 12
TEMPLATES = (  # word ids: 0 pad, then a few fixed words; a colour c is the id 10 + c
    lambda a, b: [1, 2, 10 + a, 3, 4, 2, 10 + b, 3],  # "stack the <a> cube on the <b> cube"
    lambda a, b: [5, 2, 10 + a, 6, 4, 7, 8, 2, 10 + b, 6],  # "put the <a> block on top of the <b> block"
)


def stack_scenes(rng, ordered_pairs, count, colours):
    """(sentence (B, C), words (B, L), image tokens (B, M, D), (B, 2) the tokens showing the object and the
    destination) for "stack <a> on <b>" in scenes of a, b and a third colour. The sentence is order-free
    (a mean over the words: a + b), as MiniLM's mean-pooled embedding nearly is."""
    sentence, words, images, where = [], [], [], []
    for _ in range(count):
        a, b = ordered_pairs[int(rng.integers(len(ordered_pairs)))]
        third = int(rng.choice([c for c in range(COLOURS) if c not in (a, b)]))
        image = rng.normal(0.0, 0.3, (TOKENS, DIM))
        slots = rng.choice(TOKENS, 3, replace=False)
        for colour, slot in zip((a, b, third), slots, strict=True):
            image[slot] += colours[colour]
        ids = TEMPLATES[int(rng.integers(len(TEMPLATES)))](a, b)
        words.append(ids + [0] * (MAX_WORDS - len(ids)))
        sentence.append(np.eye(COLOURS)[a] + np.eye(COLOURS)[b] + rng.normal(0.0, 0.05, COLOURS))
        images.append(image)
        where.append(slots[:2])
    as_float = lambda a: torch.tensor(np.array(a), dtype=torch.float32)  # noqa: E731
    return as_float(sentence), torch.tensor(words), as_float(images), torch.tensor(np.array(where))


def trained_role_accuracy(with_role_words: bool) -> torch.Tensor:
    """(2,) the share of held-out ordered pairs (their reverse trained) whose object and destination the
    pointer's likeliest token finds, after training the pointing of both roles on the others."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    colours = rng.normal(0.0, 1.0, (COLOURS, DIM))
    ordered = [(a, b) for a in range(COLOURS) for b in range(COLOURS) if a != b]
    held_out = [(a, b) for a, b in ordered if a > b and (a + b) % 3 == 0]  # (b, a) stays in training
    train = stack_scenes(rng, [p for p in ordered if p not in held_out], 2000, colours)
    test = stack_scenes(rng, held_out, 400, colours)
    embedding = torch.nn.Embedding(10 + COLOURS, WORD_DIM).requires_grad_(False)  # untrained word vectors
    role_words = RoleWords(COLOURS, WORD_DIM, 2, MAX_WORDS) if with_role_words else None
    pointer = InstructionPointer(COLOURS, DIM, TOKENS, role_words=role_words)

    def log_pointing(sentence, words, images):
        instruction = sentence if role_words is None else role_words(embedding(words), words != 0)
        return pointer.log_role_absence(instruction, images)  # (B, 2, M + 2)

    optimizer = torch.optim.AdamW(pointer.parameters(), lr=3e-3)
    for step in range(600):
        batch = slice(step * 64 % 2000, step * 64 % 2000 + 64)
        sentence, words, images, where = (part[batch] for part in train)
        loss = -log_pointing(sentence, words, images).gather(2, where.unsqueeze(-1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sentence, words, images, where = test
    with torch.no_grad():
        answers = log_pointing(sentence, words, images).argmax(dim=-1)  # (B, 2)
    return (answers == where).float().mean(dim=0)


def test_each_role_finds_its_own_colour_in_orders_it_never_saw():
    """Stack <a> on <b>, trained on (b, a) but never on (a, b): reading the words in their places both roles
    find their own cube; from the order-free sentence alone the two roles cannot be told apart, and one of
    them lands on the other's cube about half the time."""
    with_words = trained_role_accuracy(with_role_words=True)
    sentence_only = trained_role_accuracy(with_role_words=False)
    assert with_words.min() > 0.9, with_words
    assert sentence_only.min() < 0.7, sentence_only


def test_only_the_instructions_words_count_and_their_places_from_either_end():
    """Whatever the pads' embeddings hold, an instruction reads the same; the same words padded to another
    length read the same too; and a word's place counts (swapping the two colours changes both roles)."""
    torch.manual_seed(0)
    role_words = RoleWords(COLOURS, WORD_DIM, 2, MAX_WORDS)
    embedding = torch.nn.Embedding(10 + COLOURS, WORD_DIM)
    words = torch.tensor([TEMPLATES[0](1, 2) + [0] * 4, TEMPLATES[0](2, 1) + [0] * 4])
    read = role_words(embedding(words), words != 0)  # (2, R, F)
    noisy = embedding(words) + (words == 0).float().unsqueeze(-1) * torch.randn(2, MAX_WORDS, WORD_DIM)
    torch.testing.assert_close(role_words(noisy, words != 0), read)
    longer = RoleWords(COLOURS, WORD_DIM, 2, MAX_WORDS + 4)
    longer.load_state_dict(
        {
            k: v if v.shape[0] != MAX_WORDS else torch.cat([v, torch.randn(4, *v.shape[1:])])
            for k, v in role_words.state_dict().items()
        }
    )
    padded = torch.cat([words, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(longer(embedding(padded), padded != 0), read)
    assert (read[0] - read[1]).abs().amax(dim=-1).min() > 1e-3  # both roles read the order
