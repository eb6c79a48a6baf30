"""The on-disk cache of converted presets: atomic writes and checksums.

Layout: ``$NEURONBOOK_CACHE/models/<preset>/`` (default cache
``~/.cache/neuronbook``) holding a standard Hugging Face directory plus
``neuronbook.json``, a manifest with the sha256 of every weight file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

__all__ = ["MANIFEST", "cache_root", "models_dir", "sha256_file", "read_manifest", "verify_dir",
           "atomic_build"]

logger = logging.getLogger(__name__)

MANIFEST = "neuronbook.json"
_VERIFIED: dict[tuple, bool] = {}


def cache_root() -> Path:
    """``$NEURONBOOK_CACHE`` if set, else ``~/.cache/neuronbook``."""
    env = os.environ.get("NEURONBOOK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neuronbook"


def models_dir() -> Path:
    """Folder that holds one sub-folder per converted preset."""
    return cache_root() / "models"


def sha256_file(path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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

    Returns ``(ok, reason)``. A success is remembered for the process as long
    as the files' size and mtime do not change, so repeated loads stay cheap.
    """
    folder = Path(folder)
    man = read_manifest(folder)
    if man is None:
        return False, f"{folder / MANIFEST} is missing"
    sums = man.get("sha256") or {}
    if not sums:
        return False, f"{folder / MANIFEST} lists no checksums"
    for name, digest in sums.items():
        f = folder / name
        if not f.is_file():
            return False, f"{f} is missing"
        st = f.stat()
        key = (str(f), st.st_size, st.st_mtime_ns, digest)
        if _VERIFIED.get(key):
            continue
        actual = sha256_file(f)
        if actual != digest:
            return False, f"{f}: sha256 {actual[:12]}... differs from the recorded {digest[:12]}..."
        _VERIFIED[key] = True
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
        man["sha256"] = {name: sha256_file(tmp / name) for name in checksum_files}
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
        return man
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
