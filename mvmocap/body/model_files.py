"""Reading the raw arrays of a body-model file without running code from it.

Official SMPL ``.pkl`` files are pickles of numpy arrays, scipy sparse matrices and chumpy
objects; some ``.npz`` conversions hold object arrays, which are pickles too. A pickle may name
any importable callable, so it is read with an *allowlist*: only the numpy, scipy.sparse and
chumpy classes those files use (chumpy objects become a stand-in that keeps their state, so
chumpy is never imported). Anything else (``os.system``, ``builtins.eval`` ...) is refused.
Sizes are checked before allocating: the file itself, each ``.npz`` member, sparse shapes.
"""

from __future__ import annotations

import codecs
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mvmocap.errors import FileFormatError
from mvmocap.io.safe_read import read_bytes

MAX_MODEL_BYTES = 1024**3  # an SMPL-X .npz is a few hundred MB
MAX_ARRAY_BYTES = 1024**3  # one array once decompressed / densified
_SPARSE_CLASSES = ("csc_matrix", "csr_matrix", "coo_matrix")
_MAX_PICKLED_ELEMENTS = 10**8  # an array a pickle may ask numpy to allocate before its data is read


class ChumpyArray:
    """Stand-in for chumpy objects in official SMPL pickles: keeps their pickled state."""

    def __init__(self, *args, **kwargs):
        self.state: dict[str, Any] = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"x": state}


class SparseMatrix:
    """Stand-in for a pickled scipy.sparse matrix: keeps its state; :func:`dense` rebuilds it
    after checking the sizes (calling scipy's constructors from a pickle could allocate anything)."""

    kind = "csc"

    def __init__(self, *args, **kwargs):
        self.state: dict[str, Any] = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {}


_SPARSE = {name: type(name, (SparseMatrix,), {"kind": name[:3]}) for name in _SPARSE_CLASSES}


class _NdarrayClass:
    """What a pickle gets for ``numpy.ndarray``: usable only as :func:`_reconstruct`'s argument."""

    def __init__(self, *args, **kwargs):
        raise pickle.UnpicklingError("refused to call numpy.ndarray from a pickle")


def _reconstruct(cls, shape, typecode):
    """numpy's ``_reconstruct`` (how ndarrays are pickled) with the requested size bounded."""
    if cls is not _NdarrayClass:
        raise pickle.UnpicklingError("refused numpy _reconstruct of a class other than ndarray")
    size = 1
    for n in tuple(shape):
        if not isinstance(n, int) or n < 0:
            raise pickle.UnpicklingError(f"refused array shape {shape!r}")
        size *= n
    if size > _MAX_PICKLED_ELEMENTS:
        raise pickle.UnpicklingError(f"refused array of shape {shape!r} (too large)")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype(typecode) if isinstance(typecode, str) else typecode)


def _scalar(dtype, data=None):
    """numpy's pickled scalar: a dtype and its bytes."""
    try:
        from numpy._core.multiarray import scalar as numpy_scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar as numpy_scalar

    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, (bytes, type(None))):
        raise pickle.UnpicklingError("refused numpy scalar")
    return numpy_scalar(dtype, data) if data is not None else numpy_scalar(dtype)


def _encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it (latin1 only)."""
    if not isinstance(text, str) or not isinstance(encoding, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError("refused codec call in a pickle")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` of protocol-0/1 pickles, for the stand-in classes on ``object``."""
    if base is not object or state is not None or not (isinstance(cls, type) and issubclass(cls, (ChumpyArray, SparseMatrix))):
        raise pickle.UnpicklingError("refused copyreg._reconstructor call in a pickle")
    return object.__new__(cls)


class SmplUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals SMPL files use; anything else is refused."""

    def find_class(self, module: str, name: str):
        top = module.split(".")[0]
        if top == "numpy" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            if name == "_reconstruct":
                return _reconstruct
            if name == "scalar":
                return _scalar
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayClass
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if top == "chumpy":
            return ChumpyArray
        if module.split(".")[:2] == ["scipy", "sparse"] and name in _SPARSE:
            return _SPARSE[name]
        if (module, name) == ("_codecs", "encode"):
            return _encode
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return _reconstructor
        if (module, name) in (("__builtin__", "object"), ("builtins", "object")):
            return object
        raise pickle.UnpicklingError(f"refused to load {module}.{name} (not a class SMPL files use)")


def unpickle(path: Path, raw: bytes) -> Any:
    """Unpickle ``raw`` (from ``path``) with :class:`SmplUnpickler`; errors name the file."""
    try:
        return SmplUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except RecursionError:
        raise FileFormatError(path, "refused pickle: nested too deeply") from None
    except MemoryError:
        raise FileFormatError(path, "refused pickle: too large") from None
    except Exception as exc:  # any unpickling failure means an unreadable file (nothing ran: see find_class)
        raise FileFormatError(path, f"cannot read as an SMPL pickle ({type(exc).__name__}: {exc})") from None


def read_model_bytes(path: Path) -> bytes:
    """The bytes of a body-model file (a regular file of at most :data:`MAX_MODEL_BYTES`)."""
    return read_bytes(path, MAX_MODEL_BYTES, "body model file")


def read_npz(path: Path, raw: bytes) -> dict[str, Any]:
    """The arrays of an ``.npz``; object arrays are unpickled with :class:`SmplUnpickler`."""
    if raw[:1] == b"\x80":  # a pickle's protocol opcode, not a zip archive
        raise FileFormatError(path, "is a pickle named .npz, not an .npz archive (refused; an official SMPL "
                                    "pickle must be named .pkl)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileFormatError(path, f"cannot read as .npz ({exc})") from None
    arrays = {}
    for member in members:
        key = member.filename[: -len(".npy")]
        try:
            arrays[key] = _read_member(path, archive, member)
        except FileFormatError:
            raise
        except Exception as exc:  # zlib, header and shape errors of a damaged member
            raise FileFormatError(path, f"cannot read {key!r} of the .npz ({type(exc).__name__}: {exc})") from None
    return arrays


def _read_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Any:
    key = member.filename[: -len(".npy")]
    with archive.open(member) as fh:
        version = np.lib.format.read_magic(fh)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise FileFormatError(path, f"{key!r}: unsupported .npy version {version}")
        shape, fortran, dtype = readers[version](fh)  # parses the header only: no pickle
        if dtype.hasobject:
            payload = fh.read(MAX_ARRAY_BYTES + 1)
            if len(payload) > MAX_ARRAY_BYTES:
                raise FileFormatError(path, f"{key!r} is larger than {MAX_ARRAY_BYTES >> 20} MB")
            return unpickle(path, payload)
        count = int(np.prod(shape, dtype=np.float64))
        if count * dtype.itemsize > MAX_ARRAY_BYTES:
            raise FileFormatError(path, f"{key!r} declares {shape} values, more than a body model holds")
        data = bytearray(fh.read(count * dtype.itemsize))  # grows only as real data comes; writable for torch
        if len(data) != count * dtype.itemsize:
            raise FileFormatError(path, f"{key!r} is truncated")
        array = np.frombuffer(data, dtype=dtype)
        return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def dense(value: Any) -> Any:
    """numpy array from chumpy stand-ins, sparse matrices and 0-d object arrays; else unchanged."""
    if isinstance(value, ChumpyArray):
        # A plain chumpy array keeps its data in 'x'; otherwise take the only array it holds.
        arrays = [v for v in value.state.values() if isinstance(v, np.ndarray)]
        if "x" in value.state:
            return np.asarray(dense(value.state["x"]))
        if len(arrays) == 1:
            return arrays[0]
        raise ValueError(f"chumpy object without a single data array (fields {sorted(value.state)})")
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        return dense(value.item())
    if isinstance(value, SparseMatrix):
        return _sparse_to_dense(value)
    return value


def _sparse_to_dense(value: SparseMatrix) -> np.ndarray:
    """The dense array of a pickled sparse matrix, sizes checked before scipy builds it."""
    import scipy.sparse

    state = value.state
    shape = state.get("_shape", state.get("shape"))
    if not (isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError(f"sparse matrix without a valid shape ({shape!r})")
    if shape[0] * shape[1] * 8 > MAX_ARRAY_BYTES:
        raise ValueError(f"sparse matrix of shape {shape} is too large")
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    if value.kind == "coo":
        coords = state.get("coords") or (arrays.get("row"), arrays.get("col"))
        matrix = scipy.sparse.coo_matrix((arrays["data"], tuple(coords)), shape=shape)
    else:
        cls = scipy.sparse.csc_matrix if value.kind == "csc" else scipy.sparse.csr_matrix
        matrix = cls((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
    return np.asarray(matrix.toarray())
