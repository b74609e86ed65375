"""Dynamic int8 quantisation of the policy graph, with named modules kept in float.

onnxruntime's `quantize_dynamic` turns every MatMul/Gemm/Conv/Gather with a constant weight into an int8
op; the MatMuls also quantise their input activations, with one scale per call. Not every layer tolerates
that equally: `bench/int8_sensitivity.py` quantises one module group at a time and measures how far the
actions move from fp32 on expert observations. `KEEP_FLOAT` lists the groups that move them most for the
least speed; everything else is quantised.

Groups come from the module path the dynamo exporter writes into each node's "namespace" metadata
("model.backbone.vision_model.encoder.layers.2", "model.action_head", ...); nodes outside any module
(the token decoding in vla/export/graph.py) form the group "decoding".
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

QUANTIZABLE_OPS = ("MatMul", "Gemm", "Conv", "Gather")  # Gather: embedding tables (constant data input)

# Found with bench/int8_sensitivity.py on the shipped policy (docs/LOG.md). The state projection matters
# most: int8 rounds its input, the 6 normalised joint positions, to one shared 8-bit scale per call, which
# alone moved actions by 1.3 degrees on average (23 at p99). The logits layer and the expectation over
# action bins come next. Together they are ~1 % of the multiply-adds, so fp32 there costs no latency.
# The environment-state head and its token (policies with `environment_state_token`) carry object
# positions the arm must reach to a few millimetres: two small matrices, kept fp32 as a precaution (not
# measured with bench/int8_sensitivity.py). So is the task choice (policies trained with
# `--objects.task_choice`), whose softmax picks among those positions: ~10 k multiply-adds, and the
# bearing-and-reach features (`--objects.arm_frame`) read off them. The vision tower's patch embedding (its
# convolutions: the conv stem, 10 % of the shipped policy's multiply-adds) stays fp32 for speed:
# onnxruntime's int8 convolutions are slower than its fp32 ones on CPU-2. Keeping them float took the
# shipped policy's int8 graph from 7.96 to 5.08 ms per chunk, against 7.05 for fp32
# (`bench/int8_sensitivity.py --whole-graphs-only`, docs/LOG.md 2026-12-01), and moved its actions less
# (arm p99 1.09 against 1.20 degrees).
KEEP_FLOAT = (
    "model.state_proj",
    "model.action_head",
    "decoding",
    "model.objects",
    "model.backbone.vision_model.embeddings.patch_embedding",
)

_LAYER = re.compile(r"^(.*\.layers\.\d+)")


def module_group(namespace: str) -> str:
    """The group of a node, from its exporter namespace: its transformer layer, else its deepest module.

    "…/model.backbone.vision_model.encoder.layers.1.mlp.fc1: …/linear: aten.linear.default"
    -> "model.backbone.vision_model.encoder.layers.1";
    "…/model.backbone.text_model.rotary_emb: …" -> "model.backbone.text_model.rotary_emb".
    """
    modules = [part.split(":")[0].strip() for part in namespace.split("/")]
    named = [m for m in modules if m.startswith("model.")]
    if not named:
        return "decoding"
    layer = _LAYER.match(named[-1])
    return layer.group(1) if layer else named[-1]


def kept_in_float(group: str, keep_float: Iterable[str]) -> bool:
    """Whether `group` is one of `keep_float` (group names) or inside one of them (a prefix up to a dot)."""
    return any(group == k or group.startswith(k + ".") for k in keep_float)


def quantizable_groups(model) -> dict[str, list[str]]:
    """{group: [node names]} of the nodes `quantize_dynamic` would quantise (constant weight input)."""
    constants = {initializer.name for initializer in model.graph.initializer}
    groups: dict[str, list[str]] = defaultdict(list)
    for node in model.graph.node:
        weights = node.input[:1] if node.op_type == "Gather" else node.input
        if node.op_type in QUANTIZABLE_OPS and any(name in constants for name in weights):
            metadata = {prop.key: prop.value for prop in node.metadata_props}
            groups[module_group(metadata.get("namespace", ""))].append(node.name)
    return dict(groups)


def quantize_int8(source: Path, target: Path, keep_float: Iterable[str] = KEEP_FLOAT) -> list[str]:
    """Write the int8 variant of `source` to `target`; returns the names of the nodes left in float.

    keep_float: group names (see `module_group`) or prefixes of them, e.g. "model.backbone.vision_model".
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep_float = tuple(keep_float)
    groups = quantizable_groups(onnx.load(str(source)))
    kept = [node for group, nodes in groups.items() if kept_in_float(group, keep_float) for node in nodes]
    # quantize_dynamic first splits each Gemm into "<name>_MatMul" + "<name>_Add" and matches exclusions
    # against the new names, so a Gemm is excluded under both.
    excluded = kept + [f"{node}_MatMul" for node in kept]
    with _root_logging_level(logging.ERROR):  # one warning per int64 shape tensor it leaves alone
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, nodes_to_exclude=excluded)
    return kept


@contextlib.contextmanager
def _root_logging_level(level: int):
    root = logging.getLogger()
    previous = root.level
    root.setLevel(level)
    try:
        yield
    finally:
        root.setLevel(previous)
