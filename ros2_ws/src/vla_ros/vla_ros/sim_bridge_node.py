"""sim_bridge_node: the MuJoCo tabletop suite as a ROS 2 robot, for closed-loop runs without hardware.

At the control rate it follows <controller>/joint_trajectory (like a joint_trajectory_controller),
steps the simulation, and publishes camera/<name>/image_raw (rgb8), joint_states (radians), the
instruction (latched) and success (latched std_msgs/Bool). The ~/reset service (std_srvs/Trigger)
starts the next seeded episode; its response message is JSON with the seed, task and instruction.
"""

from __future__ import annotations

import json

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros import parameters
from vla_ros.spin import run
from vla_ros.topics import LATCHED
from vla_ros.trajectory import TrajectoryFollower, trajectory_points


class SimBridgeNode(Node):
    def __init__(self, node_name: str = "vla_sim_bridge", **kwargs):
        super().__init__(node_name, **kwargs)
        parameters.declare(self, parameters.SIM_BRIDGE)
        self.p = parameters.values(self, parameters.SIM_BRIDGE)
        import sim  # noqa: F401  (headless GL before mujoco loads)
        from sim.env import TabletopEnv
        from sim.scene import SceneConfig
        from sim.tasks import suite_tasks

        self.tasks = [self.p["task"]] if self.p["task"] else [t.name for t in suite_tasks(self.p["suite"])]
        size = self.p["image_size"]
        self.env = TabletopEnv(
            task=self.tasks[0],
            suite=self.p["suite"],
            instructions=self.p["instructions"],
            scene_config=SceneConfig(image_height=size, image_width=size),
            episode_seconds=self.p["episode_seconds"] or None,
        )
        self.joint_names = list(self.p["joint_names"])
        self.period_s = 1.0 / self.p["control_rate_hz"]
        self.image_pubs = {
            name: self.create_publisher(Image, f"camera/{name}/image_raw", qos_profile_sensor_data)
            for name in self.p["camera_names"]
        }
        self.joints_pub = self.create_publisher(
            JointState, self.p["joint_states_topic"], qos_profile_sensor_data
        )
        self.instruction_pub = self.create_publisher(String, self.p["instruction_topic"], LATCHED)
        self.success_pub = self.create_publisher(Bool, "success", LATCHED)
        self.create_subscription(
            JointTrajectory, f"{self.p['controller_name']}/joint_trajectory", self._on_trajectory, 10
        )
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.episode = -1
        self._start_episode()
        self.create_timer(self.period_s, self._tick)

    def _start_episode(self) -> dict:
        self.episode += 1
        seed = self.p["seed"] + self.episode
        task = self.tasks[self.episode % len(self.tasks)]
        self.observation, info = self.env.reset(seed=seed, options={"task": task})
        self.follower = TrajectoryFollower(self._joints_rad(), self.period_s)
        self.done = False
        self.success = False
        self.steps = 0
        self.instruction_pub.publish(String(data=info["task_description"]))
        self.success_pub.publish(Bool(data=False))
        self.get_logger().info(f"episode {self.episode}: seed {seed}, {task}: {info['task_description']!r}")
        return {"seed": seed, "task": task, "instruction": info["task_description"]}

    def _joints_rad(self) -> np.ndarray:
        return self.env.units.to_radians(self.observation["agent_pos"])

    def _on_reset(self, request, response):
        response.message = json.dumps(self._start_episode())
        response.success = True
        return response

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        try:
            times, points = trajectory_points(msg, self.joint_names)
            self.follower.receive(times, points)
        except ValueError as error:
            self.get_logger().error(f"{self.p['controller_name']}/joint_trajectory rejected: {error}")

    def _tick(self) -> None:
        if not self.done:
            action = self.env.units.to_lerobot(self.follower.step())
            self.observation, _, terminated, truncated, info = self.env.step(action)
            self.steps += 1
            if info["is_success"] and not self.success:
                self.success = True
                self.success_pub.publish(Bool(data=True))
            self.done = terminated or truncated
        self._publish_observation()

    def _publish_observation(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for name, publisher in self.image_pubs.items():
            frame = self.observation["pixels"][name]
            msg = Image(height=frame.shape[0], width=frame.shape[1], encoding="rgb8", step=frame.shape[1] * 3)
            msg.header.stamp, msg.header.frame_id = stamp, f"{name}_camera"
            msg.data = frame.tobytes()
            publisher.publish(msg)
        joints = JointState(name=self.joint_names, position=self._joints_rad().tolist())
        joints.header.stamp = stamp
        self.joints_pub.publish(joints)

    def destroy_node(self) -> None:
        self.env.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run(SimBridgeNode, args)


if __name__ == "__main__":
    main()
