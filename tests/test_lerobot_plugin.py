"""The suite as a LeRobot env plugin: `--env.type=tabletop` through LeRobot's own factory."""

import numpy as np

from sim.robot import NUM_JOINTS


def test_lerobot_discovers_and_builds_the_env():
    from lerobot.envs.factory import make_env, make_env_config
    from lerobot.envs.utils import preprocess_observation
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    config = make_env_config("tabletop", task="push_yellow_cube_left")
    envs = make_env(config, n_envs=1)
    vec_env = envs["tabletop"][0]
    try:
        obs, _ = vec_env.reset(seed=[0])
        batch = preprocess_observation(obs)
        assert batch["observation.images.front"].shape == (1, 3, 128, 128)
        assert batch["observation.images.wrist"].shape == (1, 3, 128, 128)
        assert batch["observation.state"].shape == (1, NUM_JOINTS)
        assert vec_env.call("task")[0] == "push_yellow_cube_left"
        assert "yellow" in vec_env.call("task_description")[0]
        action = np.asarray(obs["agent_pos"], dtype=np.float32)
        _, reward, terminated, _, _ = vec_env.step(action)
        assert reward.shape == (1,) and not terminated[0]
    finally:
        vec_env.close()
