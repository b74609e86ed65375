"""Running vla_ros nodes as processes and talking to them from the test over a private ROS domain."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "ros2_ws" / "src" / "vla_ros" / "config" / "so101.yaml"
BIN = Path(os.sys.executable).parent
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


# Nodes started from tests keep their state files (policy_node's e-stop latch) in a folder of their test
# (`NodeProcess`: beside its log), never in the user's ~/.local/state; other processes get this one.
STATE_HOME = Path(tempfile.mkdtemp(prefix="vla_ros_state_"))
atexit.register(shutil.rmtree, STATE_HOME, True)


def ros_env(domain: int, state_home: Path = STATE_HOME) -> dict[str, str]:
    return os.environ | {
        "XDG_STATE_HOME": str(state_home),
        "ROS_DOMAIN_ID": str(domain),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
        "PYTHONUNBUFFERED": "1",
    }


class NodeProcess:
    """`<entry point> --ros-args --params-file so101.yaml -p k:=v ...`, output to a log file.

    Its state files go to `<log folder>/ros_state`: a node restarted in the same test finds its e-stop latch
    again, while a latch left by another test (which may end with the e-stop pressed) never reaches it."""

    def __init__(self, executable: str, log: Path, domain: int, **params):
        self.log = log
        env = ros_env(domain, log.parent / "ros_state")
        command = [str(BIN / executable), "--ros-args", "--params-file", str(CONFIG)]
        for key, value in params.items():
            command += ["-p", f"{key}:={value}"]
        self.process = subprocess.Popen(
            command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=REPO
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text()

    def dump_stacks(self, settle_s: float = 1.0) -> str:
        """Every thread's Python stack (vla_ros.spin registers SIGUSR1), for a node that stopped answering."""
        if self.alive():
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(settle_s)
        return self.output()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class DriverNode:
    """The test's own rclpy node in its own context (domain set via the environment before init)."""

    def __init__(self, domain: int, name: str = "test_driver"):
        self.domain = domain
        os.environ["ROS_DOMAIN_ID"] = str(domain)
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.clients: dict[str, object] = {}

    def spin_for(
        self, seconds: float, every: Callable[[], None] | None = None, period: float = 1 / 30
    ) -> None:
        """Spin for `seconds`, calling `every()` each `period` (the fake robot's publishing)."""
        end = time.monotonic() + seconds
        next_call = time.monotonic()
        while time.monotonic() < end:
            if every is not None and time.monotonic() >= next_call:
                every()
                next_call += period
            self.executor.spin_once(timeout_sec=max(0.0, min(0.005, next_call - time.monotonic())))

    def spin_until(self, condition: Callable[[], bool], timeout: float, every=None) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.spin_for(0.05, every)
            if condition():
                return True
        return False

    def call(
        self,
        service_type,
        name: str,
        request,
        timeout: float = 30.0,
        every=None,
        resend_s: float | None = None,
    ):
        """Call a service, spinning (and calling `every`, e.g. a fake robot's publish) until it answers.

        `resend_s` (idempotent requests only) sends the request again each `resend_s` seconds without an
        answer: with Fast DDS, `wait_for_service` can return before the server's response writer has
        matched this client, and that first response is then lost (seen in CI as a 30 s timeout).
        """
        client = self.client(service_type, name, timeout, every)
        futures = [client.call_async(request)]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            slice_s = min(resend_s or timeout, end - time.monotonic())
            if self.spin_until(lambda: any(f.done() for f in futures), slice_s, every):
                return next(f for f in futures if f.done()).result()
            futures.append(client.call_async(request))
        # A client whose responses stopped arriving (seen once, late in the policy node test) is dropped, so
        # the caller's retry matches a fresh one instead of waiting on the same lost route again.
        self.node.destroy_client(self.clients.pop(name))
        raise TimeoutError(f"service {name} did not answer")

    def client(self, service_type, name: str, timeout: float, every=None):
        """One client per service, created once and given time to match before its first request.

        The settle spin narrows the window in which a first response is lost (see `call`).
        """
        if name not in self.clients:
            client = self.node.create_client(service_type, name)
            if not client.wait_for_service(timeout_sec=timeout):
                raise TimeoutError(f"service {name} not available")
            self.spin_for(0.5, every)
            self.clients[name] = client
        return self.clients[name]

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


LIFECYCLE_CLIENT = """
import sys
from lifecycle_msgs.srv import ChangeState, GetState
from tests.ros_harness import DriverNode
domain, node, transition = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = DriverNode(domain, "lifecycle_client")
try:
    if transition:
        request = ChangeState.Request()
        request.transition.id = transition
        try:
            client.call(ChangeState, node + "/change_state", request, timeout=15)
        except TimeoutError:  # the state read next says whether it happened
            pass
    answer = client.call(GetState, node + "/get_state", GetState.Request(), timeout=15, resend_s=3)
    print(answer.current_state.label)
finally:
    client.close()
"""


def lifecycle_from_new_process(domain: int, transition: int = 0, node: str = "vla_policy") -> str:
    """Request a lifecycle transition (0: none) from a new process, as `ros2 lifecycle set` does, and return
    the node's state label read afterwards, or what went wrong. A transition that is not valid from the
    current state (e.g. one that already happened) is refused by the node and leaves the state as it was."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", LIFECYCLE_CLIENT, str(domain), node, str(transition)],
            capture_output=True, text=True, timeout=60, env=ros_env(domain), cwd=REPO,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "the lifecycle client process hung"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"the lifecycle client failed: {(done.stdout + done.stderr)[-2000:]}"
    return lines[-1]


def sent_time(info) -> float:
    """When the publisher sent a message, in `time.time()` seconds: the DDS source timestamp of the
    MessageInfo that rclpy passes to a two-argument subscription callback."""
    return info["source_timestamp"] * 1e-9


def image_message(frame: np.ndarray, encoding: str = "rgb8"):
    from sensor_msgs.msg import Image

    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding=encoding, step=frame.shape[1] * 3)
    msg.data = frame.tobytes()
    return msg


def joint_message(positions) -> object:
    from sensor_msgs.msg import JointState

    return JointState(name=JOINTS, position=[float(p) for p in positions])
