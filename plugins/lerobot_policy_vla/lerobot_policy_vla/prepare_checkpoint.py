"""Make a `vla train` checkpoint folder loadable by LeRobot's tools (`--policy.path=<folder>`).

    python -m lerobot_policy_vla.prepare_checkpoint runs/nano/checkpoints/last

adds `"type": "vla_checkpoint"` to config.json (our loader ignores it), writes config.json's fields as this
vla reads them (a field an older vla wrote and this one migrates away, such as `grounding_dims`, is
dropped: LeRobot parses the file strictly) and writes LeRobot's processor files (policy_preprocessor.json,
policy_postprocessor.json). The weights and every other file stay as they are. Running it twice changes
nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lerobot_policy_vla.configuration_vla_checkpoint import VLACheckpointConfig
from lerobot_policy_vla.processor_vla_checkpoint import make_vla_checkpoint_pre_post_processors
from vla.models.checkpoint import CONFIG, FORMAT_VERSION_KEY, read_checkpoint_config
from vla.models.configuration_vla import LEROBOT_POLICY_TYPE


def prepare_checkpoint(folder: Path) -> None:
    """Tag config.json with the LeRobot policy type and save the processors; the checkpoint must load."""
    folder = Path(folder)
    # a folder that is not a readable checkpoint fails here, naming the file
    fields = read_checkpoint_config(folder).to_dict()
    path = folder / CONFIG
    config = json.loads(path.read_text())
    version = {FORMAT_VERSION_KEY: config[FORMAT_VERSION_KEY]} if FORMAT_VERSION_KEY in config else {}
    tagged = {"type": LEROBOT_POLICY_TYPE, **version, **fields}
    if json.loads(json.dumps(tagged)) != config:
        path.write_text(json.dumps(tagged, indent=2) + "\n")
    # device "cpu" in the saved pipeline; LeRobot's tools override it with the policy's device.
    lerobot_config = VLACheckpointConfig.from_pretrained(folder, cli_overrides=["--device=cpu"])
    for pipeline in make_vla_checkpoint_pre_post_processors(lerobot_config):
        pipeline.save_pretrained(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a `vla train` checkpoint folder")
    prepare_checkpoint(parser.parse_args(argv).folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
