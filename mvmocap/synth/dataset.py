"""Paired synthetic multi-view samples generated on the fly: SMPL body -> camera rig -> 2D evidence.

Sample ``i`` of a dataset with seed ``s`` depends only on ``(s, i)`` (its own ``torch.Generator``),
so a dataset is a fixed, reproducible sequence whatever the batching, worker or process split.
Index it with an int (one sample) or a list of ints (a collated batch, the fast path: the body
model and the rasteriser run once for the whole batch).

Every sample (leading dims ``B`` for a batch; ``C`` views; ``J = 17`` COCO joints):

=================  =======================  =====================================================
key                shape                    meaning
=================  =======================  =====================================================
global_orient      (B, 3)                   axis-angle, body rest frame -> world (+Z up)
body_pose          (B, 23, 3)               axis-angle
betas              (B, 10)
transl             (B, 3)                   metres
joints3d           (B, J, 3)                COCO-17 of the body model, world, metres
vertices           (B, V, 3)                only with ``return_vertices``
K, R, t, dist      (B, C, 3, 3) ...         full-image cameras (OpenCV, x_cam = R x + t)
image_size         (B, C, 2)                (width, height) px
crop               (B, C, 3)                (cx, cy, side) px of the square crop (scale 1.2)
K_crop             (B, C, 3, 3)             intrinsics into that S x S crop
keypoints2d        (B, C, J, 3)             detector-like x, y (full image px) and confidence
keypoints2d_gt     (B, C, J, 2)             exact projections, full image px
keypoints_crop     (B, C, J, 3)             ``keypoints2d`` in crop pixels (+ confidence); crop
                                            size S = render_size, else heatmap_size, else 256
heatmaps           (B, C, J, Hs, Hs)        only with ``heatmap_size > 0``
mask               (B, C, S, S)             silhouette in the crop, only with ``render_size > 0``
iuv                (B, C, 3, S, S)          part, U, V in the crop, only with ``render_iuv``
view_valid         (B, C) bool              False = a missing view (its evidence is zero); with
                                            ``views_min``, a uniform number of views in
                                            views_min..views per sample is kept
triangulated       (B, J, 3)                only with ``pipeline_skeleton``: ``keypoints2d`` are then
triangulated_confidence (B, J)              left/right-repaired as the pipeline does, and these are
                                            their robust triangulation (metres; confidence 0 = none)
visible            (B, C, J) bool           z-buffer joint visibility, only with realistic noise
pose_family        (B,) long                index into ``pose_sampler.ALL_FAMILIES`` (-1 = pose files)
rig_family         (B,) long                index into ``rig_sampler.ALL_RIG_FAMILIES``
index              (B,) long                sample index
=================  =======================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from mvmocap.errors import InputError
from mvmocap.synth import evidence as ev
from mvmocap.synth.occlusion import JOINT_MARGINS_M, joint_margins, joint_visibility, visibility_from_depth
from mvmocap.synth.part_uv import body_part_uv
from mvmocap.synth.pose_sampler import FAMILIES, floor_translation, sample_poses
from mvmocap.synth.rasterize import Fragments, body_winding_sign, iuv_image, rasterize, silhouette, vertices_to_screen
from mvmocap.synth.realistic import RealisticNoise
from mvmocap.synth.rig_sampler import ALL_RIG_FAMILIES, RIG_FAMILIES, sample_rig
from mvmocap.synth.shape_sampler import sample_betas

NUM_JOINTS = 17


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Sizes in pixels; 0 disables heatmaps / rendering."""

    views: int = 4
    views_min: int | None = None
    pose_families: tuple[str, ...] = FAMILIES
    pose_family_weights: tuple[float, ...] | None = None
    pose_files: tuple[str, ...] = ()
    pose_file_share: float = 0.0
    rig_families: tuple[str, ...] = RIG_FAMILIES
    image_size: tuple[int, int] | None = None
    betas_std: float = 1.0
    betas_clip: float = 3.0
    crop_scale: float = ev.CROP_SCALE
    heatmap_size: int = 0
    heatmap_sigma: float = 2.0
    render_size: int = 0
    render_iuv: bool = False
    return_vertices: bool = False
    pipeline_skeleton: bool = False
    noise: ev.DetectorNoise | RealisticNoise = field(default_factory=ev.DetectorNoise)
    distortion_share: float = 0.0
    visibility_size: int = 32
    augment: ev.AugmentConfig = field(default_factory=ev.AugmentConfig)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "SynthConfig":
        """Build from a YAML mapping; ``noise`` and ``augment`` are nested mappings of
        :class:`~mvmocap.synth.evidence.DetectorNoise` / ``AugmentConfig`` fields, or the string
        ``"none"`` (exact keypoints / no augmentation)."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown data option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "noise" in d:
            noise = d["noise"]
            if isinstance(noise, dict) and noise.get("kind", "detector") == "realistic":
                d["noise"] = RealisticNoise.from_dict(noise)
            elif noise == "none":
                d["noise"] = ev.DetectorNoise(sigma=(0.0,) * 23, outlier_rate=0, dropout=0, swap_rate=0,
                                              confidence_range=(1.0, 1.0), fitted=False, source="no noise")
            else:
                values = {k: tuple(v) if isinstance(v, list) else v for k, v in noise.items() if k != "kind"}
                values.setdefault("source", "training config (on top of the fitted defaults)")
                d["noise"] = ev.DetectorNoise(**values)
        if "augment" in d:
            d["augment"] = ev.AugmentConfig.none() if d["augment"] == "none" else ev.AugmentConfig(**d["augment"])
        for key in ("pose_families", "pose_family_weights", "pose_files", "rig_families", "image_size"):
            if isinstance(d.get(key), list):
                d[key] = tuple(d[key])
        cfg = cls(**d)
        if not 0.0 <= cfg.distortion_share <= 1.0:
            raise InputError(f"distortion_share must be in [0, 1], got {cfg.distortion_share}")
        if not 1 <= cfg.views <= 8:
            raise InputError(f"views must be in 1..8, got {cfg.views}")
        if cfg.views_min is not None and not 1 <= cfg.views_min <= cfg.views:
            raise InputError(f"views_min must be in 1..views ({cfg.views}), got {cfg.views_min}")
        weights = cfg.pose_family_weights
        if weights is not None and (len(weights) != len(cfg.pose_families) or min(weights) < 0 or sum(weights) <= 0):
            raise InputError(
                f"pose_family_weights must be {len(cfg.pose_families)} non-negative numbers (one per pose family), "
                f"got {list(weights)}"
            )
        return cfg


def load_body(name: str | None):
    """The body model a config names: ``"toy"`` (the built-in capsule body) or anything
    :func:`mvmocap.body.load_body_model` accepts (None = its default)."""
    if name == "toy":
        from mvmocap.synth.toy_body import ToyBodyModel

        return ToyBodyModel()
    from mvmocap.body import load_body_model

    return load_body_model(name)


class SyntheticMultiView(Dataset):
    """``length`` reproducible synthetic samples (see the module docstring)."""

    def __init__(self, body_model, config: SynthConfig | None = None, length: int = 10_000, seed: int = 0):
        self.body = body_model
        self.config = config or SynthConfig()
        self.length = int(length)
        self.seed = int(seed)
        self._part_uv = body_part_uv(body_model) if self.config.render_iuv else None
        self._cull = body_winding_sign(body_model) if self.config.render_size else 0
        self._pool = None
        if self.config.pose_files:
            from mvmocap.synth.pose_files import PoseFramePool

            self._pool = PoseFramePool.from_files(list(self.config.pose_files))

    def __len__(self) -> int:
        return self.length

    def generator(self, index: int) -> torch.Generator:
        """The generator of sample ``index``: seeded from (dataset seed, index) only."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + int(index) * 7_919 + 17)

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, Tensor)):
            return self.batch([int(i) for i in index])
        sample = self.batch([int(index)])
        return {k: v[0] for k, v in sample.items()}

    # -- generation -------------------------------------------------------------------------------
    def _sample_parameters(self, gens: list[torch.Generator]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Pose (from files or procedural) and shape of each sample, each from its own generator
        (per generator: the pose-file coin, the pose, the betas), the maths batched."""
        cfg = self.config
        n = len(gens)
        go = torch.zeros(n, 3, dtype=torch.float64)
        bp = torch.zeros(n, 23, 3, dtype=torch.float64)
        fam = torch.zeros(n, dtype=torch.long)
        if self._pool is not None:
            from_files = [not cfg.pose_families or float(torch.rand((), generator=g)) < cfg.pose_file_share for g in gens]
        else:
            from_files = [False] * n
        for i, g in enumerate(gens):
            if from_files[i]:
                p = self._pool.sample(1, g)
                go[i], bp[i], fam[i] = p.global_orient[0], p.body_pose[0], p.family[0]
        procedural = [i for i in range(n) if not from_files[i]]
        if procedural:
            p = sample_poses(
                len(procedural), [gens[i] for i in procedural], cfg.pose_families,
                None if cfg.pose_family_weights is None else list(cfg.pose_family_weights),
            )
            idx = torch.tensor(procedural)
            go[idx], bp[idx], fam[idx] = p.global_orient, p.body_pose, p.family
        betas = torch.cat([sample_betas(1, g, 10, cfg.betas_std, cfg.betas_clip) for g in gens])
        return go, bp, betas, fam

    def batch(self, indices: list[int]) -> dict[str, Tensor]:
        """A collated batch of the samples ``indices``."""
        if not indices:
            raise InputError("empty batch")
        for i in indices:
            if not 0 <= i < self.length:
                raise IndexError(f"sample {i} out of range 0..{self.length - 1}")
        cfg = self.config
        gens = [self.generator(i) for i in indices]
        go, bp, betas, fam = self._sample_parameters(gens)
        dtype = torch.float32
        with torch.no_grad():
            out = self.body(global_orient=go.to(dtype), body_pose=bp.to(dtype), betas=betas.to(dtype))
        verts = out.vertices[:, : self.body.num_vertices]
        transl = floor_translation(verts, gens).to(dtype)
        verts = verts + transl[:, None]
        joints3d = out.coco23[:, :NUM_JOINTS] + transl[:, None]
        pelvis = out.joints[:, 0] + transl
        rigs, rig_family = [], []
        for i, g in enumerate(gens):
            # The distortion coin is drawn only when asked for, so existing seeds are unchanged.
            distort = cfg.distortion_share > 0 and float(torch.rand((), generator=g)) < cfg.distortion_share
            rig, name = sample_rig(cfg.views, pelvis[i].double(), g, families=cfg.rig_families,
                                   image_size=cfg.image_size, distortion=distort)
            rigs.append(rig.to(dtype))
            rig_family.append(ALL_RIG_FAMILIES.index(name))
        K = torch.stack([r.K for r in rigs])
        R = torch.stack([r.R for r in rigs])
        t = torch.stack([r.t for r in rigs])
        dist = torch.stack([r.dist for r in rigs])
        sizes = torch.stack([r.sizes for r in rigs])
        from mvmocap.geometry.projection import project_points

        if bool(dist.abs().max() > 0):
            kp_gt = project_points(joints3d[:, None], K, dist, R, t)  # (B, C, J, 2)
            vert_px = project_points(verts[:, None], K, dist, R, t)  # (B, C, V, 2)
        else:  # pinhole: one matmul with P = K [R | t]
            kp_gt, vert_px = _pinhole(joints3d, K, R, t), _pinhole(verts, K, R, t)
        boxes = ev.bounding_boxes(vert_px)  # (B, C, 4): the person's box, as a detector would give
        box_size = ev.keypoint_box_size(kp_gt)  # the noise model's unit
        frags = visible = None
        if isinstance(cfg.noise, RealisticNoise):
            noisy, conf, crops, view_valid, frags, visible = self._realistic_evidence(
                gens, verts, vert_px, joints3d, kp_gt, box_size, boxes, K, R, t, dist, sizes)
        else:
            noisy, conf, crops, view_valid = self._detector_evidence(gens, kp_gt, box_size, boxes)
        conf = conf * view_valid[..., None]
        noisy = noisy * view_valid[..., None, None]
        sample = {
            "global_orient": go.to(dtype), "body_pose": bp.to(dtype), "betas": betas.to(dtype), "transl": transl,
            "joints3d": joints3d, "K": K, "R": R, "t": t, "dist": dist, "image_size": sizes, "crop": crops,
            "keypoints2d": torch.cat([noisy, conf[..., None]], -1), "keypoints2d_gt": kp_gt,
            "view_valid": view_valid, "pose_family": fam.long(), "rig_family": torch.tensor(rig_family),
            "index": torch.tensor(indices),
        }
        if cfg.return_vertices:
            sample["vertices"] = verts
        if visible is not None:
            sample["visible"] = visible
        size_for_crop = cfg.render_size or cfg.heatmap_size or 256
        kp_crop = ev.to_crop(noisy, crops, size_for_crop)
        sample["keypoints_crop"] = torch.cat([kp_crop, conf[..., None]], -1)
        sample["K_crop"] = ev.crop_intrinsics(K, crops, size_for_crop)
        if cfg.render_size:
            self._render(sample, verts, gens, frags)
        if cfg.pipeline_skeleton:
            _pipeline_skeleton(sample)
        if cfg.heatmap_size:
            hm_pts = ev.to_crop(sample["keypoints2d"][..., :2], crops, cfg.heatmap_size)
            sample["heatmaps"] = ev.gaussian_heatmaps(hm_pts, sample["keypoints_crop"][..., 2], cfg.heatmap_size, cfg.heatmap_sigma)
        return sample

    def _crop_fragments(
        self, verts: Tensor, K: Tensor, R: Tensor, t: Tensor, dist: Tensor, crops: Tensor, vert_px: Tensor | None = None
    ) -> Fragments:
        """Rasterise every view's crop (``render_size``): distortion applied to the vertices (the crop
        is an affine map of the full image's pixels, so ``K_crop`` after distortion is exact up to
        straight triangle edges). ``vert_px (B, C, V, 2)``: the vertices' full-image pixels, if known
        (then only the crop's affine map is applied)."""
        S = self.config.render_size
        B, C = K.shape[:2]
        if vert_px is not None:
            depth = torch.einsum("bcij,bvj->bcvi", R[..., 2:3, :], verts) + t[..., None, 2:3]  # (B, C, V, 1)
            screen = torch.cat([ev.to_crop(vert_px, crops, S), depth], -1).reshape(B * C, -1, 3)
            return rasterize(screen, self.body.faces, (S, S), cull=self._cull)
        K_crop = ev.crop_intrinsics(K, crops, S)
        screen = vertices_to_screen(
            verts[:, None].expand(B, C, -1, -1).reshape(B * C, -1, 3),
            K_crop.reshape(B * C, 3, 3), R.reshape(B * C, 3, 3), t.reshape(B * C, 3),
            dist.reshape(B * C, 5) if bool(dist.abs().max() > 0) else None,
        )
        return rasterize(screen, self.body.faces, (S, S), cull=self._cull)

    def _kept_views(self, g: torch.Generator) -> Tensor:
        """``(views,)`` bool: the views a sample keeps (missing-view augmentation, ``views_min``)."""
        cfg = self.config
        keep = ev.missing_views(cfg.views, g, cfg.augment.missing_view)
        if cfg.views_min is not None:
            keep = keep & ev.active_views(cfg.views, cfg.views_min, g)
        return keep

    def _detector_evidence(self, gens, kp_gt: Tensor, box_size: Tensor, boxes: Tensor):
        """Keypoints from :class:`~mvmocap.synth.evidence.DetectorNoise` (the original draw order)."""
        cfg = self.config
        noisy, conf, crops, keep_view = [], [], [], []
        for i, g in enumerate(gens):
            p, c = cfg.noise.apply(kp_gt[i], box_size[i], g)
            if cfg.augment.joint_jitter > 0:
                p = ev.joint_jitter(p, box_size[i], g, cfg.augment.joint_jitter)
            crops.append(self._crop(boxes[i], g))
            noisy.append(p)
            conf.append(c)
            keep_view.append(self._kept_views(g))
        return torch.stack(noisy), torch.stack(conf), torch.stack(crops), torch.stack(keep_view)

    def _crop(self, box: Tensor, g: torch.Generator) -> Tensor:
        cfg = self.config
        if cfg.augment.box_jitter > 0:
            wh = (box[:, 2:] - box[:, :2]).repeat(1, 2)
            box = box + cfg.augment.box_jitter * wh * torch.randn(box.shape, generator=g).to(box)
        return ev.square_crops(box, cfg.crop_scale)

    def _realistic_evidence(self, gens, verts, vert_px, joints3d, kp_gt, box_size, boxes, K, R, t, dist, sizes):
        """Keypoints from :class:`~mvmocap.synth.realistic.RealisticNoise` with z-buffer visibility
        (from the crop renders when ``render_size`` is set, else every second vertex splatted into
        ``visibility_size`` cells: 92 % agreement with the rasteriser on the default body, see
        :mod:`mvmocap.synth.occlusion`)."""
        cfg = self.config
        crops = torch.stack([self._crop(boxes[i], g) for i, g in enumerate(gens)])
        frags = None
        has_dist = bool(dist.abs().max() > 0)
        if cfg.render_size:
            frags = self._crop_fragments(verts, K, R, t, dist, crops, vert_px)
            B, C = K.shape[:2]
            S = cfg.render_size
            j_px = kp_gt.reshape(B * C, -1, 2)
            j_crop = ev.to_crop(j_px, crops.reshape(B * C, 3), S)
            depth = torch.einsum("bcij,bnj->bcni", R, joints3d)[..., 2] + t[..., 2:3]  # (B, C, J)
            screen = torch.cat([j_crop, depth.reshape(B * C, -1, 1)], -1)
            margins = joint_margins(JOINT_MARGINS_M, screen.shape[1], screen)
            visible = visibility_from_depth(frags.depth, screen, margins).reshape(B, C, -1)
        else:
            visible = joint_visibility(verts, self.body.faces, joints3d, K, R, t, sizes, dist if has_dist else None,
                                       resolution=cfg.visibility_size, vertices_px=vert_px, vertex_stride=2)
        B, C, J = visible.shape
        # One call for the batch: each sample's generator draws for its own C views (T = 1).
        p_all, c_all = cfg.noise.apply(kp_gt.reshape(1, B * C, J, 2), box_size.reshape(1, B * C),
                                       visible.reshape(1, B * C, J), sizes.reshape(B * C, 2), gens)
        p_all, c_all = p_all.reshape(B, C, J, 2), c_all.reshape(B, C, J)
        noisy, conf, keep_view = [], [], []
        for i, g in enumerate(gens):
            p, c = p_all[i], c_all[i]
            if cfg.augment.joint_jitter > 0:
                p = ev.joint_jitter(p, box_size[i], g, cfg.augment.joint_jitter)
            noisy.append(p)
            conf.append(c)
            keep_view.append(self._kept_views(g))
        return torch.stack(noisy), torch.stack(conf), crops, torch.stack(keep_view), frags, visible

    def _render(self, sample: dict[str, Tensor], verts: Tensor, gens: list[torch.Generator],
                frags: Fragments | None = None) -> None:
        cfg = self.config
        S = cfg.render_size
        B, C = sample["K"].shape[:2]
        if frags is None:
            frags = self._crop_fragments(verts, sample["K"], sample["R"], sample["t"], sample["dist"], sample["crop"])
        mask = silhouette(frags).to(torch.float32).reshape(B, C, S, S)
        iuv = None
        if cfg.render_iuv:
            puv = self._part_uv
            iuv = iuv_image(frags, self.body.faces, puv.face_parts, puv.vertex_uv).reshape(B, C, 3, S, S).to(torch.float32)
        kp = sample["keypoints_crop"]
        masks, iuvs, confs = [], [], []
        for i, g in enumerate(gens):
            m_i, iuv_i, c_i = mask[i], None if iuv is None else iuv[i], kp[i, ..., 2]
            if iuv_i is not None and cfg.augment.part_drop > 0:
                iuv_i, m_i = ev.part_drop(iuv_i, m_i, g, cfg.augment.part_drop)
            if cfg.augment.occluder > 0:
                occ = ev.random_rectangles((C,), S, g, cfg.augment.occluder)
                m_i, iuv_i, c_i = ev.occlude(occ, m_i, iuv_i, kp[i, ..., :2], c_i, S)
            valid = sample["view_valid"][i].to(m_i.dtype)
            masks.append(m_i * valid[:, None, None])
            confs.append(c_i)
            if iuv_i is not None:
                iuvs.append(iuv_i * valid[:, None, None, None])
        sample["mask"] = torch.stack(masks)
        conf = torch.stack(confs)
        sample["keypoints_crop"] = torch.cat([kp[..., :2], conf[..., None]], -1)
        sample["keypoints2d"] = torch.cat([sample["keypoints2d"][..., :2], conf[..., None]], -1)
        if iuvs:
            sample["iuv"] = torch.stack(iuvs)


def _pipeline_skeleton(sample: dict[str, Tensor]) -> None:
    """What the reconstruct pipeline does to detections before any method sees them: the
    multi-view left/right repair of ``keypoints2d`` (and ``keypoints_crop``), then the robust
    triangulation, stored as ``triangulated (B, J, 3)`` metres and ``triangulated_confidence (B, J)``."""
    from mvmocap.synth.batch_geometry import side_flips, triangulate_batch
    from mvmocap.keypoints import COCO17, flip_permutation

    perm = list(flip_permutation(COCO17))
    flips = torch.stack([side_flips(sample, i) for i in range(sample["K"].shape[0])])[..., None, None]  # (B, C, 1, 1)
    for key in ("keypoints2d", "keypoints_crop"):
        sample[key] = torch.where(flips, sample[key][..., perm, :], sample[key])
    tri = triangulate_batch(sample, repair=False)
    dtype = sample["keypoints2d"].dtype
    sample["triangulated"] = torch.nan_to_num(tri.points).to(dtype)
    sample["triangulated_confidence"] = (tri.confidence * torch.isfinite(tri.points).all(-1)).to(dtype)


def _pinhole(points: Tensor, K: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """World points ``(B, N, 3)`` -> pixels ``(B, C, N, 2)`` for distortion-free cameras ``(B, C, ...)``."""
    P = K @ torch.cat([R, t.unsqueeze(-1)], -1)  # (B, C, 3, 4)
    h = torch.einsum("bcij,bnj->bcni", P[..., :3], points) + P[..., 3].unsqueeze(-2)
    return h[..., :2] / h[..., 2:].clamp(min=1e-6)


def with_options(config: SynthConfig, **changes) -> SynthConfig:
    """A copy of ``config`` with some fields changed."""
    return replace(config, **changes)
