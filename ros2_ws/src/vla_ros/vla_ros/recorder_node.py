"""recorder_node: teleoperation from ROS topics into a LeRobot v3 dataset, through `vla record`'s writer.

Cameras, joint states (the observation), the commanded action (the leader arm's joint states or the
first point of a JointTrajectory) and the task string are sampled at the control rate while an episode
is recording. std_srvs/Trigger services: ~/start_episode, ~/save_episode, ~/discard_episode. Every saved
episode is complete on disk when save returns (`vla.data.recorder.DatasetRecorder`), so a crash loses
only the episode being recorded. Frames are skipped (and counted) while any input is stale.
"""

from __future__ import annotations

import json
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros import images, parameters
from vla_ros.safety import stale_inputs
from vla_ros.spin import run
from vla_ros.topics import LATCHED, subscribe_cameras
from vla_ros.units import PolicyUnits, ordered_positions


class RecorderNode(Node):
    def __init__(self, node_name: str = "vla_recorder", **kwargs):
        super().__init__(node_name, **kwargs)
        parameters.declare(self, parameters.RECORDER)
        p = self.p = parameters.values(self, parameters.RECORDER)
        if not p["dataset_root"]:
            raise ValueError("parameter dataset_root is empty: set it to the dataset folder to write")
        self.units = PolicyUnits(tuple(p["joint_names"]), p["gripper_joint"], *p["gripper_range_rad"])
        self.frames: dict[str, np.ndarray] = {}
        self.times: dict[str, float | None] = dict.fromkeys([*p["camera_names"], "joint_states", "action"])
        self.state = self.action = None
        self.task = ""
        self.recorder = None
        self.recording = False
        self.skipped = 0
        subscribe_cameras(self, p, self._on_image)
        self.create_subscription(
            JointState, p["joint_states_topic"], self._on_joints, qos_profile_sensor_data
        )
        action_type = JointState if p["action_type"] == "joint_state" else JointTrajectory
        self.create_subscription(action_type, p["action_topic"], self._on_action, 10)
        self.create_subscription(String, p["instruction_topic"], self._on_task, LATCHED)
        self.create_service(Trigger, "~/start_episode", self._on_start)
        self.create_service(Trigger, "~/save_episode", self._on_save)
        self.create_service(Trigger, "~/discard_episode", self._on_discard)
        self.create_timer(1.0 / p["control_rate_hz"], self._tick)

    # ----- inputs ----------------------------------------------------------------------------------
    def _on_image(self, camera: str, topic: str, msg) -> None:
        try:
            frame = images.message_to_rgb(topic, msg, self.p["image_width"], self.p["image_height"])
        except images.ImageError as error:
            self.get_logger().error(str(error))
            return
        self.frames[camera] = frame
        self.times[camera] = time.monotonic()

    def _on_joints(self, msg: JointState) -> None:
        try:
            self.state = self.units.to_policy(
                ordered_positions(msg.name, msg.position, self.units.joint_names)
            )
            self.times["joint_states"] = time.monotonic()
        except ValueError as error:
            self.get_logger().error(str(error))

    def _on_action(self, msg) -> None:
        try:
            if isinstance(msg, JointTrajectory):
                if not msg.points:
                    return
                radians = ordered_positions(msg.joint_names, msg.points[0].positions, self.units.joint_names)
            else:
                radians = ordered_positions(msg.name, msg.position, self.units.joint_names)
        except ValueError as error:
            self.get_logger().error(f"{self.p['action_topic']}: {error}")
            return
        self.action = self.units.to_policy(radians)
        self.times["action"] = time.monotonic()

    def _on_task(self, msg: String) -> None:
        self.task = msg.data.strip()

    # ----- episodes --------------------------------------------------------------------------------
    def _open_dataset(self) -> None:
        from vla.data.features import so101_features
        from vla.data.recorder import DatasetRecorder

        sizes = {c: self.frames[c].shape[:2] for c in self.p["camera_names"]}
        self.recorder = DatasetRecorder(
            self.p["dataset_root"],
            fps=round(self.p["control_rate_hz"]),
            features=so101_features(sizes),
            vcodec=self.p["vcodec"],
        )
        self.get_logger().info(
            f"dataset {self.p['dataset_root']}: {self.recorder.num_episodes} episodes so far"
        )

    def _on_start(self, request, response):
        stale = stale_inputs(time.monotonic(), self.times, self.p["max_frame_age_s"])
        response.success = not self.recording and not stale and bool(self.task)
        if self.recording:
            response.message = "already recording: save or discard first"
        elif stale:
            response.message = "inputs missing or stale: " + ", ".join(stale)
        elif not self.task:
            response.message = f"no task string yet on {self.p['instruction_topic']}"
        else:
            if self.recorder is None:
                self._open_dataset()
            self.recording, self.skipped = True, 0
            response.message = json.dumps({"episode": self.recorder.num_episodes, "task": self.task})
        return response

    def _on_save(self, request, response):
        if not self.recording or self.recorder.frames_in_episode == 0:
            response.success, response.message = False, "nothing recorded: start an episode first"
            return response
        frames = self.recorder.frames_in_episode
        seconds = self.recorder.save_episode()
        self.recording = False
        response.success = True
        response.message = json.dumps(
            {
                "episode": self.recorder.num_episodes - 1,
                "frames": frames,
                "skipped": self.skipped,
                "save_s": seconds,
            }
        )
        return response

    def _on_discard(self, request, response):
        if self.recording:
            self.recorder.discard_episode()
        response.success, response.message = (
            self.recording,
            "discarded" if self.recording else "not recording",
        )
        self.recording = False
        return response

    def _tick(self) -> None:
        if not self.recording:
            return
        if stale_inputs(time.monotonic(), self.times, self.p["max_frame_age_s"]):
            self.skipped += 1
            return
        self.recorder.add_frame(dict(self.frames), self.state, self.action, self.task)

    def destroy_node(self) -> None:
        if self.recorder is not None:
            self.recorder.close()  # drops an unfinished episode, finalizes the dataset
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run(RecorderNode, args)


if __name__ == "__main__":
    main()
