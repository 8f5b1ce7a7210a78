"""The batch samplers of ``medai_lessons.data`` draw exactly the random streams the trainers drew before them.

The shipped weights and the numbers on the pages come from these streams, so the shared functions
must give the same indices, in the same order, and leave the generator in the same state as the
code each trainer carried until issue 22 (copied below as the reference).
"""

from __future__ import annotations

import pytest
import torch

from medai_lessons.data import _next_epoch_batch, _random_batch
from medai_lessons.stable_diffusion.train_digits import _batches

CASES = [(1797, 128), (1797, 64), (100, 7), (64, 64), (10, 3)]


def _old_ddpm_batches(n: int, batch: int, generator: torch.Generator, count: int) -> list[torch.Tensor]:
    """``_TrainingRun.next_batch``'s index part as it was at 1f51374 (src/medai_lessons/diffusion/train.py)."""
    sampler = {"perm": torch.empty(0, dtype=torch.int64), "pos": 0}
    out = []
    for _ in range(count):
        if sampler["pos"] + batch > sampler["perm"].numel():
            sampler["perm"] = torch.randperm(n, generator=generator)
            sampler["pos"] = 0
        out.append(sampler["perm"][sampler["pos"] : sampler["pos"] + batch])
        sampler["pos"] += batch
        torch.randn(3, generator=generator)  # another draw between batches, as a shared generator sees
    return out


def _old_sd_batches(n: int, batch_size: int, generator: torch.Generator):
    """``train_digits._batches`` as it was at 1f51374."""
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n - batch_size + 1, batch_size):
            yield perm[i : i + batch_size]


@pytest.mark.parametrize(("n", "batch"), CASES)
def test_next_epoch_batch_draws_the_ddpm_trainers_old_stream(n, batch):
    """40 batches (several epochs) with other draws in between: same indices and generator state."""
    old_gen, new_gen = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    old = _old_ddpm_batches(n, batch, old_gen, 40)
    perm, pos = torch.empty(0, dtype=torch.int64), 0
    for expected in old:
        idx, perm, pos = _next_epoch_batch(perm, pos, n, batch, new_gen)
        torch.randn(3, generator=new_gen)
        assert torch.equal(idx, expected)
    assert torch.equal(old_gen.get_state(), new_gen.get_state())


@pytest.mark.parametrize(("n", "batch"), CASES)
def test_sd_batches_draw_the_sd_trainers_old_stream(n, batch):
    """The SD trainer's endless batches, interleaved with its noise draws, are unchanged."""
    old_gen, new_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    old, new = _old_sd_batches(n, batch, old_gen), _batches(n, batch, new_gen)
    for _ in range(40):
        assert torch.equal(next(new), next(old))
        assert torch.equal(torch.randn(2, generator=new_gen), torch.randn(2, generator=old_gen))
    assert torch.equal(old_gen.get_state(), new_gen.get_state())


def test_an_epoch_holds_every_index_once_and_drops_the_short_tail():
    """Within an epoch no index repeats; 10 images in batches of 3 give 3 batches, then a new permutation."""
    gen = torch.Generator().manual_seed(0)
    perm, pos = torch.empty(0, dtype=torch.int64), 0
    epoch = []
    for _ in range(3):
        idx, perm, pos = _next_epoch_batch(perm, pos, 10, 3, gen)
        epoch.append(idx)
    first_perm = perm
    drawn = torch.cat(epoch).tolist()
    assert drawn == first_perm[:9].tolist() and len(set(drawn)) == 9
    _, perm, pos = _next_epoch_batch(perm, pos, 10, 3, gen)
    assert perm is not first_perm and pos == 3


def test_random_batch_is_the_old_fresh_permutation_slice():
    """SimCLR's and CLIP's per-step subset: ``torch.randperm(n)[:k]`` from the same generator, distinct indices."""
    old_gen, new_gen = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(20):
        idx = _random_batch(1797, 128, new_gen)
        assert torch.equal(idx, torch.randperm(1797, generator=old_gen)[:128])
        assert idx.unique().numel() == 128
    assert torch.equal(old_gen.get_state(), new_gen.get_state())
