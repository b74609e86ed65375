"""`vla train`: train the VLA policy, or LeRobot's ACT / Diffusion Policy on the same batches.

Every option is a field of `TrainConfig` (vla/training/train_config.py), from which the command line and
its help are generated (vla/config_cli.py): `vla train --preset tabletop_nano --optim.lr 5e-4`, or
`--config runs/x/train_config.json` to run a saved config again.
"""

from __future__ import annotations

import argparse

# one screen: every option on its own line, the examples in docs/training.md
USAGE = "usage: vla train [--preset NAME ({presets})] [--config FILE.json|yaml] [--GROUP.OPTION VALUE ...]"


def add_parser(subparsers) -> None:
    # The options are parsed by vla/config_cli.py: argparse sees one list of words (no prefix characters).
    train = subparsers.add_parser(
        "train",
        help="train the policy on a LeRobot dataset or the expert stream",
        add_help=False,
        prefix_chars="\0",
    )
    train.add_argument("options", nargs="*")
    train.set_defaults(run=run_train)


def help_text() -> str:
    from vla.config_cli import help_lines
    from vla.training.train_config import TRAIN_PRESETS, TrainConfig

    return "\n".join([USAGE.format(presets=", ".join(TRAIN_PRESETS)), "", *help_lines(TrainConfig)])


def run_train(args: argparse.Namespace) -> int:
    if {"-h", "--help"} & set(args.options):
        print(help_text())
        return 0
    from vla.config_cli import parse
    from vla.training.train_config import TRAIN_PRESETS, TrainConfig

    config = parse(TrainConfig, args.options, TRAIN_PRESETS)
    if config.policy.kind != "vla":
        from vla.baselines.train import train_baseline

        summary = train_baseline(config)
        print(
            f"{config.policy.kind}: {summary['steps']} steps, final loss {summary['final_loss']:.4f}; "
            f"{config.run.out}"
        )
        return 0
    from vla.training.loop import train

    result = train(config)
    held_out = f", held-out loss {result.val_loss:.4f}" if result.val_loss is not None else ""
    print(f"final loss {result.final_loss:.4f}{held_out}; checkpoint: {result.last_checkpoint}")
    return 0
