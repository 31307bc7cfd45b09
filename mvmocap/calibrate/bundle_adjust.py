"""One global, robust bundle adjustment over all cameras, frames and joints.

Unknowns: per camera a rotation (updated on the left by axis-angle steps), a
translation, optionally a log focal length (fx and fy scale together) and
optionally a time offset (timeline frames: the camera's 2D tracks are read at
``t + offset`` through :class:`~mvmocap.calibrate.timed.TimedObservations`, the
offset's Jacobian being minus the track's velocity);
every joint of every frame seen by two or more cameras; one log length per
bone, shared by a bone and its mirror (left/right symmetry). Residuals, all in
pixel-like units so one Huber scale fits them:

* reprojection: ``sqrt(confidence) * (f * xy / z - uv)`` pixels;
* bone constancy: ``huber_px * (|X_i - X_j| / L_bone - 1) / bone_sigma``
  for every bone in every frame (one length over time, left = right; one set of
  lengths per person when the frames stack several people, ``frame_person``);
* gauge: the mean log bone length stays where it started (fixes the scale;
  the reference camera's pose is held fixed for rotation and translation).

Solved by Levenberg-Marquardt on iteratively reweighted (Huber) normal
equations with analytic Jacobians. The joints of one frame only meet the
other frames through the cameras and the bone lengths, so the normal
equations are reduced (Schur complement) to the few dozen camera and bone
unknowns, with one small dense block per frame: an iteration costs
milliseconds per hundred frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.calibrate.pinhole import Pinholes, rodrigues
from mvmocap.calibrate.timed import TimedObservations
from mvmocap.keypoints import COCO23, COCO23_LIMBS, flip_permutation

GAUGE_WEIGHT = 100.0
CAMERA_DOF = 8  # rotation (3), translation (3), log focal (1), time offset (1)
OFFSET = 7
OFFSET_BLOCK_FRAMES = 10  # frames per block of the offsets' sandwich covariance


def bone_groups(limbs=COCO23_LIMBS, names=COCO23) -> tuple[np.ndarray, np.ndarray]:
    """Bones ``(B, 2)`` joint indices and their length group ``(B,)``: a bone and its mirror share one."""
    perm = flip_permutation(names)
    groups: dict[tuple[int, int], int] = {}
    for i, j in limbs:
        key = tuple(sorted((i, j)))
        mirror = tuple(sorted((perm[i], perm[j])))
        if key not in groups:
            groups[key] = groups[mirror] if mirror in groups else len(set(groups.values()))
    return np.asarray(limbs), np.asarray([groups[tuple(sorted(b))] for b in limbs])


@dataclass(frozen=True)
class BundleResult:
    """Refined cameras and joints.

    Attributes:
        cams: the cameras; points: ``(F, J, 3)`` metres (0 where not ``valid``).
        valid: ``(F, J)`` the joints that were estimated.
        bone_lengths: ``(G,)`` one length per bone group seen, in world units.
        errors: ``(C, F, J)`` reprojection errors, pixels (0 where unused).
        iterations: Levenberg-Marquardt iterations.
        converged: whether the relative cost decrease fell below tolerance.
        rotation_std_deg, translation_std: ``(C,)`` each camera's pose uncertainty
            (largest standard deviation, degrees and world units) relative to the fixed camera.
        offsets, offset_std: ``(C,)`` time offsets (timeline frames) and their standard deviations
            (0 for held ones), when they were estimated; else None.
    """

    cams: Pinholes
    points: np.ndarray
    valid: np.ndarray
    bone_lengths: np.ndarray
    errors: np.ndarray
    iterations: int
    converged: bool
    rotation_std_deg: np.ndarray
    translation_std: np.ndarray
    offsets: np.ndarray | None = None
    offset_std: np.ndarray | None = None


def _skew(v: np.ndarray) -> np.ndarray:
    """``(..., 3)`` -> cross-product matrices ``(..., 3, 3)``."""
    z = np.zeros(v.shape[:-1])
    return np.stack([z, -v[..., 2], v[..., 1], v[..., 2], z, -v[..., 0], -v[..., 1], v[..., 0], z], -1).reshape(
        v.shape + (3,)
    )


def _huber_weights(norms: np.ndarray, delta: float) -> np.ndarray:
    return np.where(norms <= delta, 1.0, delta / np.maximum(norms, 1e-12))


def _huber_cost(norms: np.ndarray, delta: float) -> float:
    return float(np.where(norms <= delta, 0.5 * norms**2, delta * (norms - 0.5 * delta)).sum())


class _Problem:
    """Residuals and normal equations of the bundle adjustment (see the module docstring)."""

    def __init__(self, uv, weight, valid, fixed_camera, optimise_focal, huber_px, bone_sigma, shared_focal=False,
                 timing=None, frame_person=None):
        C, F, J = weight.shape
        self.C, self.F, self.J = C, F, J
        self.huber_px, self.bone_scale = huber_px, huber_px / bone_sigma
        self.oc, self.of, self.oj = np.nonzero((weight > 0) & valid[None])
        self.sw = np.sqrt(weight[self.oc, self.of, self.oj])
        self.target = uv[self.oc, self.of, self.oj]
        limbs, group = bone_groups()
        keep = limbs.max(1) < J
        limbs, group = limbs[keep], group[keep]
        bf, bb = np.nonzero(valid[:, limbs[:, 0]] & valid[:, limbs[:, 1]])
        key = group[bb] if frame_person is None else group[bb] + (group.max() + 1) * np.asarray(frame_person)[bf]
        # only the bone groups ever seen get a length (so the scale gauge acts on real bones); one set per person
        seen_groups, bg = np.unique(key, return_inverse=True)
        self.G = max(len(seen_groups), 1)
        self.bf, self.bi, self.bj, self.bg = bf, limbs[bb, 0], limbs[bb, 1], bg.reshape(-1)
        free = np.ones((C, CAMERA_DOF), dtype=bool)
        free[fixed_camera, :6] = False
        free[:, 6] = optimise_focal
        free[:, OFFSET] = False if timing is None else ~timing.fixed
        self.timing, self._timed = timing, (None, None)
        # global unknowns: camera blocks then bone log-lengths; only the free ones are solved.
        # column[c, k]: where camera c's k-th unknown lives (a shared focal length lives in camera 0's block)
        self.column = np.arange(C * CAMERA_DOF).reshape(C, CAMERA_DOF)
        if shared_focal:
            self.column[:, 6] = 6
            free[1:, 6] = False
        self.global_free = np.concatenate([free.ravel(), np.ones(self.G, dtype=bool)])
        self.n_global = C * CAMERA_DOF + self.G

    def targets(self, offsets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The observed ``(n, 2)`` pixels at ``offsets`` and their derivative by the offset (None without timing)."""
        if self.timing is None or offsets is None:
            return self.target, None
        key = tuple(np.asarray(offsets, np.float64))
        if self._timed[0] != key:
            uv, rate = self.timing.at(np.asarray(key))
            index = (self.oc, self.of, self.oj)
            self._timed = (key, (uv[index], rate[index]))
        return self._timed[1]

    def observation_residuals(self, cams: Pinholes, X: np.ndarray, offsets: np.ndarray | None = None):
        oc, of, oj = self.oc, self.of, self.oj
        target = self.targets(offsets)[0]
        Xw = X[of, oj]
        Xr = np.einsum("kij,kj->ki", cams.R[oc], Xw)
        Xc = Xr + cams.t[oc]
        z = np.maximum(Xc[:, 2], 1e-3)
        proj = cams.focal[oc] * Xc[:, :2] / z[:, None]
        return Xr, Xc, z, proj, self.sw[:, None] * (proj - target)

    def bone_residuals(self, X: np.ndarray, log_l: np.ndarray):
        d = X[self.bf, self.bi] - X[self.bf, self.bj]
        length = np.linalg.norm(d, axis=-1)
        ratio = length * np.exp(-log_l[self.bg])
        return d, length, ratio, self.bone_scale * (ratio - 1)

    def gauge_residual(self, log_l: np.ndarray, log_l0_mean: float) -> float:
        return GAUGE_WEIGHT * self.huber_px * (log_l.mean() - log_l0_mean)

    def cost(self, cams, X, log_l, log_l0_mean, offsets=None) -> float:
        r_obs = self.observation_residuals(cams, X, offsets)[-1]
        r_bone = self.bone_residuals(X, log_l)[-1]
        r_gauge = self.gauge_residual(log_l, log_l0_mean)
        delta = self.huber_px
        return _huber_cost(np.linalg.norm(r_obs, axis=1), delta) + _huber_cost(np.abs(r_bone), delta) + 0.5 * r_gauge**2

    def normal_equations(self, cams, X, log_l, log_l0_mean, offsets=None):
        """``A_gg (Ng, Ng)``, ``A_gf (F, Ng, 3J)``, ``A_ff (F, 3J, 3J)``, ``b_g``, ``b_f``: IRLS Gauss-Newton system."""
        C, F, J, G = self.C, self.F, self.J, self.G
        oc, of, oj = self.oc, self.of, self.oj
        Xr, Xc, z, proj, r = self.observation_residuals(cams, X, offsets)
        w = _huber_weights(np.linalg.norm(r, axis=1), self.huber_px)
        # d proj / d Xc  (n, 2, 3)
        f = cams.focal[oc]
        dpi = np.zeros((len(oc), 2, 3))
        dpi[:, 0, 0] = f[:, 0] / z
        dpi[:, 1, 1] = f[:, 1] / z
        dpi[:, :, 2] = -f * Xc[:, :2] / z[:, None] ** 2
        dpi *= self.sw[:, None, None]
        J_point = dpi @ cams.R[oc]  # (n, 2, 3)
        J_cam = np.zeros((len(oc), 2, CAMERA_DOF))
        J_cam[:, :, 0:3] = -dpi @ _skew(Xr)  # left rotation update: d(R X) = -[R X]x dw
        J_cam[:, :, 3:6] = dpi
        J_cam[:, :, 6] = self.sw[:, None] * proj
        rate = self.targets(offsets)[1]
        if rate is not None:  # r = sw (proj - uv(t + o)): d r / d o = -sw d uv / d o
            J_cam[:, :, OFFSET] = -self.sw[:, None] * rate
        rw = r * w[:, None]

        Ng, L = self.n_global, 3 * J
        A_gg = np.zeros((Ng, Ng))
        A_gf = np.zeros((F, Ng, L))
        A_ff = np.zeros((F, L, L))
        b_g = np.zeros(Ng)
        b_f = np.zeros((F, L))
        cam_cols = self.column[oc]  # (n, 7)
        pt_cols = oj[:, None] * 3 + np.arange(3)  # (n, 3)
        # A_gg[c-block] += sum_k w J_cam^T J_cam   (cameras do not mix with each other)
        cc = np.einsum("k,kdi,kdj->kij", w, J_cam, J_cam)
        cam_blocks = np.zeros((C, CAMERA_DOF, CAMERA_DOF))
        np.add.at(cam_blocks, oc, cc)
        np.add.at(A_gg, (self.column[:, :, None], self.column[:, None, :]), cam_blocks)
        cam_scores = np.einsum("kdi,kd->ki", J_cam, rw)
        np.add.at(b_g, cam_cols, cam_scores)
        # each frame's share of b_g (for the offsets' sandwich covariance; the gauge term belongs to no frame)
        self.frame_b_g = np.zeros((F if self.timing is not None else 0, Ng))
        if self.timing is not None:
            np.add.at(self.frame_b_g, (of[:, None], cam_cols), cam_scores)
        cp = np.einsum("k,kdi,kdj->kij", w, J_cam, J_point)
        np.add.at(A_gf, (of[:, None, None], cam_cols[:, :, None], pt_cols[:, None, :]), cp)
        pp = np.einsum("k,kdi,kdj->kij", w, J_point, J_point)
        np.add.at(A_ff, (of[:, None, None], pt_cols[:, :, None], pt_cols[:, None, :]), pp)
        np.add.at(b_f, (of[:, None], pt_cols), np.einsum("kdi,kd->ki", J_point, rw))

        d, length, ratio, r_b = self.bone_residuals(X, log_l)
        wb = _huber_weights(np.abs(r_b), self.huber_px)
        unit = d / np.maximum(length, 1e-9)[:, None]
        jx = self.bone_scale * np.exp(-log_l[self.bg])[:, None] * unit  # d r / d X_i ; d r / d X_j = -jx
        jl = -self.bone_scale * ratio  # d r / d log L
        ci = self.bi[:, None] * 3 + np.arange(3)
        cj = self.bj[:, None] * 3 + np.arange(3)
        bf = self.bf
        outer = np.einsum("k,ki,kj->kij", wb, jx, jx)
        np.add.at(A_ff, (bf[:, None, None], ci[:, :, None], ci[:, None, :]), outer)
        np.add.at(A_ff, (bf[:, None, None], cj[:, :, None], cj[:, None, :]), outer)
        np.add.at(A_ff, (bf[:, None, None], ci[:, :, None], cj[:, None, :]), -outer)
        np.add.at(A_ff, (bf[:, None, None], cj[:, :, None], ci[:, None, :]), -outer)
        np.add.at(b_f, (bf[:, None], ci), (wb * r_b)[:, None] * jx)
        np.add.at(b_f, (bf[:, None], cj), -(wb * r_b)[:, None] * jx)
        lcol = C * CAMERA_DOF + self.bg
        np.add.at(A_gg, (lcol, lcol), wb * jl**2)
        np.add.at(b_g, lcol, wb * jl * r_b)
        if self.timing is not None:
            np.add.at(self.frame_b_g, (bf, lcol), wb * jl * r_b)
        np.add.at(A_gf, (bf[:, None], lcol[:, None], ci), (wb * jl)[:, None] * jx)
        np.add.at(A_gf, (bf[:, None], lcol[:, None], cj), -(wb * jl)[:, None] * jx)
        # gauge: r = W (mean(l) - l0)
        jg = GAUGE_WEIGHT * self.huber_px / G
        lsl = slice(C * CAMERA_DOF, C * CAMERA_DOF + G)
        A_gg[lsl, lsl] += jg * jg
        b_g[lsl] += jg * self.gauge_residual(log_l, log_l0_mean)
        return A_gg, A_gf, A_ff, b_g, b_f


