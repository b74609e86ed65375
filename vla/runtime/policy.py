"""`RuntimePolicy`: the `reset()` / `infer(obs)` contract of `vla.policy.VLAPolicy`, without torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vla.contract import OBS_STATE, TASK, camera_key
from vla.runtime.export_folder import ExportFolder
from vla.runtime.images import resize_uint8
from vla.runtime.observation import camera_frames, instruction_text, observation_keys
from vla.runtime.providers import execution_providers, session_options
from vla.runtime.sessions import check_graph_io, open_session

# The policy graph's inputs (vla/export/graph.py); "sentence" only for presets with a sentence encoder.
GRAPH_INPUTS, SENTENCE_INPUT = ("images", "state", "words"), "sentence"
GRAPH_OUTPUTS = ("actions", "confidence", "abstain")


class RuntimePolicy:
    """An export folder run with onnxruntime.

    variant: "fp32" | "fp16" | "int8" (see `vla export`); provider: "cpu" | "cuda" | "tensorrt";
    threads: intra-op CPU threads (None: all cores).

    A folder this runtime cannot trust (missing or corrupt files, another format version, a graph whose
    inputs differ from what it feeds) raises `vla.runtime.BadInputError` naming the file, at construction.
    """

    def __init__(
        self,
        folder: Path | str,
        variant: str = "fp32",
        provider: str = "cpu",
        threads: int | None = None,
        engine_cache: Path | None = None,
    ):
        from tokenizers import Tokenizer

        self.export = ExportFolder.read(folder)
        self.variant = variant
        providers = execution_providers(provider, engine_cache)
        model_path = self.export.model_path(variant)
        self.session = open_session(model_path, session_options(threads), providers, self.export.remedy)
        fed = set(GRAPH_INPUTS) | ({SENTENCE_INPUT} if self.export.sentence_encoder else set())
        check_graph_io(self.session, model_path, fed, GRAPH_OUTPUTS, self.export.remedy)
        self._input_names = {i.name for i in self.session.get_inputs()}
        self.words_tokenizer = Tokenizer.from_file(str(self.export.path / "tokenizer.json"))
        self.sentence_session = self.sentence_tokenizer = None
        if self.export.sentence_encoder:
            spec = self.export.sentence_encoder
            # Runs once per new instruction: one thread that sleeps when idle, so it never competes with
            # the policy graph's threads.
            self.sentence_session = open_session(
                self.export.path / spec["model"],
                session_options(1, spin=False),
                providers,
                self.export.remedy,
            )
            self.sentence_tokenizer = Tokenizer.from_file(str(self.export.path / spec["tokenizer"]))
        self._instruction: tuple[str, dict[str, np.ndarray]] | None = None

    @property
    def chunk_length(self) -> int:
        return self.export.chunk_length

    @property
    def observation_keys(self) -> list[str]:
        return observation_keys(self.export.cameras)

    def reset(self) -> None:
        """Start of an episode: forget the cached instruction encoding."""
        self._instruction = None

    def warmup(self, calls: int = 3) -> None:
        """Run a few dummy chunks (first calls allocate memory and, with TensorRT, build engines)."""
        size = self.export.image_size
        obs = {camera_key(c): np.zeros((size, size, 3), np.uint8) for c in self.export.cameras}
        obs |= {OBS_STATE: np.zeros(self.export.state_dim, np.float32), TASK: "warm up"}
        for _ in range(calls):
            self.infer(obs)
        self.reset()

    def instruction_inputs(self, text: str) -> dict[str, np.ndarray]:
        """{"words": (1, L) int64, "sentence": (1, 384) float32}; computed once per distinct instruction."""
        if self._instruction is None or self._instruction[0] != text:
            from vla.tokenization.text import encode_instructions

            inputs = {
                "words": encode_instructions(self.words_tokenizer, [text], self.export.max_instruction_tokens)
            }
            if self.sentence_session is not None:
                encoding = self.sentence_tokenizer.encode_batch([text])[0]
                (inputs["sentence"],) = self.sentence_session.run(
                    None,
                    {
                        "input_ids": np.asarray([encoding.ids], np.int64),
                        "attention_mask": np.asarray([encoding.attention_mask], np.int64),
                    },
                )
            self._instruction = (text, inputs)
        return self._instruction[1]

    def graph_inputs(self, obs: dict) -> dict[str, np.ndarray]:
        """The observation as the graph's input arrays (batch 1); bad input (a missing key, a bad frame or
        state, an empty instruction) raises naming the key, before anything runs."""
        size = self.export.image_size
        frames = [resize_uint8(image, size) for image in camera_frames(obs, self.export.cameras)]
        state = np.asarray(obs[OBS_STATE], np.float32).reshape(-1)
        if state.shape != (self.export.state_dim,):
            raise ValueError(f"{OBS_STATE}: expected ({self.export.state_dim},), got {state.shape}")
        if not np.all(np.isfinite(state)):
            raise ValueError(
                f"observation.state: non-finite value at index {int(np.argmin(np.isfinite(state)))}"
            )
        inputs = {"images": np.stack(frames)[None], "state": state[None]}
        inputs |= self.instruction_inputs(instruction_text(obs))
        return {name: value for name, value in inputs.items() if name in self._input_names}

    def infer(self, obs: dict) -> dict[str, np.ndarray]:
        """One chunk: {"actions": (T, A) float32 in dataset units, "confidence": (T,) float32, "abstain": ()
        float32, the probability that the instruction names nothing in view}.

        An empty instruction is an error (ValueError), never an action."""
        actions, confidence, abstain = self.session.run(list(GRAPH_OUTPUTS), self.graph_inputs(obs))
        return {
            "actions": actions[0].astype(np.float32),
            "confidence": confidence[0].astype(np.float32),
            "abstain": abstain[0].astype(np.float32),
        }
