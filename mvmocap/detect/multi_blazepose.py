"""Multi-person BlazePose: MediaPipe's Tasks ``PoseLandmarker`` with ``num_poses``, built offline.

The legacy ``mp.solutions.pose`` graph (:mod:`~mvmocap.detect.blazepose`) keeps one
person. The Tasks API's ``PoseLandmarker`` keeps up to ``num_poses``, but it wants a
``.task`` bundle (a zip of ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite``)
that MediaPipe 0.10.14 does not ship and would download. The wheel does ship the two
networks the bundle holds (``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``), only without the TFLite metadata the
Tasks API reads for the input normalisation. :func:`task_bundle` adds that metadata with
MediaPipe's own metadata writer -- inputs ``(pixel - 127.5) / 127.5`` for the detector and
``pixel / 255`` for the landmark network, as the legacy graph feeds them -- and zips both
in memory. Nothing is downloaded (the metadata writer uses a temporary folder of its own).

Conversion of each person's landmarks is the one of :mod:`~mvmocap.detect.blazepose`
(COCO-17 + feet, visibility as confidence, world landmarks as per-view monocular 3D,
pixel centres on integers). The landmarker runs in IMAGE mode: the person detector runs on
every frame (in VIDEO mode MediaPipe tracks the people it has and, on the shared capture,
rarely looked for a second one); identities over time come from the 3D tracking
(:mod:`mvmocap.associate`), not from here. The detection threshold is 0.3 (0.5 missed the
second person in one camera of the shared capture). A person whose box overlaps a
higher-scoring one by more than ``duplicate_iou`` is dropped as a duplicate.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile

import numpy as np

from mvmocap.detect.blazepose import blazepose_to_coco23
from mvmocap.detect.candidates import Candidates, boxes_from_keypoints
from mvmocap.detect.masks import rle_encode
from mvmocap.detect.tracking import box_iou
from mvmocap.errors import DependencyError, InputError
from mvmocap.io.video import native_stderr_silenced



def _mediapipe():
    try:
        with native_stderr_silenced():
            import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - mediapipe is a hard dependency
        raise DependencyError(f"the blazepose detector needs mediapipe==0.10.14 ({exc})") from None
    return mp


def _with_input_metadata(model: bytes, mean: float, std: float, outputs: int) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model)).add_general_info("mvmocap")
    writer.add_image_input([mean], [std])
    for _ in range(outputs):
        writer.add_feature_output()
    return bytes(writer.populate()[0])


@functools.lru_cache(maxsize=1)
def task_bundle() -> bytes:
    """The ``pose_landmarker.task`` zip built from the wheel's two networks (bytes, in memory; built once)."""
    mp = _mediapipe()
    root = os.path.join(os.path.dirname(mp.__file__), "modules")
    paths = {"detector": os.path.join(root, "pose_detection", "pose_detection.tflite"),
             "landmarks": os.path.join(root, "pose_landmark", "pose_landmark_full.tflite")}
    for path in paths.values():
        if not os.path.isfile(path):
            raise DependencyError(f"mediapipe's wheel lacks {path}: install mediapipe==0.10.14")
    with open(paths["detector"], "rb") as handle:
        detector = _with_input_metadata(handle.read(), 127.5, 127.5, outputs=2)
    with open(paths["landmarks"], "rb") as handle:
        landmarks = _with_input_metadata(handle.read(), 0.0, 255.0, outputs=5)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("pose_detector.tflite", detector)
        bundle.writestr("pose_landmarks_detector.tflite", landmarks)
    return buffer.getvalue()


