"""Low-polygon versions of the SO-101 meshes for fast software rendering.

The shipped STL meshes hold ~320k triangles. On a CPU-only machine EGL renders through Mesa's
llvmpipe, where triangle count sets the floor of the frame time, so we simplify each mesh once at load
time by vertex clustering (Rossignac & Borrel, 1993): snap vertices to a grid of `cell_m` metres,
merge each cell into its mean, drop faces that collapse. At 128x128 pixels a 3 mm grid is invisible
and cuts the triangle count by ~20x. Collision uses MuJoCo's convex hull of the same mesh, which the
simplification barely changes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


def read_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a binary STL. Returns (vertices (V,3) float64 metres, faces (F,3) int32), deduplicated."""
    raw = path.read_bytes()
    if raw[:5] == b"solid" and b"facet" in raw[:512]:
        raise ValueError(f"{path}: ASCII STL is not supported, expected binary STL")
    count = int(np.frombuffer(raw, dtype="<u4", count=1, offset=80)[0])
    if len(raw) < 84 + 50 * count:
        raise ValueError(
            f"{path}: truncated STL, header says {count} triangles but file has {len(raw)} bytes"
        )
    record = np.dtype([("normal", "<f4", 3), ("tri", "<f4", (3, 3)), ("attr", "<u2")])
    tris = np.frombuffer(raw, dtype=record, count=count, offset=84)["tri"].reshape(-1, 3).astype(np.float64)
    verts, inverse = np.unique(tris, axis=0, return_inverse=True)
    return verts, inverse.reshape(-1, 3).astype(np.int32)


def cluster_decimate(verts: np.ndarray, faces: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering on a grid of `cell_m`. (V,3),(F,3) -> (V',3),(F',3) with V'<=V, F'<=F."""
    keys = np.floor(verts / cell_m).astype(np.int64)
    _, cluster, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    cluster = cluster.reshape(-1)
    merged = np.zeros((len(counts), 3))
    np.add.at(merged, cluster, verts)
    merged /= counts[:, None]
    new_faces = cluster[faces]
    keep = (
        (new_faces[:, 0] != new_faces[:, 1])
        & (new_faces[:, 1] != new_faces[:, 2])
        & (new_faces[:, 0] != new_faces[:, 2])
    )
    new_faces = new_faces[keep]
    # The same triangle may survive from several originals; keep one (orientation of the first).
    _, first = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
    new_faces = new_faces[np.sort(first)]
    used, remap = np.unique(new_faces, return_inverse=True)
    return merged[used], remap.reshape(-1, 3).astype(np.int32)


@lru_cache(maxsize=64)
def low_poly_mesh(path: Path, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cached simplified mesh of a binary STL file: (vertices (V,3) float32, faces (F,3) int32)."""
    verts, faces = read_stl(path)
    if cell_m > 0:
        verts, faces = cluster_decimate(verts, faces, cell_m)
    return verts.astype(np.float32), faces
