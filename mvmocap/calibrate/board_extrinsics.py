"""Extrinsics from a board seen by several cameras at once (``calibrate --board ... --extrinsics``).

Images taken at the same moment share their name once the camera's name is removed
(``cam01/0003.png`` and ``cam02/0003.png``, or Pose2Sim's ``cam01_03.jpg``). With each
camera's intrinsics (:mod:`mvmocap.calibrate.intrinsics`):

1. every view's board pose by PnP (``cv2.solvePnP``);
2. cameras chained from the reference (the first camera) over the graph of cameras that
   saw the board at the same moment (breadth first; a pair's relative pose is the median of
   its shared moments' PnP compositions, rotations averaged by SVD);
3. one joint bundle adjustment (``scipy.optimize.least_squares``, Huber loss of 1 px) over
   every camera pose but the reference and every moment's board pose, intrinsics fixed.

The world is the board's frame at the first moment the reference camera saw it (x along
the columns, y along the rows, z the board's normal), metres. Cameras not connected to the
reference are refused by name. A checkerboard's corner order is fixed by the detector; a board
whose pattern looks the same turned by 180° (both inner-corner counts even or both odd) can be
read in opposite orders by two cameras: prefer one with an odd and an even count, or ChArUco.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mvmocap.calibrate.board import Board, BoardView
from mvmocap.errors import InputError


def moment_key(view: BoardView, camera: str) -> str:
    """The moment an image shows: its file stem without the camera's name."""
    stem = view.source.rsplit(".", 1)[0]
    return stem.replace(camera, "").strip("_- ") or stem


def _pose(view: BoardView, board: Board, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Board -> camera ``(4, 4)`` by PnP."""
    import cv2

    objects = board.object_points()[view.ids].astype(np.float64)
    ok, rvec, tvec = cv2.solvePnP(objects, view.corners.astype(np.float64), K, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    T = np.eye(4)
    T[:3, :3] = cv2.Rodrigues(rvec)[0]
    T[:3, 3] = tvec.reshape(3)
    return T


def _average(transforms: list[np.ndarray]) -> np.ndarray:
    """Rotation by SVD of the summed matrices, translation by the median."""
    U, _, Vt = np.linalg.svd(sum(T[:3, :3] for T in transforms))
    R = U @ np.diag([1, 1, np.linalg.det(U @ Vt)]) @ Vt
    out = np.eye(4)
    out[:3, :3] = R
    out[:3, 3] = np.median([T[:3, 3] for T in transforms], axis=0)
    return out


def chain_cameras(poses: list[dict[str, np.ndarray]], names: list[str]) -> list[np.ndarray]:
    """World -> camera ``(4, 4)`` per camera from per-moment board poses ``poses[c][moment]``."""
    reference_moment = sorted(poses[0])[0] if poses[0] else None
    if reference_moment is None:
        raise InputError(f"camera {names[0]}: no board view to place the other cameras from")
    world = [None] * len(poses)
    world[0] = poses[0][reference_moment]
    queue = deque([0])
    while queue:
        a = queue.popleft()
        for b in range(len(poses)):
            shared = sorted(set(poses[a]) & set(poses[b]))
            if world[b] is not None or not shared:
                continue
            relative = _average([poses[b][m] @ np.linalg.inv(poses[a][m]) for m in shared])  # camera a -> camera b
            world[b] = relative @ world[a]
            queue.append(b)
    lonely = [names[c] for c in range(len(poses)) if world[c] is None]
    if lonely:
        raise InputError(
            f"camera(s) {', '.join(lonely)} never saw the board at the same moment as the cameras connected to "
            f"{names[0]} (moments are matched by image name without the camera name): take images with the board "
            "visible in these cameras and at least one other at the same time"
        )
    return world


def bundle_adjust(views: list[dict[str, BoardView]], poses: list[dict[str, np.ndarray]], world: list[np.ndarray],
                  board: Board, Ks: list[np.ndarray], dists: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Joint refinement of the camera poses (the first fixed) and the board poses -> (world -> camera, RMS px)."""
    import cv2
    from scipy.optimize import least_squares

    C = len(views)
    moments = sorted(set().union(*[set(p) for p in poses]))
    board_world = []
    for m in moments:
        c = next(c for c in range(C) if m in poses[c])
        board_world.append(np.linalg.inv(world[c]) @ poses[c][m])  # board -> world

    def pack(T):
        return np.concatenate([cv2.Rodrigues(T[:3, :3])[0].reshape(3), T[:3, 3]])

    def unpack(x):
        T = np.eye(4)
        T[:3, :3] = cv2.Rodrigues(x[:3])[0]
        T[:3, 3] = x[3:]
        return T

    x0 = np.concatenate([pack(world[c]) for c in range(1, C)] + [pack(T) for T in board_world])
    grid = board.object_points().astype(np.float64)
    observations = [(c, moments.index(m), v) for c in range(C) for m, v in views[c].items() if m in poses[c]]

    def residuals(x):
        cams = [world[0]] + [unpack(x[6 * i:6 * i + 6]) for i in range(C - 1)]
        offset = 6 * (C - 1)
        out = []
        for c, k, view in observations:
            T = cams[c] @ unpack(x[offset + 6 * k: offset + 6 * k + 6])
            rvec = cv2.Rodrigues(T[:3, :3])[0]
            projected, _ = cv2.projectPoints(grid[view.ids], rvec, T[:3, 3], Ks[c], dists[c])
            out.append((projected.reshape(-1, 2) - view.corners).ravel())
        return np.concatenate(out)

    solution = least_squares(residuals, x0, loss="huber", f_scale=1.0, x_scale="jac", max_nfev=200)
    final = residuals(solution.x).reshape(-1, 2)
    cams = [world[0]] + [unpack(solution.x[6 * i:6 * i + 6]) for i in range(C - 1)]
    return cams, float(np.sqrt(np.mean((final ** 2).sum(1))))


def board_extrinsics(views_per_camera: list[list[BoardView]], names: list[str], board: Board, Ks, dists):
    """World -> camera ``(4, 4)`` per camera and the bundle adjustment's RMS (px); see the module docstring."""
    views = [{moment_key(v, n): v for v in vs} for vs, n in zip(views_per_camera, names)]
    poses = [{m: _pose(v, board, K, d) for m, v in vs.items()} for vs, K, d in zip(views, Ks, dists)]
    world = chain_cameras(poses, names)
    return bundle_adjust(views, poses, world, board, list(Ks), list(dists))
