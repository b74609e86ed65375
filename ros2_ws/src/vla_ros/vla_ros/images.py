"""sensor_msgs Image / CompressedImage <-> (H, W, 3) uint8 RGB arrays, without cv_bridge.

Errors name the topic and say what was expected, so a misconfigured camera shows up in /diagnostics
instead of stopping the node.
"""

from __future__ import annotations

import io

import numpy as np

# encoding -> (channels, index order giving RGB)
ENCODINGS = {"rgb8": (3, [0, 1, 2]), "bgr8": (3, [2, 1, 0]), "rgba8": (4, [0, 1, 2]), "bgra8": (4, [2, 1, 0])}


class ImageError(ValueError):
    """A frame that cannot be used (encoding, size, corrupt data); the message names the topic."""


def image_to_rgb(topic: str, encoding: str, height: int, width: int, step: int, data: bytes) -> np.ndarray:
    """The fields of a sensor_msgs/Image -> (height, width, 3) uint8 RGB (a copy)."""
    if encoding not in ENCODINGS:
        raise ImageError(f"{topic}: unsupported encoding {encoding!r}; expected one of {sorted(ENCODINGS)}")
    channels, order = ENCODINGS[encoding]
    if height <= 0 or width <= 0 or step < width * channels:
        raise ImageError(f"{topic}: bad geometry {width}x{height} with step {step} for {encoding}")
    buffer = np.frombuffer(bytes(data), np.uint8)
    if buffer.size != step * height:
        raise ImageError(f"{topic}: {buffer.size} bytes of data, expected step*height = {step * height}")
    pixels = buffer.reshape(height, step)[:, : width * channels].reshape(height, width, channels)
    return np.ascontiguousarray(pixels[..., order])


def compressed_to_rgb(topic: str, format_: str, data: bytes) -> np.ndarray:
    """The fields of a sensor_msgs/CompressedImage (jpeg or png) -> (H, W, 3) uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError(f"{topic}: cannot decode compressed image (format {format_!r}): {error}") from error


def check_size(topic: str, image: np.ndarray, width: int, height: int) -> None:
    """Expected size from the parameters (0 = accept any; the runtime resizes)."""
    if (width and image.shape[1] != width) or (height and image.shape[0] != height):
        raise ImageError(f"{topic}: frame is {image.shape[1]}x{image.shape[0]}, expected {width}x{height}")


def message_to_rgb(topic: str, msg, width: int = 0, height: int = 0) -> np.ndarray:
    """A sensor_msgs Image or CompressedImage -> (H, W, 3) uint8 RGB, checked against width x height
    (0 = any). Raises ImageError naming the topic."""
    if hasattr(msg, "format"):  # CompressedImage
        frame = compressed_to_rgb(topic, msg.format, msg.data)
    else:
        frame = image_to_rgb(topic, msg.encoding, msg.height, msg.width, msg.step, msg.data)
    check_size(topic, frame, width, height)
    return frame
