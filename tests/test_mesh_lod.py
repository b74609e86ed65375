import numpy as np

from sim.mesh_lod import cluster_decimate, low_poly_mesh, read_stl
from sim.robot import so101_mjcf_path


def test_decimation_shrinks_a_shipped_mesh_but_keeps_its_extent():
    path = so101_mjcf_path().parent / "assets" / "upper_arm_so101_v1.stl"
    verts, faces = read_stl(path)
    low_verts, low_faces = low_poly_mesh(path, 0.004)
    assert len(low_faces) < len(faces) / 5
    assert low_faces.max() < len(low_verts)
    # Bounding box moves by at most one grid cell.
    np.testing.assert_allclose(low_verts.min(0), verts.min(0), atol=0.004)
    np.testing.assert_allclose(low_verts.max(0), verts.max(0), atol=0.004)


def test_cluster_decimate_drops_collapsed_faces():
    verts = np.array([[0, 0, 0], [0.0001, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    new_verts, new_faces = cluster_decimate(verts, faces, 0.01)
    assert len(new_verts) == 3 and len(new_faces) == 1
    # The surviving face keeps its corners (the merged pair becomes their mean) and its orientation.
    np.testing.assert_allclose(new_verts[new_faces[0]], [[0.00005, 0, 0], [1, 0, 0], [0, 1, 0]])
