"""The in-memory training data matches what LeRobotDataset with delta_timestamps returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vla.models.configuration_vla import preset
from vla.training.data import ChunkDataset, dataset_normalization, open_lerobot_dataset


@pytest.mark.slow
def test_cached_chunks_equal_lerobot_delta_timestamps(recorded_dataset):
    dataset = recorded_dataset
    config = preset("debug", chunk_length=12)
    source = open_lerobot_dataset(dataset, config)
    normalization = dataset_normalization(source)
    cached = ChunkDataset(source, config, normalization, cache_in_memory=True)
    direct = ChunkDataset(source, config, normalization, cache_in_memory=False)
    assert len(cached) == len(direct) == source.num_frames
    last_of_first_episode = source.meta.episodes[0]["dataset_to_index"] - 1
    for index in (
        0,
        5,
        last_of_first_episode - 3,
        last_of_first_episode,
        last_of_first_episode + 1,
        len(cached) - 1,
    ):
        a, b = cached[index], direct[index]
        assert a.task == b.task
        torch.testing.assert_close(a.state, b.state)
        torch.testing.assert_close(a.actions, b.actions)
        assert torch.equal(a.action_is_pad, b.action_is_pad)
        # Sequential decoding and LeRobot's seek-and-decode give the same frames (up to rounding).
        assert (a.images.int() - b.images.int()).abs().max() <= 1
    assert cached[last_of_first_episode].action_is_pad.sum() == config.chunk_length - 1
    assert np.all(cached.arrays.frames["observation.images.front"].std(axis=(1, 2, 3)) > 5)
