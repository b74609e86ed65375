"""ROS 2 nodes for the VLA stack: a safe lifecycle policy node, the MuJoCo suite as a ROS robot, a recorder.

Pure, unit-tested logic lives in `units`, `images`, `safety` and `chunking`; the `*_node` modules only wire
parameters, topics, services and timers. Topics carry SI units (REP 103: joint positions in radians,
the gripper included); the policy's so101_follower units (degrees, gripper 0-100) stay inside the nodes.
"""
