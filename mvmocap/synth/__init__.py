"""Synthetic training data: SMPL bodies -> sampled camera rigs -> detector-like 2D evidence.

* ``pose_sampler`` (procedural poses by family), ``pose_files`` (AMASS / smpl_params.npz),
  ``shape_sampler`` (betas), ``rig_sampler`` (camera rigs by layout family);
* ``rasterize`` (batched PyTorch rasteriser: silhouettes, IUV, soft silhouette), ``part_uv``
  (DensePose parts and charts from a body model's skinning weights);
* ``evidence`` (projection, crops, heatmaps, detector noise, augmentations);
* ``dataset`` (:class:`~mvmocap.synth.dataset.SyntheticMultiView`: paired samples on the fly);
* ``toy_body`` (a tiny capsule body in SMPL layout for tests and smoke runs).

Every sampler takes an explicit ``torch.Generator``.
"""
