"""Opening an export folder's .onnx files: a corrupt file or an older graph layout is named, not traced.

onnxruntime reports a truncated file as `[ONNXRuntimeError] : 7 : INVALID_PROTOBUF ...` and a graph whose
inputs differ from what the runtime feeds as `Required inputs ([...]) are missing` at the first `run`;
both come from here instead as one `BadInputError` line naming the file and what to do.
"""

from __future__ import annotations

from pathlib import Path

from vla.runtime.errors import BadInputError

# onnxruntime's error types for a file it cannot parse as a model (by name: the classes live in its
# compiled module and differ a little across versions, e.g. onnxruntime 1.19 on JetPack 6).
_CORRUPT_MODEL_ERRORS = {"InvalidProtobuf", "InvalidGraph", "NoModel"}


def open_session(path: Path, options, providers: list, remedy: str):
    """`onnxruntime.InferenceSession` of `path`; a file onnxruntime cannot load as a model raises
    BadInputError "corrupt ONNX file <path>: <reason>; <remedy>". Other errors (a provider that is not
    installed, out of memory) pass through unchanged."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(str(path), options, providers=providers)
    except Exception as error:
        message = str(error)
        if type(error).__name__ not in _CORRUPT_MODEL_ERRORS and "Load model from" not in message:
            raise
        # "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from x failed:Protobuf parsing failed."
        reason = message.rsplit("failed:", 1)[-1].strip().rstrip(".") or type(error).__name__
        raise BadInputError(
            f"corrupt ONNX file {path}: {reason} (truncated or not an ONNX model); {remedy}"
        ) from None


def check_graph_io(session, path: Path, fed: set[str], needed_outputs: tuple[str, ...], remedy: str) -> None:
    """The graph at `path` takes only inputs the runtime feeds (`fed`) and has `needed_outputs`; otherwise
    BadInputError naming the missing and unexpected names (an export from another layout)."""
    takes = [i.name for i in session.get_inputs()]
    gives = {o.name for o in session.get_outputs()}
    unexpected = [name for name in takes if name not in fed]
    missing_outputs = [name for name in needed_outputs if name not in gives]
    if unexpected or missing_outputs:
        problems = []
        if unexpected:
            problems.append(f"it needs input(s) {unexpected} that this folder's export.json does not provide")
        if missing_outputs:
            problems.append(f"it lacks output(s) {missing_outputs}")
        raise BadInputError(
            f"{path} does not match this runtime's layout (inputs {sorted(fed)}, outputs "
            f"{list(needed_outputs)}): {'; '.join(problems)}; it was exported by another version: {remedy}"
        )
