"""bench/gpu/dry_run_site.py hides what the GPU machine lacks, as that machine would: absent to
`find_spec` (so optional imports take their fallback) and to `import`, while what it has still imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_hides_what_the_device_lacks(tmp_path):
    import importlib.util

    assert importlib.util.find_spec("pytz") is not None  # installed here (pandas), so hiding it is real
    kinds = tmp_path / "KINDS.md"
    kinds.write_text("nvidia-h200: their image. Packages: numpy, pip, torch, typing-extensions.\n")
    wheels = tmp_path / "wheels.txt"
    wheels.write_text("# carried\nmujoco==3.17.0\n")
    site = tmp_path / "site"
    made = subprocess.run(
        [sys.executable, str(ROOT / "bench/gpu/dry_run_site.py"), str(site), "--kinds", str(kinds),
         "--wheels", str(wheels)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "modules hidden" in made.stdout
    probe = (
        "import importlib.util\n"
        "assert importlib.util.find_spec('pytz') is None\n"  # lerobot's is_package_available sees it absent
        "try:\n    import pytz\nexcept ModuleNotFoundError:\n    pass\n"
        "else:\n    raise SystemExit('pytz imported')\n"
        "import numpy, mujoco\n"  # on the list, and carried
        "print('ok')\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={"PYTHONPATH": str(site)}
    )
    assert ran.returncode == 0 and ran.stdout.strip().endswith("ok"), ran.stderr


def test_the_package_list_and_the_carried_wheels_parse(tmp_path):
    from importlib import util

    spec = util.spec_from_file_location("dry_run_site", ROOT / "bench/gpu/dry_run_site.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kinds = tmp_path / "KINDS.md"
    kinds.write_text("nvidia-h200: text. Packages: absl-py, Torch_Geometric, zipp.\nother: Packages: x.\n")
    assert module.device_packages(kinds, "nvidia-h200") == {"absl-py", "torch-geometric", "zipp"}
    assert {"lerobot", "diffusers", "mujoco"} <= module.carried_wheels(ROOT / "bench/gpu/wheels.txt")
