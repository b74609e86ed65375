from glob import glob

from setuptools import find_packages, setup

PACKAGE = "vla_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.xml")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools", "numpy"],
    zip_safe=True,
    maintainer="vla-stack developers",
    maintainer_email="dev@vla-stack.local",
    description="VLA policy, LeRobot robot/teleoperator bridges, sim bridge and recorder nodes for ROS 2",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "policy_node = vla_ros.policy_node:main",
            "sim_bridge_node = vla_ros.sim_bridge_node:main",
            "recorder_node = vla_ros.recorder_node:main",
            "robot_bridge_node = vla_ros.robot_bridge_node:main",
            "teleop_node = vla_ros.teleop_node:main",
        ],
    },
)
