"""Reading torch checkpoints safely: ``torch.load(weights_only=True)`` only.

``weights_only=True`` refuses every global that is not a tensor, a plain container or a
number, so a checkpoint cannot run code (a pickle naming ``os.system`` is refused before
anything is called). Our own checkpoints hold only such values (configs are saved as dicts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mvmocap.errors import FileFormatError
from mvmocap.io.safe_read import check_regular_file

MAX_CHECKPOINT_BYTES = 4 * 1024**3


def load_checkpoint_file(path: str | Path, what: str = "checkpoint", map_location: Any = "cpu") -> Any:
    """The object stored in a torch checkpoint, loaded with ``weights_only=True``.

    Raises :class:`MissingFileError` or :class:`FileFormatError` (one line, naming the file)
    for a missing, non-regular, oversized, damaged or unsafe file.
    """
    import pickle

    import torch

    path = Path(path)
    check_regular_file(path, what, MAX_CHECKPOINT_BYTES)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first if "Unsupported global" in line or "GLOBAL" in line), first[0] if first else "")
        raise FileFormatError(path, f"refused {what}: it holds something other than tensors and plain values "
                                    f"({detail.strip()[:200]})") from None
    except Exception as exc:  # torch raises many kinds for damaged files
        first = (str(exc).strip().splitlines() or [""])[0]
        raise FileFormatError(path, f"not a readable {what} ({type(exc).__name__}: {first[:200]})") from None
