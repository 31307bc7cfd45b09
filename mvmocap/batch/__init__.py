"""Many trials at once: ``mvmocap batch SESSION --out OUT`` (a session = one calibration, many trials).

``mvmocap.batch.run_batch`` discovers the trials (:mod:`~mvmocap.batch.session`), merges
their settings (:mod:`~mvmocap.batch.config`), runs one ``reconstruct`` per trial on an
engine (:mod:`~mvmocap.batch.engines`: a local process pool or Ray) and writes the summary
(:mod:`~mvmocap.batch.summary`).
"""

from mvmocap.batch.run import EXIT_SOME_FAILED, BatchResult, run_batch

__all__ = ["EXIT_SOME_FAILED", "BatchResult", "run_batch"]
