"""mvmocap: multi-view markerless motion capture to SMPL parameters.

Conventions (the only ones used inside the package; see README "Conventions"):

* Cameras follow OpenCV: x right, y down, z forward; ``x_cam = R @ x_world + t``.
* Lengths are metres, angles radians, image coordinates pixels as in OpenCV:
  integer coordinates are pixel centres, (0, 0) the centre of the top-left pixel.
* The world frame is right-handed with +Z up.
* Missing data is a confidence of 0, never NaN.

Other conventions (SMPL's y-up, Qualisys, Blender, ...) are converted at the
I/O edge only.
"""

__version__ = "0.1.0"
