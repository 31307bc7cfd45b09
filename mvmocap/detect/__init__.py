"""Stage 1: videos -> per-camera 2D detections (keypoints, masks, optional IUV and monocular 3D)."""
