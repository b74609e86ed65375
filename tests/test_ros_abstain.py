"""policy_node when the policy abstains (vla.policy: `abstain`, the probability that the instruction names
nothing in view): the rules as pure functions, then the node itself, in this process with the real rclpy
but no ROS graph, fed by its own callbacks and answered by a scripted policy through the real inference
worker. The node holds (sends nothing, forgets its plan) while the answers abstain, says so with a WARN,
keeps asking, and commands again from the first answer below `abstain_threshold`."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from vla_ros import parameters, safety
from vla_ros.diagnostics import OK, WARN, condition
from vla_ros.policy_inputs import refusal_hold
from vla_ros.units import PolicyUnits

from tests.ros_harness import JOINTS, image_message, joint_message
from tests.test_ros_nodes import domain
from vla import contract

pytestmark = [pytest.mark.ros]
CHUNK = 10  # steps per answer
STILL = np.array([0.1, -0.2, 0.3, 0.4, 0.0, 0.5])  # radians, inside every limit: where the arm stays
INSTRUCTION = "pick up the purple cube"
ABSTAINING = "holding: abstaining: the instruction names nothing in view"
UNITS = PolicyUnits(JOINTS, contract.GRIPPER_JOINT, *contract.GRIPPER_RANGE_RAD)


def answer(abstain=0.0, confidence: float = 1.0) -> dict:
    """A policy answer (the `infer` contract) keeping the arm at STILL; abstain None leaves the field out."""
    chunk = {
        "actions": np.tile(UNITS.to_policy(STILL), (CHUNK, 1)),
        "confidence": np.full(CHUNK, confidence, np.float32),
    }
    return chunk if abstain is None else chunk | {"abstain": np.float32(abstain)}


def safety_config(**overrides) -> safety.SafetyConfig:
    defaults = {spec.name: spec.default for spec in parameters.POLICY}
    return parameters.safety_config(defaults | overrides, max_input_age_s=0.05)


# ----- the rules ---------------------------------------------------------------------------------------
def test_an_answer_at_or_above_the_threshold_abstains_whatever_its_actions():
    config = safety_config()
    assert config.abstain_threshold == contract.ABSTAIN_THRESHOLD
    for abstain in (contract.ABSTAIN_THRESHOLD, 0.9, 1.0):
        verdict = safety.judge_chunk(answer(abstain), None, config, UNITS)
        assert verdict.abstaining and verdict.targets is None and not verdict.problem
        assert verdict.abstain == pytest.approx(abstain)
    accepted = safety.judge_chunk(answer(0.1), None, config, UNITS)
    assert not accepted.abstaining and not accepted.problem
    np.testing.assert_allclose(accepted.targets, np.tile(STILL, (CHUNK, 1)), atol=1e-4)
    # Abstaining comes before low confidence: a refusal is a hold (WARN), not a dropped chunk (ERROR).
    held = safety_config(low_confidence_threshold=0.5, low_confidence_mode="hold")
    assert safety.judge_chunk(answer(0.9, confidence=0.1), None, held, UNITS).abstaining
    assert "low confidence" in safety.judge_chunk(answer(0.1, confidence=0.1), None, held, UNITS).problem
    # The threshold is the node's parameter: 0.95 lets 0.9 act.
    lenient = safety_config(abstain_threshold=0.95)
    assert safety.judge_chunk(answer(0.9), None, lenient, UNITS).targets is not None


@pytest.mark.parametrize(
    ("abstain", "problem"),
    [
        (None, "no abstain in the policy's answer: chunk dropped"),
        (np.nan, "non-finite abstain: chunk dropped"),
        (np.inf, "non-finite abstain: chunk dropped"),
        (1.5, "abstain 1.5 outside [0, 1]: chunk dropped"),
        (np.zeros(2), "abstain has shape (2,), expected one value: chunk dropped"),
    ],
    ids=["missing", "nan", "inf", "above_1", "two_values"],
)
def test_an_answer_without_a_usable_abstain_is_untrusted(abstain, problem):
    chunk = answer(None) if abstain is None else answer() | {"abstain": abstain}
    verdict = safety.judge_chunk(chunk, None, safety_config(), UNITS)
    assert verdict == safety.ChunkVerdict(problem=problem)


def test_abstain_threshold_is_a_parameter_in_0_1():
    spec = next(spec for spec in parameters.POLICY if spec.name == "abstain_threshold")
    assert (spec.default, spec.low, spec.high) == (contract.ABSTAIN_THRESHOLD, 0.0, 1.0)
    assert "abstain_threshold" in parameters.SAFETY_FIELDS
    with pytest.raises(ValueError, match=r"abstain_threshold 1.5 must be in \[0, 1\]"):
        safety_config(abstain_threshold=1.5)


def test_the_refusal_is_a_warning_whose_message_stays_while_it_lasts():
    first, later = refusal_hold(0.87, 0.5, INSTRUCTION), refusal_hold(0.93, 0.5, INSTRUCTION)
    assert first.reason == later.reason and not first.error and first.drop_plan
    assert first.detail == "abstain 0.87 >= abstain_threshold 0.5 for 'pick up the purple cube'"
    assert condition(True, first.reason, first.error, False) == (WARN, ABSTAINING)
    assert condition(True, "", False, False) == (OK, "sending commands")


# ----- the node ----------------------------------------------------------------------------------------
class ScriptedPolicy:
    """A runtime whose answers are given in advance; each `infer` waits for the test's `answer_next()`, so
    the test decides when an answer arrives (the last one repeats)."""

    def __init__(self, answers: list[dict]):
        self.answers = answers
        self.instructions: list[str] = []  # what each request asked
        self.turns = threading.Semaphore(0)

    def infer(self, obs: dict) -> dict:
        self.turns.acquire()
        self.instructions.append(obs[contract.TASK])
        return self.answers[min(len(self.instructions), len(self.answers)) - 1]


class NodeUnderTest:
    """A configured, active PolicyNode whose runtime is a ScriptedPolicy, with what it publishes recorded."""

    def __init__(self, policy: ScriptedPolicy, monkeypatch, tmp_path, **overrides):
        import rclpy
        from rclpy.parameter import Parameter
        from vla_ros import policy_node
        from vla_ros.inference_worker import InferenceWorker

        self.policy, self.answered = policy, threading.Event()
        monkeypatch.setattr(
            policy_node,
            "start_inference",
            lambda p, logger, on_result: (policy, InferenceWorker(policy, on_result=self.answered.set)),
        )
        settings = dict(
            export_dir="scripted",
            default_instruction=INSTRUCTION,
            max_input_age_s=10.0,  # the node's receipt clock runs while a busy machine runs this test
            request_ahead_steps=100,  # a request whenever none is in flight, as in test_ros_latency_path
            estop_state_file=str(tmp_path / "estop.json"),
        )
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain())
        self.node = policy_node.PolicyNode(
            context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in (settings | overrides).items()],
        )
        self.commands: list[np.ndarray] = []  # (H, J) rad
        self.status: list[dict] = []
        self.diagnostics: list = []  # DiagnosticStatus
        reporter = self.node.reporter
        monkeypatch.setattr(reporter.status_pub, "publish", lambda m: self.status.append(json.loads(m.data)))
        monkeypatch.setattr(reporter.diagnostics_pub, "publish", lambda m: self.diagnostics.extend(m.status))
        self.node.trigger_configure()
        assert self.node.runtime is policy, "configure failed"
        points = lambda m: np.array([p.positions for p in m.points])  # noqa: E731
        monkeypatch.setattr(self.node.trajectory_pub, "publish", lambda m: self.commands.append(points(m)))
        self.node.trigger_activate()

    def period(self) -> None:
        """One control period: fresh joints and frames through the node's callbacks, then its timer's tick."""
        self.node._on_joints(joint_message(STILL))
        frame = np.zeros((8, 8, 3), np.uint8)
        for camera in ("front", "wrist"):
            self.node._on_image(camera, f"camera/{camera}/image_raw", image_message(frame))
        self.node._control_tick()

    def answer_next(self) -> None:
        """The request in flight is answered, and the node takes the answer as its guard condition would."""
        assert self.node.scheduler.pending_since is not None, "no request in flight"
        self.policy.turns.release()
        assert self.answered.wait(timeout=60), "the inference worker gave no answer"
        self.answered.clear()
        self.node._on_chunk_ready()

    def heartbeat(self):
        """The /diagnostics status of a heartbeat now, and its key/values."""
        self.node.reporter.heartbeat()
        return self.diagnostics[-1], {v.key: v.value for v in self.diagnostics[-1].values}

    def close(self) -> None:
        import rclpy

        self.policy.turns.release(100)  # a request still waiting is answered, so the worker stops at once
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def start_node(monkeypatch, tmp_path):
    started: list[NodeUnderTest] = []

    def start(answers: list[dict], **overrides) -> NodeUnderTest:
        started.append(NodeUnderTest(ScriptedPolicy(answers), monkeypatch, tmp_path, **overrides))
        return started[-1]

    yield start
    for node in started:
        node.close()


def test_the_node_holds_while_the_policy_abstains_and_resumes_after(start_node):
    from diagnostic_msgs.msg import DiagnosticStatus

    rig = start_node([answer(0.1), answer(0.9), answer(0.9), answer(0.9), answer(0.1)])
    rig.period()  # the frames ask for the first answer
    rig.answer_next()
    rig.period()  # acting: the tick sends from the plan and asks for the next answer
    acting = len(rig.commands)
    assert acting >= 2 and rig.status[-1]["level"] == "ok" and rig.status[-1]["detail"] == "sending commands"
    planned_ahead = rig.node.scheduler.remaining(rig.node.tick)
    assert planned_ahead > 3  # queued steps of the first answer, left for the coming periods

    rig.answer_next()  # abstain 0.9
    for _ in range(2):  # more periods than ...
        rig.period()
        rig.answer_next()  # ... each asks again, and the policy abstains again
    rig.period()
    assert len(rig.commands) == acting  # nothing from the refused answers, nor from the queued steps
    assert rig.status[-1] == {"lifecycle": "active", "level": "warn", "detail": ABSTAINING}
    status, values = rig.heartbeat()
    assert (status.level, status.message) == (DiagnosticStatus.WARN, ABSTAINING)
    assert values["abstain"] == "0.90" and values["instruction"] == INSTRUCTION
    assert values["hold_detail"] == f"abstain 0.90 >= abstain_threshold 0.5 for {INSTRUCTION!r}"
    assert (values["abstained_chunks"], values["chunks_dropped"]) == ("3", "0")

    rig.answer_next()  # abstain 0.1: commands again, at once
    rig.period()
    assert len(rig.commands) >= acting + 2
    assert rig.status[-1] == {"lifecycle": "active", "level": "ok", "detail": "sending commands"}
    status, values = rig.heartbeat()
    assert (status.level, status.message) == (DiagnosticStatus.OK, "sending commands")
    assert values["abstain"] == "0.10"
    # Every command holds the arm where the answers put it, and every request carried the instruction.
    assert np.allclose(np.concatenate(rig.commands), STILL, atol=1e-4)
    assert rig.policy.instructions == [INSTRUCTION] * 5


def test_an_answer_without_abstain_is_rejected_like_a_bad_chunk(start_node):
    from diagnostic_msgs.msg import DiagnosticStatus

    rig = start_node([answer(None), answer(np.nan), answer(0.1)])
    for _ in range(2):
        rig.period()
        rig.answer_next()
        status, values = rig.heartbeat()  # the error is reported until the next heartbeat
        assert status.level == DiagnosticStatus.ERROR and "abstain" in status.message, status.message
    assert rig.commands == [] and values["chunks_dropped"] == "2" and values["abstain"] == ""
    rig.period()
    rig.answer_next()
    assert rig.commands and rig.status[-1]["detail"] == "sending commands"


def test_abstain_threshold_0_always_holds(start_node):
    rig = start_node([answer(0.0)], abstain_threshold=0.0)
    for _ in range(3):
        rig.period()
        rig.answer_next()
    assert rig.commands == [] and rig.status[-1]["detail"] == ABSTAINING


def test_an_abstain_threshold_outside_0_1_stops_the_node_naming_it():
    import rclpy
    from rclpy.exceptions import InvalidParameterValueException
    from rclpy.parameter import Parameter
    from vla_ros.policy_node import PolicyNode

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain())
    try:
        with pytest.raises(InvalidParameterValueException, match="abstain_threshold"):
            PolicyNode(context=context, parameter_overrides=[Parameter("abstain_threshold", value=1.5)])
    finally:
        rclpy.shutdown(context=context)
