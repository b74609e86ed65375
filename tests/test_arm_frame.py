"""The objects token's bearing and reach of the instruction's objects (vla/models/arm_frame.py): what they
compute, that a trained policy gains them unchanged, that they move the actions once trained, and that they
survive a checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.test_runtime import observation
from vla.models.arm_frame import ArmFrameFeatures
from vla.models.configuration_vla import preset
from vla.models.normalization import Normalization, RangeNormalizer

LOW, HIGH = np.full(22, -0.4, np.float32), np.full(22, 0.4, np.float32)  # metres, every value


def test_features_are_the_bearing_and_reach_from_the_base():
    features = ArmFrameFeatures(8, LOW, HIGH)
    metres = np.zeros((2, 22), np.float32)
    metres[0, 16:19] = (0.2, 0.2, 0.015)  # the object, 45 degrees to the left
    metres[0, 19:22] = (0.1, -0.1, 0.0)  # the destination, 45 degrees to the right
    metres[1, 16:19] = (0.3, 0.0, 0.015)  # straight ahead; no destination (the origin)
    shown = torch.from_numpy(RangeNormalizer(LOW, HIGH).normalize(metres))
    got = features.features(shown).numpy()
    reach = (math.hypot(0.2, 0.2) - 0.2) / 0.1, (math.hypot(0.1, 0.1) - 0.2) / 0.1
    np.testing.assert_allclose(got[0], [math.pi / 4, reach[0], -math.pi / 4, reach[1]], atol=1e-5)
    np.testing.assert_allclose(got[1], [0.0, 1.0, 0.0, -2.0], atol=1e-5)
    assert not features(shown).any()  # the projection starts at zero


def located_bundle(arm_frame: bool):
    from tests.test_model import make_bundle, with_objects

    bundle = make_bundle(seed=3)
    data = Normalization(bundle.normalization.state, bundle.normalization.action, RangeNormalizer(LOW, HIGH))
    return with_objects(bundle, data, token=True, arm_frame=arm_frame)


def test_a_policy_gains_the_features_unchanged_and_they_move_its_actions_once_trained(tmp_path):
    from vla.models.checkpoint import load_checkpoint, save_checkpoint
    from vla.policy import VLAPolicy

    plain = located_bundle(arm_frame=False)
    obs = observation(plain.config.vision.image_size)
    before = VLAPolicy(plain).infer(obs)["actions"]
    located = located_bundle(arm_frame=True)  # the same seed, with the features added
    assert located.config.arm_frame_features and located.model.objects.arm_frame is not None
    np.testing.assert_array_equal(VLAPolicy(located).infer(obs)["actions"], before)
    with torch.no_grad():
        torch.nn.init.normal_(located.model.objects.arm_frame.proj.weight, std=5.0)
        located.model.objects.environment_head.proj.bias[-6:] = torch.tensor([0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
    after = VLAPolicy(located).infer(obs)["actions"]
    assert not np.allclose(after, before)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "checkpoint", located))
    np.testing.assert_allclose(loaded.model.objects.arm_frame.low.numpy(), LOW[-6:])
    np.testing.assert_allclose(VLAPolicy(loaded).infer(obs)["actions"], after)


def test_the_features_need_the_objects_token():
    with pytest.raises(ValueError, match="arm_frame_features reads the objects token"):
        preset("debug", environment_state_dim=22, arm_frame_features=True)