class MultiBlazePoseDetector:
    """Up to ``num_poses`` people per image; one landmarker per camera (it tracks between frames).

    Args:
        num_poses: the most people returned per image.
        scale: the image is resized by this factor before inference (landmarks come back in
            full-resolution pixels); masks stay at the processed resolution.
        segmentation: also produce each person's mask.
    """

    name = "blazepose"

    def __init__(self, *, num_poses: int = 4, scale: float = 0.5, segmentation: bool = True,
                 min_detection_confidence: float = 0.3, min_tracking_confidence: float = 0.3,
                 mask_threshold: float = 0.5, duplicate_iou: float = 0.6):
        if num_poses < 1:
            raise InputError(f"num_poses must be >= 1, got {num_poses}")
        if not 0.05 <= scale <= 1.0:
            raise InputError(f"BlazePose scale must be in [0.05, 1], got {scale}")
        self.num_poses = int(num_poses)
        self.scale = float(scale)
        self.segmentation = bool(segmentation)
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.mask_threshold = mask_threshold
        self.duplicate_iou = duplicate_iou
        self._landmarker = None

    @property
    def settings(self) -> dict:
        """Everything that changes the output (stored in the cache, compared on rerun)."""
        return {
            "version": 2,
            "backend": "tasks-pose-landmarker",
            "num_poses": self.num_poses,
            "scale": self.scale,
            "segmentation": self.segmentation,
            "min_detection_confidence": self.min_detection_confidence,
            "min_tracking_confidence": self.min_tracking_confidence,
            "mask_threshold": self.mask_threshold,
            "duplicate_iou": self.duplicate_iou,
        }

    def start_camera(self, camera: str | None = None) -> None:
        """A fresh landmarker for a new camera (the bundle is built once)."""
        mp = _mediapipe()
        from mediapipe.tasks.python import BaseOptions, vision

        self.close()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=task_bundle()),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=self.num_poses,
            min_pose_detection_confidence=self.min_detection_confidence,
            min_pose_presence_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            output_segmentation_masks=self.segmentation,
        )
        with native_stderr_silenced():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._image_type = mp.Image, mp.ImageFormat.SRGB

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def process(self, image_bgr: np.ndarray) -> Candidates:
        """One BGR ``(H, W, 3)`` uint8 image -> 0..num_poses candidates."""
        import cv2

        if self._landmarker is None:
            self.start_camera()
        height, width = image_bgr.shape[:2]
        small = image_bgr
        if self.scale != 1.0:
            small = cv2.resize(image_bgr, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        image_class, image_format = self._image_type
        image = image_class(image_format=image_format, data=np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
        with native_stderr_silenced():
            result = self._landmarker.detect(image)
        if not result.pose_landmarks:
            return Candidates.empty()
        return self._candidates(result, width, height)

    def _candidates(self, result, width: int, height: int) -> Candidates:
        keypoints, mono3d, boxes, masks = [], [], [], []
        for i, landmarks in enumerate(result.pose_landmarks):
            image_lm = np.array([(p.x * width - 0.5, p.y * height - 0.5, p.visibility or 0.0) for p in landmarks],
                                np.float32)
            kp = blazepose_to_coco23(image_lm)
            kp[..., 2] = np.clip(kp[..., 2], 0, 1)
            world = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in result.pose_world_landmarks[i]], np.float32)
            score = float(np.clip(kp[:17, 2].mean(), 1e-3, 1.0))
            keypoints.append(kp)
            mono3d.append(blazepose_to_coco23(world))
            boxes.append(np.concatenate([boxes_from_keypoints(kp[None])[0], [score]]).astype(np.float32))
            if self.segmentation and result.segmentation_masks:
                masks.append(rle_encode(result.segmentation_masks[i].numpy_view() > self.mask_threshold))
            else:
                masks.append(None)
        keep = _suppress_duplicates(np.stack(boxes), self.duplicate_iou)
        return Candidates(np.stack(keypoints)[keep], np.stack(boxes)[keep], mono3d=np.stack(mono3d)[keep],
                          masks=[masks[k] for k in keep] if self.segmentation else None)


def _suppress_duplicates(boxes: np.ndarray, max_iou: float) -> list[int]:
    """Indices of ``boxes (N, 5)`` kept by greedy non-maximum suppression on box IoU, best score first."""
    order = np.argsort(-boxes[:, 4], kind="stable")
    kept: list[int] = []
    for i in order:
        if not kept or box_iou(boxes[i : i + 1], boxes[kept]).max() <= max_iou:
            kept.append(int(i))
    return kept
