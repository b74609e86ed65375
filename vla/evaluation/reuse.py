"""Keeping an evaluation already on disk only when it evaluated the same thing: `vla eval --reuse`.

The recipes chain a training run and its evaluations, and a rerun skips what is done. They used to keep
any eval_info.json they found in the output folder, and a retrained checkpoint under the same name then
reported its predecessor's figures (docs/LOG.md, 2026-12-06 night). So eval_info.json records its
request: a digest of the policy's files and every setting that changes the outcome (not the workers or
the videos). `--reuse` keeps the folder's evaluation only when the request is the same.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time while hashing


def policy_files_sha256(policy: str) -> str | None:
    """sha256 over the names and contents of the files directly in a policy folder (a checkpoint or an
    export; sorted by name); None for a policy that is not a folder (the scripted expert)."""
    folder = Path(policy)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as file:
            while block := file.read(CHUNK):
                digest.update(block)
    return digest.hexdigest()


def evaluation_request(config) -> dict:
    """What an evaluation of `config` (vla.evaluation.runner.EvalConfig) is of, as eval_info.json's
    "request" records it."""
    return {
        "policy": str(config.policy),
        "policy_sha256": policy_files_sha256(str(config.policy)),
        "variant": config.variant,
        "suite": config.suite,
        "split": config.split,
        "tasks": sorted(config.tasks),
        "instructions": config.instructions,
        "seed": config.seed,
        "episodes_per_task": config.episodes_per_task,
        "execute_steps": config.execute_steps,
        "oracle_objects": config.oracle_objects,
    }


def reusable_evaluation(out: Path, config) -> dict | None:
    """`out`/eval_info.json when it holds an evaluation of the same request as `config`'s, else None (no
    file, a different request, or an evaluation from before requests were recorded)."""
    path = Path(out) / "eval_info.json"
    if not path.is_file():
        return None
    info = json.loads(path.read_text())
    return info if info.get("request") == evaluation_request(config) else None
