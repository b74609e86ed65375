"""`vla export --format onnx`: a checkpoint folder -> a self-describing export folder for `vla.runtime`.

    export.json                 what is in the folder: variants, sentence encoder, opset, versions
    policy.onnx                 fp32 graph (vla/export/graph.py: normalisation, model, token decoding)
    policy.fp16.onnx            fp16 weights and activations, fp32 inputs/outputs (GPU, TensorRT)
    policy.int8.onnx            dynamic int8 quantisation (CPU), sensitive layers kept fp32 (quantization.py)
    sentence_encoder.onnx       MiniLM + pooling (presets with a sentence encoder), with its tokenizer:
    sentence_tokenizer.json
    config.json, normalization.json, tokenizer.json, action_tokenizer.json   copied from the checkpoint

Runs on the CPU; takes about a minute for `nano` on 2 cores (the torch.export tracing dominates).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from vla.export.graph import PolicyGraph, SentenceGraph
from vla.export.quantization import KEEP_FLOAT, quantize_int8
from vla.models.checkpoint import (
    ACTION_TOKENIZER,
    CONFIG,
    NORMALIZATION,
    TEXT_TOKENIZER,
    PolicyBundle,
    load_checkpoint,
)
from vla.runtime.errors import BadInputError
from vla.runtime.export_folder import FORMAT_NAME, FORMAT_VERSION, MANIFEST
from vla.runtime.policy import GRAPH_INPUTS, GRAPH_OUTPUTS, SENTENCE_INPUT

OPSET = 18
VARIANTS = {"fp32": "policy.onnx", "fp16": "policy.fp16.onnx", "int8": "policy.int8.onnx"}
SENTENCE_MODEL, SENTENCE_TOKENIZER = "sentence_encoder.onnx", "sentence_tokenizer.json"
# The reader (vla/runtime/policy.py) feeds these and checks a graph against them.
POLICY_INPUTS = (*GRAPH_INPUTS, SENTENCE_INPUT)
POLICY_OUTPUTS = GRAPH_OUTPUTS


def example_inputs(bundle: PolicyBundle, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """A fixed random batch in the graph's input format (also the parity batch of tests and benchmarks)."""
    config = bundle.config
    rng = np.random.default_rng(seed)
    size = config.vision.image_size
    vocab = bundle.text_tokenizer.get_vocab_size()
    words = rng.integers(2, vocab, (batch, config.text.max_instruction_tokens))
    words[:, config.text.max_instruction_tokens // 2 :] = 0  # half padding, like a short instruction
    inputs = {
        "images": rng.integers(0, 256, (batch, len(config.cameras), size, size, 3), dtype=np.uint8),
        "state": bundle.normalization.state.unnormalize(rng.uniform(-1, 1, (batch, config.state_dim))),
        "words": words.astype(np.int64),
    }
    if config.sentence_encoder:
        sentence = rng.standard_normal((batch, config.sentence_dim)).astype(np.float32)
        inputs["sentence"] = sentence / np.linalg.norm(sentence, axis=1, keepdims=True)
    return inputs


def _onnx_export(module: torch.nn.Module, inputs: dict[str, np.ndarray], outputs: Iterable[str], path: Path):
    """torch.export-based ONNX export with a dynamic batch axis, one self-contained .onnx file."""
    names = list(inputs)
    tensors = tuple(torch.from_numpy(inputs[name]) for name in names)
    dynamic = {name: {0: "batch"} for name in (*names, *outputs)}
    if "input_ids" in inputs:  # the sentence encoder also takes any token count
        dynamic["input_ids"] = dynamic["attention_mask"] = {0: "batch", 1: "tokens"}
    # The exporter narrates every stage on stdout and warns about transformers internals: keep it quiet.
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tensors,
            str(path),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )


def _fp16_variant(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def _export_sentence_encoder(name: str, out: Path) -> dict:
    from vla.models.sentence_encoder import shared_sentence_encoder

    encoder = shared_sentence_encoder(name)
    encoder.tokenizer.save(str(out / SENTENCE_TOKENIZER))  # keeps its padding and truncation settings
    encoding = encoder.tokenizer.encode_batch(["put the red cube in the white bowl"])
    inputs = {
        "input_ids": np.asarray([encoding[0].ids], np.int64),
        "attention_mask": np.asarray([encoding[0].attention_mask], np.int64),
    }
    _onnx_export(SentenceGraph(encoder.model), inputs, ("sentence_embedding",), out / SENTENCE_MODEL)
    return {"name": name, "model": SENTENCE_MODEL, "tokenizer": SENTENCE_TOKENIZER, "dim": encoder.dim}


def export_policy(
    checkpoint: Path, out: Path, variants: Iterable[str] = tuple(VARIANTS), progress=print
) -> Path:
    """Export `checkpoint` into `out` (created; must not hold another export). Returns `out`."""
    variants = list(dict.fromkeys(variants))
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise BadInputError(f"unknown export variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    checkpoint, out = Path(checkpoint), Path(out)
    bundle = load_checkpoint(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG, NORMALIZATION, TEXT_TOKENIZER, ACTION_TOKENIZER):
        shutil.copyfile(checkpoint / name, out / name)

    progress(f"exporting the policy graph (opset {OPSET}) ...")
    # Plain matmul-softmax attention: fewer graph nodes than the SDPA path's mask handling (measured ~5 %
    # faster in onnxruntime on CPU-2) and only standard ONNX ops, which TensorRT parses.
    bundle.model.backbone.set_attn_implementation("eager")
    inputs = example_inputs(bundle)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / VARIANTS["fp32"]
        _onnx_export(PolicyGraph(bundle), inputs, POLICY_OUTPUTS, fp32)
        if "fp16" in variants:
            progress("fp16 variant ...")
            _fp16_variant(fp32, out / VARIANTS["fp16"])
        if "int8" in variants:
            progress("int8 variant (dynamic quantisation) ...")
            quantize_int8(fp32, out / VARIANTS["int8"], keep_float=KEEP_FLOAT)
        if "fp32" in variants:
            shutil.move(fp32, out / VARIANTS["fp32"])

    sentence = None
    if bundle.config.sentence_encoder:
        progress(f"exporting the sentence encoder {bundle.config.sentence_encoder} ...")
        sentence = _export_sentence_encoder(bundle.config.sentence_encoder, out)

    import onnx
    import transformers

    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "variants": {v: VARIANTS[v] for v in variants},
        "inputs": [name for name in POLICY_INPUTS if name in inputs],
        "outputs": list(POLICY_OUTPUTS),
        "sentence_encoder": sentence,
        "int8_float_modules": list(KEEP_FLOAT) if "int8" in variants else None,
        "opset": OPSET,
        "source_checkpoint": str(checkpoint.resolve()),
        "exported_with": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
        },
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out