def _reduced_system(A_gg, A_gf, A_ff, b_g, b_f, free, damping):
    """Schur complement over the free global unknowns: ``S``, ``rhs``, the frame blocks' inverses and ``W``."""
    g = np.nonzero(free)[0]
    A_gg, A_gf, b_g = A_gg[np.ix_(g, g)], A_gf[:, g, :], b_g[g]
    L = A_ff.shape[-1]
    diag_f = np.diagonal(A_ff, axis1=1, axis2=2)
    A_ff_d = A_ff + np.einsum("fi,ij->fij", damping * diag_f + 1e-9, np.eye(L))
    A_gg_d = A_gg + np.diag(damping * np.diag(A_gg) + 1e-9)
    inv_ff = np.linalg.inv(A_ff_d)
    W = A_gf @ inv_ff  # (F, Ng, L)
    S = A_gg_d - np.einsum("fil,fjl->ij", W, A_gf)
    rhs = -b_g + np.einsum("fil,fl->i", W, b_f)
    return g, A_gf, S, rhs, inv_ff


def _solve_step(A_gg, A_gf, A_ff, b_g, b_f, free, damping):
    """Damped Schur-complement solve of ``A delta = -b`` over the free global unknowns."""
    g, A_gf, S, rhs, inv_ff = _reduced_system(A_gg, A_gf, A_ff, b_g, b_f, free, damping)
    delta_g = np.linalg.solve(S, rhs)
    delta_f = -np.einsum("fij,fj->fi", inv_ff, b_f + np.einsum("fgl,g->fl", A_gf, delta_g))
    full = np.zeros(len(free))
    full[g] = delta_g
    return full, delta_f


