"""``python -m mvmocap.regressors.train --config C --out DIR [--resume]``: ``train-synthetic`` with
the regressors of this package registered (the same arguments as ``python -m mvmocap.train``).

Until ``mvmocap.train.methods`` imports :mod:`mvmocap.regressors` itself, this is how to train
``volumetric``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(int(__import__("os").environ.get("MVMOCAP_TRAIN_THREADS", "1")))
    import mvmocap.regressors  # noqa: F401  (registers the methods)
    from mvmocap.train.__main__ import main as train_main

    return train_main(argv)


if __name__ == "__main__":
    sys.exit(main())
