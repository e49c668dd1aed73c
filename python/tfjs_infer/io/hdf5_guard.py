"""A check of HDF5 files before libhdf5 reads them: global heap collections
that would make it loop forever.

Variable-length strings (Keras's ``model_config``, ``keras_version``,
``training_config`` attributes) live in global heap collections: a ``GCOL``
signature, version 1, three reserved bytes, the collection's size, then
objects, each a 16-byte header (index, reference count, reserved, size)
followed by its data padded to 8 bytes. libhdf5 (1.x and 2.0) walks the
objects with ``p = begin + need`` where ``need`` is the free-space object's
(index 0) size as written: a size of 0 leaves ``p`` where it was and the walk
never ends (256 zero bytes written over a collection hang ``h5py`` forever
inside one C call that cannot be interrupted); a size past the collection
wraps ``p`` around. A walk that does not move forward is the only thing
refused here: every other malformation is libhdf5's to report.

The file is scanned for the signature in 8 MiB chunks; the cost is
measured in bench/h5_guard.py.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Union

from ..errors import InvalidModelError

_SIGNATURE = b"GCOL"
_HEADER = 16  # signature, version, 3 reserved, 8-byte collection size
_OBJECT_HEADER = 16  # index (2), reference count (2), reserved (4), size (8)
_U64 = struct.Struct("<Q")
_OBJECT = struct.Struct("<HH4xQ")
_SCAN_CHUNK = 8 << 20
_KEEP = len(_SIGNATURE) - 1
Buffer = Union[bytes, bytearray]  # .find: a memoryview has none


def check_global_heaps(data: Buffer, source: str) -> None:
    """Raise InvalidModelError when a global heap collection in `data` would
    make libhdf5's object walk loop forever (see the module docstring)."""
    start = data.find(_SIGNATURE)
    while start >= 0:
        _check_collection(data, start, source)
        start = data.find(_SIGNATURE, start + 1)


def check_global_heaps_file(path: Path) -> None:
    """check_global_heaps on a file, read in chunks (a memory map page-faults its
    way through the file: 3x slower on ResNet50's 100 MB)."""
    try:
        with open(path, "rb") as f, open(path, "rb") as collections:
            file_size = os.fstat(f.fileno()).st_size
            buf = bytearray(_SCAN_CHUNK + _KEEP)
            view = memoryview(buf)
            base, kept = 0, 0  # file offset of buf[0]; bytes carried from the last chunk
            while True:
                n = f.readinto(view[kept:])
                if not n:
                    return
                end = kept + n
                at = buf.find(_SIGNATURE, 0, end)
                while at >= 0:
                    _check_collection_in_file(collections, base + at, file_size, str(path))
                    at = buf.find(_SIGNATURE, at + 1, end)
                # A signature cut by the chunk's end starts in its last 3 bytes.
                kept = min(_KEEP, end)
                buf[:kept] = buf[end - kept : end]
                base += end - kept
    except OSError as exc:
        raise InvalidModelError(f"{path}: cannot be read ({exc})") from None


def _check_collection_in_file(f: BinaryIO, at: int, file_size: int, source: str) -> None:
    f.seek(at)
    head = f.read(_HEADER)
    if len(head) < _HEADER:
        return
    (size,) = _U64.unpack_from(head, 8)
    f.seek(at)
    # Never more than the file holds (libhdf5 cannot read past it either).
    data = f.read(min(size, file_size - at))
    _check_collection(data, 0, source, base=at)


def _check_collection(data: Buffer, at: int, source: str, base: int = 0) -> None:
    if len(data) < at + _HEADER or data[at + 4] != 1 or data[at + 5 : at + 8] != b"\0\0\0":
        return  # not a version-1 collection header: libhdf5 refuses it by itself
    (size,) = _U64.unpack_from(data, at + 8)
    end = min(at + size, len(data))  # libhdf5 never reads past the file either
    p = at + _HEADER
    while p < at + size:
        if p + _OBJECT_HEADER > at + size:
            break  # a tail too short for an object is free space
        if p + _OBJECT_HEADER > end:
            return  # the collection runs past the file: libhdf5 fails to read it
        index, _, obj_size = _OBJECT.unpack_from(data, p)
        need = obj_size if index == 0 else _OBJECT_HEADER + ((obj_size + 7) & ~7)
        if need == 0 or need >= 1 << 63:
            raise InvalidModelError(
                f"{source}: the HDF5 global heap collection at byte {base + at} is corrupt: its "
                f"object at byte {base + p} (index {index}) declares {obj_size} bytes, which would "
                "make the HDF5 library loop forever or read out of bounds; expected a size "
                "that moves past the object header and stays inside the collection"
            )
        p += need


__all__ = ["check_global_heaps", "check_global_heaps_file"]
