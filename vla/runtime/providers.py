"""onnxruntime execution providers and session options, by name: cpu, cuda, tensorrt.

`tensorrt` is the Jetson path (deploy/jetson/README.md): fp16 kernels and an engine cache, so the engine
is built once on the device (minutes on an Orin) and loaded in seconds afterwards. onnxruntime falls
back to the next provider in the list for any node a provider cannot run.
"""

from __future__ import annotations

from pathlib import Path

PROVIDERS = ("cpu", "cuda", "tensorrt")


def execution_providers(name: str, cache_dir: Path | None = None) -> list:
    """The providers list for `onnxruntime.InferenceSession` (most preferred first)."""
    if name == "cpu":
        return ["CPUExecutionProvider"]
    if name == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if name == "tensorrt":
        cache = str(
            Path(cache_dir).expanduser() if cache_dir else Path.home() / ".cache" / "vla" / "trt_engines"
        )
        tensorrt = {
            "trt_fp16_enable": True,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": cache,
            "trt_max_workspace_size": 1 << 30,  # bytes; Orin Nano has 8 GB shared with the CPU
            "trt_builder_optimization_level": 3,
        }
        return [("TensorrtExecutionProvider", tensorrt), "CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"unknown execution provider {name!r}; known: {', '.join(PROVIDERS)}")


def session_options(threads: int | None = None, spin: bool = True):
    """Full graph optimisation; `threads` intra-op CPU threads (None: onnxruntime's default, all cores).

    `spin`: idle threads busy-wait for the next operator (lower latency inside a run, but they keep burning
    CPU for a while after it); off for sessions that run rarely.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: TensorRT's fallback notices are expected
    return options
