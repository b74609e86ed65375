"""The code's shape (issue 37): no import circle, no non-test file over 400 lines, `models/`, `data/` and
the ROS nodes other than the sim bridge free of `sim`, and one contract for keys, joints and limits.

Cheap on purpose: the import graph is read from the source (bench/import_graph.py, AST only), nothing
heavy is imported.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SO101_YAML = ROOT / "ros2_ws" / "src" / "vla_ros" / "config" / "so101.yaml"


def _import_graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "bench" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


import_graph = _import_graph_module()


@pytest.fixture(scope="module")
def graph():
    return import_graph.build_graph(ROOT)


def test_the_graph_covers_every_package(graph):
    for module in ("vla.contract", "vla.training.loop", "sim.env", "vla_ros.units", "lerobot_policy_vla"):
        assert module in graph.files
    # An import inside a function is an edge too: the training loaders read the expert's scene names lazily.
    assert "vla.record_arrays" in graph.imports_of("vla.training.loaders")
    assert "sim.tasks" in graph.in_function["vla.record_arrays"]


def test_no_import_circle(graph):
    assert import_graph.circles(graph.edges()) == []


def test_a_circle_is_found_wherever_its_import_sits(tmp_path):
    package = tmp_path / "vla"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from vla.b import x\n")
    (package / "b.py").write_text("def x():\n    from . import c\n")
    (package / "c.py").write_text("import vla.a\n")
    (package / "d.py").write_text("from vla import a\n")  # outside the circle: depends on it only
    graph = import_graph.build_graph(tmp_path)
    assert graph.in_function["vla.b"] == {"vla.c"}
    assert import_graph.circles(graph.edges()) == [["vla.a", "vla.b", "vla.c"]]


def test_no_non_test_file_over_400_lines():
    assert import_graph.long_files(ROOT) == []


@pytest.mark.parametrize(
    "prefix",
    ["vla.models", "vla.data", "vla_ros.policy_node", "vla_ros.recorder_node", "vla_ros.robot_bridge_node"],
)
def test_models_data_and_ros_nodes_other_than_the_sim_bridge_import_no_sim(graph, prefix):
    offenders = {
        module: sorted(d for d in deps if d == "sim" or d.startswith("sim."))
        for module, deps in graph.edges().items()
        if module == prefix or module.startswith(prefix + ".")
    }
    assert {m: d for m, d in offenders.items() if d} == {}
    assert any(m == prefix or m.startswith(prefix + ".") for m in graph.files)
    # Every vla_ros module other than the sim bridge (the nodes' helpers too) stays off the simulator.
    ros = {
        m: d for m, d in graph.edges().items() if m.startswith("vla_ros.") and m != "vla_ros.sim_bridge_node"
    }
    assert {m for m, d in ros.items() if any(x == "sim" or x.startswith("sim.") for x in d)} == set()


def test_the_contract_is_the_robot_config_of_the_ros_nodes():
    from vla import contract

    params = yaml.safe_load(SO101_YAML.read_text())["/**"]["ros__parameters"]
    assert tuple(params["joint_names"]) == contract.JOINT_NAMES
    assert params["gripper_joint"] == contract.GRIPPER_JOINT
    assert tuple(params["gripper_range_rad"]) == contract.GRIPPER_RANGE_RAD
    assert tuple(params["joint_lower_limits"]) == contract.JOINT_LOWER_LIMITS_RAD
    assert tuple(params["joint_upper_limits"]) == contract.JOINT_UPPER_LIMITS_RAD
    assert tuple(params["camera_names"]) == contract.CAMERA_NAMES
    assert tuple(f"{joint}.pos" for joint in params["joint_names"]) == contract.ACTION_NAMES


def test_sim_data_and_ros_use_the_contract_s_names_and_units():
    import numpy as np
    from vla_ros.units import PolicyUnits

    from sim import render, robot
    from vla import contract
    from vla.data import features

    assert robot.ACTION_NAMES is contract.ACTION_NAMES and robot.JOINT_NAMES is contract.JOINT_NAMES
    assert render.CAMERA_NAMES is contract.CAMERA_NAMES
    assert features.so101_features({})["action"]["names"] == list(contract.ACTION_NAMES)
    low, high = np.array(contract.JOINT_LOWER_LIMITS_RAD), np.array(contract.JOINT_UPPER_LIMITS_RAD)
    closed, opened = contract.GRIPPER_RANGE_RAD
    sim_units = robot.JointUnits(low_rad=np.r_[low[:5], closed], high_rad=np.r_[high[:5], opened])
    ros_units = PolicyUnits(contract.JOINT_NAMES, contract.GRIPPER_JOINT, closed, opened)
    policy = np.array([[10.0, -20.0, 30.0, -40.0, 50.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 100.0]])
    radians = ros_units.to_ros(policy)
    np.testing.assert_array_equal(radians, sim_units.to_radians(policy))
    np.testing.assert_allclose(radians[0, :5], np.deg2rad(policy[0, :5]))
    np.testing.assert_allclose(radians[:, 5], [closed, opened])
    np.testing.assert_allclose(ros_units.to_policy(radians), policy, atol=1e-4)
