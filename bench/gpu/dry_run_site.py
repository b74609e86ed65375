"""Dry-run a GPU recipe here with only the imports the borrowed machine will have.

Writes a `sitecustomize.py` into FOLDER that hides from the import system every top-level module of this
venv whose distribution is neither on the device's package list (the device tool's KINDS.md) nor carried
(bench/gpu/wheels.txt). With FOLDER on PYTHONPATH, `import datasets` then fails as it would there and
`importlib.util.find_spec("datasets")` is None, so optional imports (lerobot's `is_package_available`)
take the path they will take there. Run a recipe at tiny sizes this way before spending device time:

    .venv/bin/python bench/gpu/dry_run_site.py /tmp/device_site
    PYTHONPATH=/tmp/device_site WORK=/tmp/dry STEPS=2 ... bash recipes/gpu_baselines_tabletop.sh
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from packaging.utils import canonicalize_name as canonical

ROOT = Path(__file__).resolve().parents[2]
KINDS = Path("/work/.library/device/KINDS.md")
# This repository's own packages and the ROS wheels' interpreter hook travel or do not matter there.
ALWAYS = {"vla-stack", "ros-wheels-bootstrapper", "lerobot-env-tabletop", "lerobot-policy-vla", "vla-ros"}

SITE = '''"""Written by bench/gpu/dry_run_site.py: hides modules the GPU machine lacks."""
import importlib.machinery
import sys

HIDDEN = {hidden!r}


class _DevicePathFinder(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)


sys.meta_path[:] = [_DevicePathFinder if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
'''


def device_packages(kinds: Path, kind: str) -> set[str]:
    """The distributions KINDS.md lists for `kind` ("<kind>: ... Packages: a, b, c.")."""
    for line in kinds.read_text().splitlines():
        if line.startswith(f"{kind}:") and "Packages:" in line:
            names = line.split("Packages:", 1)[1].strip().rstrip(".").split(",")
            return {canonical(n.strip()) for n in names if n.strip()}
    raise SystemExit(f"{kinds}: no package list for {kind!r}")


def carried_wheels(wheels: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in wheels.read_text().splitlines())
    return {canonical(line.split("==")[0]) for line in lines if "==" in line}


def hidden_modules(available: set[str]) -> set[str]:
    """Top-level modules of this venv whose every distribution is unavailable there."""
    hidden = set()
    for module, dists in importlib.metadata.packages_distributions().items():
        if module in sys.stdlib_module_names:
            continue
        if not any(canonical(d) in available for d in dists):
            hidden.add(module)
    return hidden


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where sitecustomize.py goes (put it on PYTHONPATH)")
    parser.add_argument("--kinds", type=Path, default=KINDS, help="the device tool's KINDS.md")
    parser.add_argument("--kind", default="nvidia-h200")
    parser.add_argument("--wheels", type=Path, default=ROOT / "bench/gpu/wheels.txt")
    args = parser.parse_args()
    available = device_packages(args.kinds, args.kind) | carried_wheels(args.wheels) | ALWAYS
    hidden = hidden_modules(available)
    args.folder.mkdir(parents=True, exist_ok=True)
    (args.folder / "sitecustomize.py").write_text(SITE.format(hidden=sorted(hidden)))
    print(f"{args.folder / 'sitecustomize.py'}: {len(hidden)} modules hidden, e.g. {sorted(hidden)[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
