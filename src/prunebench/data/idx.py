"""Reader for the IDX files of MNIST and Fashion-MNIST, gzipped or raw.

The format is four magic bytes (two zeros, a type code, the number of dimensions), one big-endian
``int32`` per dimension, then the values in row-major order. A dozen lines of NumPy read it, which
keeps ``torchvision`` (seconds to import) out of every stage that touches these datasets.
"""

import gzip
from pathlib import Path

import numpy as np

from prunebench.foundations.errors import PrunebenchError

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file into an array in native byte order.

    Compression is detected from the content, not the name, so a file that was decompressed but
    kept its ``.gz`` suffix (or the reverse) still reads.
    """
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise PrunebenchError(f"{path} is not a valid gzip file: {error}") from None
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise PrunebenchError(f"{path} is not an IDX file (bad magic number)")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise PrunebenchError(f"{path} is truncated inside its IDX header")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    expected_size = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected_size:
        raise PrunebenchError(
            f"{path} holds {len(raw)} bytes but its IDX header {shape} needs {expected_size}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))
