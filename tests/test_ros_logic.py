"""vla_ros's pure modules: units, image conversion, safety rules, chunk scheduling, trajectory following,
and the package's metadata, config and launch files checked against the code (no ROS graph needed)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from vla_ros import bridge_parameters, chunking, images, parameters, safety
from vla_ros.trajectory import TrajectoryFollower
from vla_ros.units import PolicyUnits, ordered_positions

PACKAGE = Path(__file__).resolve().parent.parent / "ros2_ws" / "src" / "vla_ros"
JOINTS = tuple(parameters.SO101_JOINTS)
NODE_SPECS = {"policy_node": parameters.POLICY, "sim_bridge_node": parameters.SIM_BRIDGE,
              "recorder_node": parameters.RECORDER, "robot_bridge_node": bridge_parameters.ROBOT_BRIDGE,
              "teleop_node": bridge_parameters.TELEOP}  # fmt: skip


def config() -> dict:
    return yaml.safe_load((PACKAGE / "config" / "so101.yaml").read_text())["/**"]["ros__parameters"]


def test_units_match_the_simulator():
    from sim.env import TabletopEnv

    env = TabletopEnv(task="pick_red_cube")
    try:
        sim_units = env.units
        cfg = config()
        units = PolicyUnits(JOINTS, "gripper", *cfg["gripper_range_rad"])
        q = np.array([0.3, -0.5, 1.0, -1.2, 2.0, 0.6])
        np.testing.assert_allclose(units.to_policy(q), sim_units.to_lerobot(q), atol=1e-4)
        np.testing.assert_allclose(units.to_ros(units.to_policy(q)), q, atol=1e-6)
        # The config's limits are the MJCF's (rounded to 1e-5 rad).
        np.testing.assert_allclose(cfg["joint_lower_limits"], sim_units.low_rad, atol=1e-5)
        np.testing.assert_allclose(cfg["joint_upper_limits"], sim_units.high_rad, atol=1e-5)
    finally:
        env.close()


def test_joint_state_ordering_and_errors():
    names = list(reversed(JOINTS))
    q = ordered_positions(names, [6, 5, 4, 3, 2, 1], JOINTS)
    np.testing.assert_array_equal(q, [1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match=r"missing joint\(s\) \['gripper'\]"):
        ordered_positions(JOINTS[:5], [0] * 5, JOINTS)
    with pytest.raises(ValueError, match=r"non-finite position for joint\(s\) \['elbow_flex'\]"):
        ordered_positions(JOINTS, [0, 0, float("nan"), 0, 0, 0], JOINTS)


def test_image_conversion():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(images.image_to_rgb("cam", "rgb8", 4, 5, 15, rgb.tobytes()), rgb)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    np.testing.assert_array_equal(images.image_to_rgb("cam", "bgr8", 4, 5, 15, bgr.tobytes()), rgb)
    padded = np.concatenate([rgb.reshape(4, 15), np.zeros((4, 1), np.uint8)], axis=1)  # step 16
    np.testing.assert_array_equal(images.image_to_rgb("cam", "rgb8", 4, 5, 16, padded.tobytes()), rgb)
    with pytest.raises(images.ImageError, match="cam: unsupported encoding 'mono16'"):
        images.image_to_rgb("cam", "mono16", 4, 5, 10, bytes(40))
    with pytest.raises(images.ImageError, match=r"cam: 59 bytes of data, expected step\*height = 60"):
        images.image_to_rgb("cam", "rgb8", 4, 5, 15, rgb.tobytes()[:-1])
    with pytest.raises(images.ImageError, match="frame is 5x4, expected 128x128"):
        images.check_size("cam", rgb, 128, 128)
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    np.testing.assert_array_equal(images.compressed_to_rgb("cam", "png", buffer.getvalue()), rgb)
    with pytest.raises(images.ImageError, match="cannot decode"):
        images.compressed_to_rgb("cam", "jpeg", b"not an image")


def safety_config(**overrides) -> safety.SafetyConfig:
    values = dict(
        lower_rad=np.full(2, -1.0),
        upper_rad=np.full(2, 1.0),
        max_step_rad=np.full(2, 0.1),
        max_input_age_s=0.05,
    )
    return safety.SafetyConfig(**(values | overrides))


def test_safety_rules():
    assert safety.stale_inputs(10.0, {"front": 9.99, "joint_states": None, "wrist": 9.9}, 0.05) == [
        "joint_states (never received)",
        "wrist (0.100 s old)",
    ]
    # A new instruction at t = 9.95 s: plan only from inputs received after it.
    received = {"front": 9.99, "joint_states": None, "wrist": 9.95}
    assert safety.received_before(received, 9.95) == ["joint_states", "wrist"]
    assert safety.received_before({"front": 9.99, "wrist": 9.96}, 9.95) == []
    cfg = safety_config()
    targets = np.array([[5.0, 0.05], [5.0, -5.0], [0.2, 0.0]])
    out = safety.limit_commands(targets, np.zeros(2), cfg)
    np.testing.assert_allclose(out, [[0.1, 0.05], [0.2, -0.05], [0.2, 0.0]])  # limited to 0.1 per step
    assert np.all(np.abs(safety.limit_commands(np.full((30, 2), 9.0), np.zeros(2), cfg)) <= 1.0)  # clamped
    bad = np.zeros((4, 2))
    bad[2, 1] = np.nan
    answer = {"actions": np.zeros((4, 2)), "confidence": np.ones(4), "abstain": np.float32(0.0)}
    assert "chunk step(s) [2]" in safety.chunk_problem(answer | {"actions": bad})
    assert safety.chunk_problem(answer) is None
    assert safety.confidence_time_scale(np.full(4, 0.2), safety_config(low_confidence_threshold=0.5)) == 2.0
    held = safety_config(low_confidence_threshold=0.5, low_confidence_mode="hold")
    assert safety.confidence_time_scale(np.full(4, 0.2), held) is None
    assert safety.confidence_time_scale(np.full(4, 0.9), held) == 1.0
    with pytest.raises(ValueError, match="low_confidence_mode"):
        safety_config(low_confidence_mode="panic")
    estop = safety.EStop()
    estop.trigger()
    assert estop.latched
    estop.reset()
    assert not estop.latched and estop.triggers == 1


def test_commands_stay_inside_the_limits_when_the_start_is_outside():
    """The clamp comes after the rate limit: a measured joint 0.4 rad beyond its upper limit (within a wide
    tolerance) must not give commands beyond it (the old order sent 1.3, 1.2, 1.1 here)."""
    cfg = safety_config()
    out = safety.limit_commands(np.full((3, 2), 5.0), np.array([1.4, 0.0]), cfg)
    assert np.all(out <= cfg.upper_rad) and np.all(out >= cfg.lower_rad)
    np.testing.assert_allclose(out[:, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(out[:, 1], [0.1, 0.2, 0.3])  # the rate limit still holds inside
    out = safety.limit_commands(np.zeros((3, 2)), np.array([-1.4, 0.0]), cfg)  # from below, target inside
    np.testing.assert_allclose(out[:, 0], [-1.0, -0.9, -0.8])  # clamped, then rate limited from there


def test_implausible_joint_states_are_faults():
    cfg = safety_config(joint_limit_tolerance_rad=0.1, max_joint_speed_rad_s=10.0)
    check = safety.JointStateCheck(["pan", "lift"], cfg)
    assert check.check(np.array([0.5, 1.05]), 0.0) is None  # 0.05 rad beyond: within the tolerance
    fault = check.check(np.array([100.0, 0.0]), 0.033)  # finite but impossible
    assert fault.reason.startswith("joint_states: pan beyond the joint limits") and "lift" not in fault.reason
    assert "pan = 100.000 rad, limits [-1.000, 1.000]" in fault.detail
    assert check.check(np.array([100.0, 0.0]), 0.066).reason == fault.reason  # the same while it lasts
    back = check.check(np.array([0.5, 0.0]), 0.1)  # the first reading back is a jump from 100 rad
    assert back is not None and "pan moved faster than max_joint_speed_rad_s" in back.reason
    assert check.check(np.array([0.51, 0.0]), 0.133) is None  # then trusted again
    assert "lift beyond" in check.check(np.array([0.5, 1.4]), 0.166).reason  # 0.4 rad beyond
    # Speed: 10 rad/s over 0.033 s plus max_input_age_s (0.05 s) of jitter allows 0.83 rad.
    check.forget()
    assert check.check(np.array([0.0, 0.0]), 1.0) is None
    assert check.check(np.array([0.8, 0.0]), 1.033) is None
    assert "pan moved faster" in check.check(np.array([-0.1, 0.0]), 1.066).reason
    assert check.check(np.array([-0.1, 0.0]), 1.1) is None  # a robot that really moved: trusted again


def test_inputs_are_stale_by_receipt_time_or_header_stamp():
    cfg = safety_config(max_input_age_s=0.05, max_clock_offset_s=0.02)
    received = {"front": 9.99, "wrist": 9.9, "joint_states": None}
    assert safety.input_staleness(10.0, received, 100.0, {}, cfg) == {
        "wrist": ("late", pytest.approx(0.1)),
        "joint_states": ("never received", float("inf")),
    }
    fresh = {"front": 9.99, "joint_states": 9.99}
    # Frames keep coming (fresh by receipt) with a frozen stamp: stale once the stamp is older than
    # max_input_age_s + max_clock_offset_s (0.07 s).
    assert safety.input_staleness(10.0, fresh, 100.0, {"front": 99.95, "joint_states": 99.99}, cfg) == {}
    stale = safety.input_staleness(10.0, fresh, 100.0, {"front": 99.9, "joint_states": 99.99}, cfg)
    assert stale == {"front": ("old header.stamp", pytest.approx(0.1))}
    future = safety.input_staleness(10.0, fresh, 100.0, {"front": 100.5, "joint_states": 0.0}, cfg)
    assert future == {"front": ("header.stamp in the future", pytest.approx(-0.5))}  # 0.0: unstamped, ok


def test_input_hold_order_and_empty_instruction():
    from vla_ros.policy_inputs import Inputs, input_hold

    cfg = safety_config()
    inputs = Inputs(frame_times={"front": 9.99}, frame_stamps={"front": 0.0}, joints_time=9.99)
    inputs.receive_instruction("pick up the red cube", "instruction", 9.0)
    assert input_hold(inputs, False, 10.0, 50.0, cfg, "instruction") is None
    inputs.receive_instruction("  \t ", "instruction", 9.5)  # whitespace only: an error, not a task
    hold = input_hold(inputs, False, 10.0, 50.0, cfg, "instruction")
    assert hold.error and hold.reason.startswith("empty instruction on instruction")
    inputs.joint_fault = safety.JointFault("joint_states: pan beyond the joint limits", "pan = 3 rad")
    hold = input_hold(inputs, False, 10.0, 50.0, cfg, "instruction")
    assert hold.error and hold.drop_plan and hold.detail == "pan = 3 rad"
    assert input_hold(inputs, True, 10.0, 50.0, cfg, "instruction").reason == "e-stop latched"
    inputs.joint_fault = None
    inputs.receive_instruction("push the cube", "instruction", 9.6)
    hold = input_hold(inputs, False, 10.2, 50.0, cfg, "instruction")  # both inputs 0.21 s old
    assert hold.reason == "stale input: front (late), joint_states (late)" and not hold.drop_plan
    later = input_hold(inputs, False, 10.5, 50.0, cfg, "instruction")
    assert later.reason == hold.reason and later.detail != hold.detail  # reason fixed, ages in the detail


def test_estop_latch_survives_in_its_state_file(tmp_path):
    from vla_ros.estop_store import EStopStore, default_state_file

    path = tmp_path / "state" / "vla_policy.estop.json"
    estop = safety.EStop(EStopStore(path))
    assert not estop.latched and not path.exists()
    estop.trigger("test")
    assert safety.EStop(EStopStore(path)).latched  # a new process reads it back latched
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # written atomically, nothing left over
    estop.reset()
    assert not safety.EStop(EStopStore(path)).latched
    path.write_text("{not json")
    broken = safety.EStop(EStopStore(path))  # unreadable: latched, and says why
    assert broken.latched and "cannot read the e-stop state file" in broken.store_error
    broken.reset()
    assert not broken.latched and not broken.store_error and not safety.EStop(EStopStore(path)).latched
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    unwritable = safety.EStop(EStopStore(blocked / "estop.json"))  # its folder cannot be created
    unwritable.trigger()
    assert unwritable.latched and "cannot write the e-stop state file" in unwritable.store_error
    assert default_state_file("/arm1/vla_policy").parts[-2:] == ("vla_ros", "arm1.vla_policy.estop.json")


def test_reports_follow_changes_and_logs_are_rate_limited():
    from vla_ros.diagnostics import ERROR, OK, WARN, LogLimiter, condition

    assert condition(True, "", False, False) == (OK, "sending commands")
    assert condition(True, "stale input: front (late)", False, False).level == WARN
    assert condition(True, "empty instruction on instruction", True, False).level == ERROR
    assert condition(False, "", False, True).message.startswith("e-stop latched")
    assert condition(True, "", False, False, last_error="front: bad frame") == (ERROR, "front: bad frame")
    limiter = LogLimiter(interval_s=1.0)
    # A hold that flips every tick for 1 s (30 Hz): each kind of line once, not 30 times.
    lines = [m for t in range(30) for m in ("holding: stale input: front (late)", "sending commands")
             if limiter.allow(m, t / 30)]  # fmt: skip
    assert lines == ["holding: stale input: front (late)", "sending commands"]
    assert limiter.allow("holding: empty instruction", 0.5)  # a new kind of line is always logged
    # Messages that differ only in their numbers are one kind.
    assert limiter.allow("shoulder_pan 0.100 -> 2.220 rad in 0.040 s", 2.0)
    assert not limiter.allow("shoulder_pan 2.220 -> -0.1 rad in 3e-2 s", 2.5)
    assert limiter.allow("shoulder_pan 0.1 -> 5.0 rad in 0.033 s", 3.1)
    assert limiter.suppressed("shoulder_pan 9 -> 9 rad in 9 s") == " (1 similar log lines suppressed)"
    assert limiter.suppressed("shoulder_pan 9 -> 9 rad in 9 s") == ""


def run_scheduler(latency_ticks: int, chunk: int = 10, request_ahead: int = 4, ticks: int = 200) -> list[int]:
    """Ticks on which nothing was planned, with inference taking `latency_ticks` control periods."""
    scheduler = chunking.ChunkScheduler(request_ahead, blend_steps=3)
    in_flight: list[tuple[int, int]] = []  # (arrival tick, observation tick)
    starved = []
    for tick in range(ticks):
        for arrival, observed in [f for f in in_flight if f[0] == tick]:
            scheduler.merge(np.full((chunk, 1), float(observed)), observed, tick)
            in_flight.remove((arrival, observed))
        if scheduler.wants_request(tick):
            scheduler.requested(tick)
            in_flight.append((tick + latency_ticks, tick))
        if scheduler.horizon(tick, 3) is None:
            starved.append(tick)
        scheduler.advance(tick)
    return starved


def test_scheduler_never_waits_when_inference_is_faster_than_the_lead():
    assert run_scheduler(latency_ticks=3) == [0, 1, 2]  # only before the first chunk
    assert run_scheduler(latency_ticks=4) == [0, 1, 2, 3]
    assert len(run_scheduler(latency_ticks=9)) > 20  # slower than the lead: the arm waits


def test_scheduler_blends_and_drops_past_steps():
    scheduler = chunking.ChunkScheduler(request_ahead=4, blend_steps=3)
    scheduler.merge(np.zeros((10, 1)), observation_tick=0, now_tick=0)  # ticks 1..10 -> 0
    scheduler.merge(np.ones((10, 1)), observation_tick=4, now_tick=6)  # ticks 5, 6 passed; 7..14
    plan = scheduler.horizon(6, 8)[:, 0]
    np.testing.assert_allclose(plan, [0.25, 0.5, 0.75, 1, 1, 1, 1, 1])  # cross-fade over 3 steps
    stretched = chunking.stretch(np.array([[1.0], [2.0]]), 2.0)
    np.testing.assert_allclose(stretched[:, 0], [1.0, 1.0, 1.5, 2.0])


def test_trajectory_follower():
    follower = TrajectoryFollower(np.zeros(1), period_s=0.1)
    follower.receive([0.2, 0.4], np.array([[2.0], [4.0]]))
    assert [follower.step()[0] for _ in range(5)] == pytest.approx([1.0, 2.0, 3.0, 4.0, 4.0])
    with pytest.raises(ValueError, match="increasing"):
        follower.receive([0.2, 0.1], np.zeros((2, 1)))


def test_config_entries_are_declared_and_valid():
    cfg = config()
    declared = {spec.name: spec for specs in NODE_SPECS.values() for spec in specs}
    assert sorted(set(cfg) - set(declared)) == []
    for name, value in cfg.items():
        spec = declared[name]
        assert type(value) is type(spec.default) or (
            isinstance(spec.default, float) and isinstance(value, float)
        ), name
        if spec.choices:
            assert value in spec.choices, name
        if spec.low is not None:
            assert spec.low <= value <= spec.high, name


def entry_points() -> dict[str, str]:
    """console_scripts of setup.py: executable name -> "vla_ros.module:main"."""
    return dict(re.findall(r'"(\w+) = (vla_ros\.\w+:main)"', (PACKAGE / "setup.py").read_text()))


def test_package_metadata():
    package = ET.parse(PACKAGE / "package.xml").getroot()
    assert package.findtext("name") == "vla_ros"
    assert package.find("export/build_type").text == "ament_python"
    assert (PACKAGE / "resource" / "vla_ros").is_file()
    assert set(entry_points()) == set(NODE_SPECS)
    for target in entry_points().values():
        module = target.split(":")[0].split(".")[1]
        assert (PACKAGE / "vla_ros" / f"{module}.py").is_file()


@pytest.mark.parametrize("launch_file", sorted(p.name for p in (PACKAGE / "launch").glob("*.launch.xml")))
def test_launch_file_matches_the_package(launch_file):
    root = ET.parse(PACKAGE / "launch" / launch_file).getroot()
    assert root.tag == "launch"
    args = {arg.get("name") for arg in root.iter("arg")}
    text = (PACKAGE / "launch" / launch_file).read_text()
    used = set(re.findall(r"\$\(var (\w+)\)", text))
    assert used <= args, f"{launch_file}: undeclared args {used - args}"
    nodes = list(root.iter("node"))
    assert nodes
    for node in nodes:
        assert node.get("pkg") == "vla_ros"
        executable = node.get("exec")
        assert executable in entry_points(), f"{launch_file}: no entry point {executable}"
        declared = {spec.name for spec in NODE_SPECS[executable]}
        for param in node.iter("param"):
            if param.get("from"):
                assert (
                    param.get("from").endswith("/config/so101.yaml")
                    or param.get("from") == "$(var robot_config)"
                )
            else:
                assert param.get("name") in declared, (
                    f"{launch_file}: {executable} has no parameter {param.get('name')}"
                )
    for arg in root.iter("arg"):
        default = arg.get("default") or ""
        if "find-pkg-share vla_ros" in default:
            relative = default.split("$(find-pkg-share vla_ros)/")[1]
            assert (PACKAGE / relative).is_file(), f"{launch_file}: {relative} not in the package"