def _camera_uncertainty(problem: "_Problem", cams: Pinholes, X, log_l, log_l0_mean, offsets=None):
    """Standard deviations of each camera's rotation (degrees), translation (world units) and time offset
    (timeline frames), ``(C,)`` each.

    From the inverse of the reduced normal equations at the solution, scaled by
    the robust variance of the reprojection residuals; relative to the fixed
    camera (whose pose defines the gauge, so its own are 0).
    """
    system = problem.normal_equations(cams, X, log_l, log_l0_mean, offsets)
    g, _, S, _, _ = _reduced_system(*system, problem.global_free, 0.0)
    r = problem.observation_residuals(cams, X, offsets)[-1]
    sigma2 = float(np.median((r**2).sum(1))) / 1.386 if len(r) else 1.0  # median of chi2(2) = 1.386
    cov = np.zeros((problem.n_global, problem.n_global))
    cov[np.ix_(g, g)] = np.linalg.pinv(S) * sigma2
    rotation, translation = np.zeros(problem.C), np.zeros(problem.C)
    for c in range(problem.C):
        k = c * CAMERA_DOF
        rotation[c] = np.degrees(np.sqrt(max(np.linalg.eigvalsh(cov[k : k + 3, k : k + 3]).max(), 0.0)))
        translation[c] = np.sqrt(max(np.linalg.eigvalsh(cov[k + 3 : k + 6, k + 3 : k + 6]).max(), 0.0))
    offset = np.zeros(problem.C)
    if problem.timing is not None:
        offset = _offset_std(problem, system, g, S)
    return rotation, translation, offset


