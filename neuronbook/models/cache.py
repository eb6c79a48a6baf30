"""The on-disk cache of converted presets: atomic writes and checksums.

Layout: ``settings.cache_dir("models", <preset>)`` holding a standard Hugging
Face directory plus ``neuronbook.json``, a manifest with the sha256 of every
weight file. ``settings.cache_dir("models", "file-hashes.json")`` memoises the
sha256 of model files on (path, size, mtime_ns, ctime_ns, inode), so that checking a converted
preset or fingerprinting a model folder costs milliseconds after the first time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from ..settings import cache_dir

__all__ = ["MANIFEST", "HASH_MEMO", "sha256_file", "sha256_files", "read_manifest", "verify_dir",
           "atomic_build"]

logger = logging.getLogger(__name__)

MANIFEST = "neuronbook.json"
HASH_MEMO = "file-hashes.json"
_MEMO_FORMAT = 2  # 2: an entry is [size, mtime_ns, ctime_ns, inode, digest]


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks into one reused buffer.

    Reusing the buffer (instead of a new bytes object per read) spares the allocator fresh pages for
    every chunk, which costs about as much as hashing on a large file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = f.write_bytes(b"abc")
    >>> sha256_file(f)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _memo_path() -> Path:
    return cache_dir("models", HASH_MEMO)


def _read_memo(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a corrupt memo only costs a re-hash
        logger.info("ignoring unreadable hash memo %s (%s)", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != _MEMO_FORMAT:
        return {}
    return data.get("files", {})


def _write_memo(path: Path, files: dict) -> None:
    # Drop entries of files that are gone, so the memo does not grow without bound.
    files = {k: v for k, v in files.items() if os.path.exists(k)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"format": _MEMO_FORMAT, "files": files}, indent=0, sort_keys=True))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache still works, just without the memo
        logger.info("could not write the hash memo %s (%s)", path, exc)
        tmp.unlink(missing_ok=True)


def _remember(digests: dict) -> None:
    """Record hashes just computed (the rename kept size and mtime), sparing a re-read."""
    memo_path = _memo_path()
    memo = _read_memo(memo_path)
    for p, digest in digests.items():
        memo[str(Path(p).resolve())] = [*_signature(os.stat(p)), digest]
    _write_memo(memo_path, memo)


def _signature(st) -> list[int]:
    # mtime alone can be put back (cp -p, rsync -t, touch -r) over same-size new content; the inode
    # change time cannot, and a file replaced by a rename has another inode.
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def sha256_files(paths) -> dict[str, str]:
    """Hex sha256 of each file, memoised on (absolute path, size, mtime_ns, ctime_ns, inode).

    The memo is a small JSON file in ``settings.cache_dir("models")``: a file whose
    size, times and inode are unchanged is not read again, in this process
    or the next one. Returns ``{str(path): hexdigest}`` in the order given.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> os.environ["NEURONBOOK_CACHE"] = tempfile.mkdtemp()
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "w.bin"; _ = f.write_bytes(b"abc")
    >>> sha256_files([f])[str(f)][:12]
    'ba7816bf8f01'
    >>> del os.environ["NEURONBOOK_CACHE"]
    """
    memo_path = _memo_path()
    memo = _read_memo(memo_path)
    out, changed = {}, False
    for p in paths:
        key = str(Path(p).resolve())
        sig = _signature(os.stat(key))
        hit = memo.get(key)
        if hit and hit[:-1] == sig:
            out[str(p)] = hit[-1]
            continue
        digest = sha256_file(key)
        memo[key] = [*sig, digest]
        out[str(p)] = digest
        changed = True
    if changed:
        _write_memo(memo_path, memo)
    return out


def read_manifest(folder) -> dict | None:
    """The manifest of a cached preset, or None if there is none."""
    p = Path(folder) / MANIFEST
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: corrupt manifest ({exc})") from exc


def verify_dir(folder) -> tuple[bool, str]:
    """Check every file listed in the manifest against its sha256.

    Returns ``(ok, reason)``. Hashes are memoised on the files' size and
    mtime (:func:`sha256_files`), so repeated loads stay cheap.
    """
    folder = Path(folder)
    man = read_manifest(folder)
    if man is None:
        return False, f"{folder / MANIFEST} is missing"
    sums = man.get("sha256") or {}
    if not sums:
        return False, f"{folder / MANIFEST} lists no checksums"
    for name in sums:
        if not (folder / name).is_file():
            return False, f"{folder / name} is missing"
    actual = sha256_files([folder / name for name in sums])
    for name, digest in sums.items():
        got = actual[str(folder / name)]
        if got != digest:
            return False, f"{folder / name}: sha256 {got[:12]}... differs from the recorded {digest[:12]}..."
    return True, "ok"


def atomic_build(target, build, manifest: dict, checksum_files=("model.safetensors",)) -> dict:
    """Build a folder in a temporary sibling and rename it into place.

    Parameters
    ----------
    target : path
        Final folder; replaced if it already exists (e.g. a stale conversion).
    build : callable
        ``build(tmp_dir) -> dict`` writes the files and returns extra manifest fields.
    manifest : dict
        Base manifest; the sha256 of ``checksum_files`` is added.
    checksum_files : sequence of str, or callable
        The files whose sha256 the manifest records, or ``checksum_files(tmp_dir)`` giving them once
        the folder is built (e.g. whichever tokenizer files the build wrote).

    Returns
    -------
    dict
        The manifest written.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        man = dict(manifest)
        man.update(build(tmp) or {})
        names = checksum_files(tmp) if callable(checksum_files) else checksum_files
        man["sha256"] = {name: sha256_file(tmp / name) for name in names}
        (tmp / MANIFEST).write_text(json.dumps(man, indent=2, sort_keys=True))
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process finished first: keep its (verified) copy.
            ok, _ = verify_dir(target)
            if not ok:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return read_manifest(target)
        _remember({target / name: digest for name, digest in man["sha256"].items()})
        return man
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
