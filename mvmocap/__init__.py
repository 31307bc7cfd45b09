"""mvmocap: multi-view markerless motion capture to SMPL parameters.

Conventions (the only ones used inside the package; see README "Conventions"):

* Cameras follow OpenCV: x right, y down, z forward; ``x_cam = R @ x_world + t``.
* Lengths are metres, angles radians, image coordinates pixels (origin at the
  top-left pixel's top-left corner as in OpenCV).
* The world frame is right-handed with +Z up.
* Missing data is a confidence of 0, never NaN.

Other conventions (SMPL's y-up, Qualisys, Blender, ...) are converted at the
I/O edge only.
"""

__version__ = "0.1.0"