def _offset_std(problem: "_Problem", system, g: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``(C,)`` standard deviations of the time offsets, frames: a sandwich (cluster-robust) covariance
    ``S^-1 (sum_b u_b u_b^T) S^-1`` with ``u_b`` the reduced gradient of a block of ``OFFSET_BLOCK_FRAMES``
    consecutive frames. The tracks are smoothed in time and a detector's errors persist over frames, so
    the residuals of neighbouring frames are correlated and the inverse Hessian alone (independent
    residuals) understates the spread several times."""
    _, A_gf, A_ff, _, b_f = system
    A_gf = A_gf[:, g, :]
    inv_ff = np.linalg.inv(A_ff + 1e-9 * np.eye(A_ff.shape[-1]))  # as in _reduced_system without damping
    per_frame = problem.frame_b_g[:, g] - np.einsum("fgl,flm,fm->fg", A_gf, inv_ff, b_f)  # (F, Ng_free)
    order = np.argsort(problem.timing.timeline)
    blocks = np.array_split(order, max(len(order) // OFFSET_BLOCK_FRAMES, 1))
    u = np.stack([per_frame[b].sum(0) for b in blocks])  # (B, Ng_free)
    S_inv = np.linalg.pinv(S)
    cov = S_inv @ (u.T @ u) @ S_inv
    full = np.zeros(problem.n_global)
    full[g] = np.diagonal(cov)
    return np.sqrt(np.maximum(full[problem.column[:, OFFSET]], 0.0))


def bundle_adjust(
    cams: Pinholes,
    uv: np.ndarray,
    weight: np.ndarray,
    points: np.ndarray,
    valid: np.ndarray,
    *,
    fixed_camera: int = 0,
    optimise_focal: bool = False,
    shared_focal: bool = False,
    huber_px: float = 4.0,
    bone_sigma: float = 0.06,
    max_iterations: int = 50,
    tolerance: float = 1e-5,
    timing: TimedObservations | None = None,
    offsets: np.ndarray | None = None,
    frame_person: np.ndarray | None = None,
) -> BundleResult:
    """Refine cameras and joints together (robust Levenberg-Marquardt, Schur complement).

    Args:
        cams: starting cameras (C).
        uv: ``(C, F, J, 2)`` ideal centred pixels; weight ``(C, F, J)`` (0 = unused).
        points: ``(F, J, 3)`` starting joints; valid ``(F, J)`` those to estimate
            (joints seen by fewer than two cameras are left out).
        fixed_camera: the camera whose pose fixes the gauge.
        optimise_focal: also estimate one focal length per camera.
        shared_focal: with ``optimise_focal``, one focal length for all cameras
            (the same camera model and zoom everywhere; the starting focal
            lengths must then be equal).
        huber_px: where the Huber loss turns linear, pixels.
        bone_sigma: allowed relative variation of a bone's length over time.
        max_iterations, tolerance: stop after this many iterations or when the
            relative cost decrease of an accepted step is below ``tolerance``.
        timing: the cameras' tracks on their own frames, to estimate a time offset per camera
            (those not ``timing.fixed``) with everything else; ``uv`` and ``weight`` are then the
            tracks at the starting ``offsets (C,)`` timeline frames (``timing.at`` and ``timing.weights_at``)
            and the frames are ``timing.timeline``.
        frame_person: ``(F,)`` int, whose joints each frame holds when the frames stack several
            people (each person gets their own bone lengths); None: one person.
    """
    C, F, J = weight.shape
    valid = valid & ((weight > 0).sum(0) >= 2)
    if timing is not None:
        offsets = np.zeros(C) if offsets is None else np.asarray(offsets, np.float64).copy()
    problem = _Problem(uv, weight, valid, fixed_camera, optimise_focal, huber_px, bone_sigma, shared_focal, timing,
                       frame_person)
    X = np.where(valid[..., None], points, 0.0)
    d = X[problem.bf, problem.bi] - X[problem.bf, problem.bj]
    seen = np.linalg.norm(d, axis=-1)
    log_l = np.zeros(problem.G)
    for g in range(problem.G):
        if (problem.bg == g).any():
            log_l[g] = np.log(max(float(np.median(seen[problem.bg == g])), 1e-6))
    log_l0_mean = float(log_l.mean())
    cost = problem.cost(cams, X, log_l, log_l0_mean, offsets)
    damping, converged, iteration = 1e-4, False, 0
    new_offsets = offsets
    for iteration in range(1, max_iterations + 1):
        system = problem.normal_equations(cams, X, log_l, log_l0_mean, offsets)
        while True:
            delta_g, delta_f = _solve_step(*system, problem.global_free, damping)
            step = delta_g[problem.column]  # (C, 8)
            new_cams = Pinholes(
                rodrigues(step[:, :3]) @ cams.R, cams.t + step[:, 3:6], cams.focal * np.exp(step[:, 6:7])
            )
            new_X = np.where(valid[..., None], X + delta_f.reshape(F, J, 3), 0.0)
            new_log_l = log_l + delta_g[C * CAMERA_DOF :]
            if offsets is not None:
                new_offsets = offsets + step[:, OFFSET]
            new_cost = problem.cost(new_cams, new_X, new_log_l, log_l0_mean, new_offsets)
            if new_cost < cost:
                break
            damping *= 10
            if damping > 1e8:
                break
        if new_cost >= cost:
            converged = True
            break
        decrease = (cost - new_cost) / max(cost, 1e-12)
        cams, X, log_l, cost, offsets = new_cams, new_X, new_log_l, new_cost, new_offsets
        damping = max(damping / 10, 1e-7)
        if decrease < tolerance:
            converged = True
            break
    errors = np.zeros((C, F, J))
    proj = cams.project(X)
    errors[problem.oc, problem.of, problem.oj] = np.linalg.norm(
        proj[problem.oc, problem.of, problem.oj] - problem.targets(offsets)[0], axis=-1
    )
    rotation_std, translation_std, offset_std = _camera_uncertainty(problem, cams, X, log_l, log_l0_mean, offsets)
    return BundleResult(cams, X, valid, np.exp(log_l), errors, iteration, converged, rotation_std, translation_std,
                        offsets, None if offsets is None else offset_std)
