"""BlazePose backend (MediaPipe Pose, CPU, offline): 33 landmarks -> COCO-17 + feet.

``mediapipe==0.10.14`` ships only the *full* landmark model
(``pose_landmark_full.tflite``, ``model_complexity=1``); the lite (0) and heavy
(2) models would be downloaded at run time, which cannot work offline, so they
are refused here.

Layout mapping (BlazePose index -> ours): the COCO-17 points exist in BlazePose
under the same names. Feet: heel -> heel; ``foot_index`` (the tip of the foot,
between the first and second toes) -> big toe; BlazePose has no small-toe point,
so small toes are *missing* (confidence 0, x = y = 0) rather than invented.
Confidence is BlazePose's per-landmark visibility. Landmarks come normalised
to the image edges; they are converted to pixels with pixel centres on integers
(``x * width - 0.5``), the OpenCV convention used by the cameras.

World landmarks are metres, origin between the hips, with x towards the image
right, y towards the image bottom and z away from the camera -- already the
OpenCV camera axes (checked against triangulated demo joints in the tests), so
``mono3d`` takes them unchanged.
"""

from __future__ import annotations

import contextlib

import numpy as np

from mvmocap.detect.candidates import NUM_JOINTS, Candidates, boxes_from_keypoints
from mvmocap.detect.masks import rle_encode
from mvmocap.errors import DependencyError, InputError
from mvmocap.io.video import native_stderr_silenced

# BlazePose landmark index of each COCO23 point; -1 = BlazePose has no such point.
BLAZEPOSE_TO_COCO23 = (
    0, 2, 5, 7, 8,  # nose, left/right eye, left/right ear
    11, 12, 13, 14, 15, 16,  # shoulders, elbows, wrists
    23, 24, 25, 26, 27, 28,  # hips, knees, ankles
    31, -1, 29,  # left big toe (foot_index), left small toe (none), left heel
    32, -1, 30,  # right big toe (foot_index), right small toe (none), right heel
)
assert len(BLAZEPOSE_TO_COCO23) == NUM_JOINTS


def blazepose_to_coco23(landmarks: np.ndarray) -> np.ndarray:
    """``(..., 33, D)`` BlazePose landmarks (last channel = confidence) -> ``(..., 23, D)``; missing points all 0."""
    landmarks = np.asarray(landmarks)
    if landmarks.shape[-2] != 33:
        raise InputError(f"BlazePose landmarks must have 33 points, got shape {landmarks.shape}")
    index = np.array(BLAZEPOSE_TO_COCO23)
    out = landmarks[..., np.maximum(index, 0), :].copy()
    out[..., index < 0, :] = 0
    return out


class BlazePoseDetector:
    """One MediaPipe Pose graph per camera (it tracks between consecutive frames).

    Args:
        scale: the image is resized by this factor before inference (landmarks come
            back in normalised coordinates, so they are mapped to full-resolution
            pixels exactly); segmentation masks stay at the processed resolution.
        segmentation: also produce the person mask.
    """

    name = "blazepose"

    def __init__(self, *, scale: float = 0.5, segmentation: bool = True, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 mask_threshold: float = 0.5):
        if model_complexity != 1:
            raise InputError(
                "BlazePose model_complexity must be 1: mediapipe 0.10.14 ships only the full model; "
                "the lite/heavy models would be downloaded at run time"
            )
        if not 0.05 <= scale <= 1.0:
            raise InputError(f"BlazePose scale must be in [0.05, 1], got {scale}")
        self.scale = float(scale)
        self.segmentation = bool(segmentation)
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.mask_threshold = mask_threshold
        self._pose = None
        self._silence: contextlib.ExitStack | None = None
        self._quiet_frames = 10

    @property
    def settings(self) -> dict:
        """Everything that changes the output (stored in the cache, compared on rerun)."""
        return {
            "version": 1,  # bump when the conversion of MediaPipe's output changes (invalidates caches)
            "scale": self.scale,
            "segmentation": self.segmentation,
            "model_complexity": self.model_complexity,
            "min_detection_confidence": self.min_detection_confidence,
            "min_tracking_confidence": self.min_tracking_confidence,
            "mask_threshold": self.mask_threshold,
        }

    def start_camera(self, camera: str | None = None) -> None:
        """Fresh tracking state for a new camera (MediaPipe is imported here: 1-2 s, skipped when all is cached)."""
        try:
            with native_stderr_silenced():
                import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
            raise DependencyError(f"the blazepose detector needs mediapipe==0.10.14 ({exc})") from None

        self.close()
        self._quiet_frames = 10
        # The graph's threads log natively (TFLite's XNNPACK line, absl warnings) when they start,
        # asynchronously: fd 2 stays silenced from here until the first frames have gone through.
        self._silence = contextlib.ExitStack()
        self._silence.enter_context(native_stderr_silenced())
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=self.model_complexity,
            smooth_landmarks=True,
            enable_segmentation=self.segmentation,
            smooth_segmentation=True,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        )

    def close(self) -> None:
        if self._silence is not None:
            self._silence.close()
            self._silence = None
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def process(self, image_bgr: np.ndarray) -> Candidates:
        """One BGR ``(H, W, 3)`` uint8 image -> 0 or 1 candidate."""
        import cv2

        if self._pose is None:
            self.start_camera()
        height, width = image_bgr.shape[:2]
        small = image_bgr
        if self.scale != 1.0:
            small = cv2.resize(image_bgr, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        result = self._pose.process(rgb)
        if self._quiet_frames > 0:  # the first frames initialise the inference graphs, which log natively
            self._quiet_frames -= 1
            if self._quiet_frames == 0 and self._silence is not None:
                self._silence.close()
                self._silence = None
        if result.pose_landmarks is None:
            return Candidates.empty()
        # normalised coordinates run over pixel edges (0 = left edge of the image); ours put pixel
        # centres on integers (OpenCV), hence the half-pixel shift
        image_lm = np.array([(p.x * width - 0.5, p.y * height - 0.5, p.visibility)
                             for p in result.pose_landmarks.landmark], np.float32)
        keypoints = blazepose_to_coco23(image_lm)
        world = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark], np.float32)
        mono3d = blazepose_to_coco23(world)
        keypoints[..., 2] = np.clip(keypoints[..., 2], 0, 1)
        score = float(np.clip(keypoints[:17, 2].mean(), 1e-3, 1.0))
        box = np.concatenate([boxes_from_keypoints(keypoints[None])[0], [score]]).astype(np.float32)
        masks = None
        if self.segmentation and result.segmentation_mask is not None:
            masks = [rle_encode(result.segmentation_mask > self.mask_threshold)]
        return Candidates(keypoints[None], box[None], mono3d=mono3d[None], masks=masks)
