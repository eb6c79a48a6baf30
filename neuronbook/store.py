"""On-disk activation store: word-level activations of every layer, memory-mapped.

A store is one directory::

    <key>/
        activations.npy   words x layers x neurons (float32 or float16), opened as a memmap
        offsets.npy       int64, n_sentences + 1 word offsets: sentence i is rows offsets[i]:offsets[i+1]
        words.json        the words of each sentence (for reading results back as text)
        metadata.json     what produced it: model id and fingerprint, tokenizer, aggregation, dtype,
                          corpus fingerprint, package version, ... ``"complete": true`` and ``"files"``:
                          the size and digests of the three other files

It is written under a temporary name (``<key>.tmp-<host>-<pid>-<random>``) and renamed into place
only once every row is filled, so a directory called ``<key>`` is always complete: an interrupted
extraction leaves a ``*.tmp-*`` directory that is never read, and that
:func:`remove_stale_temporaries` removes once its writer is dead. When two writers finish the same
store, the second rename fails and the loser drops its copy: the first store wins.

Integrity. Every open checks, for each file, its size (catches truncation and extension) and a
*sampled* SHA-256: 64 evenly spaced 64 KiB blocks, the first one holding the ``.npy`` header, plus
the last block (a file of at most 65 blocks is hashed whole). That reads about 4 MiB whatever the
store's size (a few milliseconds), so every open pays it; it catches any change to a small file
(``offsets.npy``, ``words.json`` of an ordinary corpus; every file of a test store), to the header,
dtype or shape, and to any sampled block -- but a few altered bytes elsewhere in a large
``activations.npy`` go unseen. :meth:`ActivationStore.verify` compares the full SHA-256 of every file
(about a second per GiB) and catches any change. A failed check raises :class:`StoreIntegrityError`
naming the store's path and the file that differs.

``metadata.json`` is checked too (format 3): its ``format_version`` must be one this neuronbook reads,
its ``"metadata_sha256"`` must be the SHA-256 of its own canonical JSON (sorted keys, compact, that
field left out), and the ``shape`` and ``dtype`` it records must be those of ``activations.npy``; an
edited field is a :class:`StoreIntegrityError` naming ``metadata.json`` (the store cache of
:func:`neuronbook.extract` moves such a store aside and extracts again, as any damaged one). Stores of
formats 1 and 2, written before the metadata digest, still open: a missing digest is accepted only
where the recorded ``format_version`` predates it (format 2 still needs its file digests), and their
shape and dtype are still compared with the arrays. Store keys carry the package version, not the
store format, so a cached format-2 store of the same version is reused as it is.

Two ways to read it:

* :meth:`ActivationStore.activations` -- the fast path, a plain ``words x columns`` ndarray whose
  columns are layer-major: column ``j`` of a selection of layers ``L`` is neuron ``j % n_neurons``
  of layer ``L[j // n_neurons]``; :meth:`ActivationStore.neurons` gives those columns' labels as a
  ``(layer, neuron)`` :class:`pandas.MultiIndex`.
* :meth:`ActivationStore.frame` -- the same numbers as a labelled DataFrame: rows
  ``(sentence, position)``, columns ``(layer, neuron)``.

Stores live in ``neuronbook.settings.cache_dir("stores")`` unless :func:`neuronbook.extract` is
told otherwise. A *temporary* store (``extract(..., cache=False)``) owns its folder: it is removed
by :meth:`ActivationStore.close`, on leaving a ``with`` block, when the store object is garbage
collected, or at interpreter exit, whichever comes first.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .models.cache import sha256_file
from .neurons import neuron_index

__all__ = ["ActivationStore", "StoreIntegrityError", "content_key", "json_digest", "remove_stale_temporaries"]

logger = logging.getLogger(__name__)

_ACTIVATIONS = "activations.npy"
_OFFSETS = "offsets.npy"
_WORDS = "words.json"
_METADATA = "metadata.json"
_FORMAT_VERSION = 3  # 2: metadata["files"] records each file's size and digests; 3: "metadata_sha256"
_READABLE_FORMATS = (1, 2, 3)  # 1: no digests at all; 2: file digests; 3: file digests and a metadata digest
_METADATA_DIGEST = "metadata_sha256"
_DATA_FILES = (_ACTIVATIONS, _OFFSETS, _WORDS)
_BLOCK = 1 << 16  # sampled digest: _N_BLOCKS evenly spaced blocks of _BLOCK bytes, plus the last block
_N_BLOCKS = 64


class StoreIntegrityError(ValueError):
    """An activation store on disk is incomplete or damaged (its message names the path and file)."""


def _sampled_sha256(path: Path, size: int) -> str:
    """SHA-256 of the size and of fixed, evenly spaced blocks plus the last one (whole file if small)."""
    h = hashlib.sha256(str(size).encode() + b"\0")
    with open(path, "rb") as f:
        if size <= (_N_BLOCKS + 1) * _BLOCK:
            h.update(f.read())
        else:
            step = (size - _BLOCK) // _N_BLOCKS
            for start in [i * step for i in range(_N_BLOCKS)] + [size - _BLOCK]:
                f.seek(start)
                h.update(f.read(_BLOCK))
    return h.hexdigest()


def json_digest(obj, default=str) -> str:
    """SHA-256 (hex) of ``obj``'s canonical JSON: sorted keys, compact separators, so neither key order nor
    indentation changes it.  ``default`` turns what JSON cannot hold into something it can.

    Examples
    --------
    >>> json_digest({"a": 1, "b": [2]}) == json_digest({"b": [2], "a": 1})
    True
    """
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default).encode()).hexdigest()


def _metadata_digest(meta: dict) -> str:
    """SHA-256 of the metadata's canonical JSON, its own digest field left out."""
    return json_digest({k: v for k, v in meta.items() if k != _METADATA_DIGEST})


def _file_record(path: Path) -> dict:
    size = path.stat().st_size
    return {"size": size, "sample_sha256": _sampled_sha256(path, size), "sha256": sha256_file(path)}


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C there: never guess, keep the folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(root: str | os.PathLike, min_age: float = 60.0) -> list[Path]:
    """Remove temporary store folders under ``root`` whose writer process is dead.

    A writer's folder is named ``<key>.tmp-<host>-<pid>-<random>``. It is removed only when it was
    made on this host, its pid is no longer running and it is older than ``min_age`` seconds; a live
    writer's folder, another host's, or one of an older naming scheme is never touched.

    Returns
    -------
    list of Path
        The folders removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / f"abc.tmp-{_HOST}-{os.getpid()}-0000").mkdir()  # our own pid: alive
    >>> remove_stale_temporaries(root, min_age=0)
    []
    """
    root = Path(root)
    removed = []
    if not root.is_dir():
        return removed
    now = time.time()
    for folder in root.glob("*.tmp-*"):
        parts = folder.name.rsplit(".tmp-", 1)[1].split("-")
        if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
            continue
        try:
            if now - folder.stat().st_mtime < min_age or _pid_alive(int(parts[1])):
                continue
        except FileNotFoundError:  # removed meanwhile
            continue
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("removed %s, left behind by a writer (pid %s) that is no longer running", folder, parts[1])
        removed.append(folder)
    return removed


def content_key(fields: dict) -> str:
    """A short stable hex key for a JSON-serialisable dict (sorted keys, so order never matters).

    Examples
    --------
    >>> content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})
    True
    """
    return json_digest(fields)[:24]


class ActivationStore:
    """Read access to a complete store directory.

    Parameters
    ----------
    path : str or Path
        A store directory written by :func:`neuronbook.extract` (or :meth:`ActivationStore.create`).
    remove_on_close : str or Path, optional
        A directory (the store's own, or a folder holding it) that this object owns: it is removed
        by :meth:`close`, on leaving a ``with`` block, when the object is garbage collected, or at
        interpreter exit. :func:`neuronbook.extract` sets it for ``cache=False`` stores; leave it
        unset for a store you mean to keep.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> acts = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # 2 words, 3 layers, 4 neurons
    >>> d = tempfile.mkdtemp()
    >>> store = ActivationStore.from_array(d + "/s", acts, [["a", "b"]], {"model": "toy"})
    >>> store.activations(layers=[2]).tolist()
    [[8.0, 9.0, 10.0, 11.0], [20.0, 21.0, 22.0, 23.0]]
    >>> tuple(map(int, store.neurons(layers=[2])[1]))  # column 1: (layer, neuron)
    (2, 1)
    >>> store.frame(layers=[2], neurons=[1]).loc[(0, 1), (2, 1)].item()
    21.0
    >>> with ActivationStore(d + "/s", remove_on_close=d) as temporary:
    ...     temporary.n_words
    2
    >>> import os; os.path.exists(d)
    False
    """

    def __init__(self, path: str | os.PathLike, *, remove_on_close: str | os.PathLike | None = None):
        self.path = Path(path)
        # Registered first, so that a store that fails to open still cleans up what it owns.
        self._finalizer = (
            weakref.finalize(self, shutil.rmtree, str(remove_on_close), True) if remove_on_close else None
        )
        meta_path = self.path / _METADATA
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.path} is not an activation store (no {_METADATA})")
        try:
            self.metadata = json.loads(meta_path.read_text())
        except (ValueError, UnicodeDecodeError) as e:
            raise StoreIntegrityError(f"activation store {self.path}: {_METADATA} is unreadable ({e})") from e
        if not isinstance(self.metadata, dict):
            raise StoreIntegrityError(f"activation store {self.path}: {_METADATA} is not a JSON object")
        if not self.metadata.get("complete"):
            raise StoreIntegrityError(f"activation store {self.path} is incomplete (interrupted write?)")
        self._check_metadata()
        self._check(full=False)
        try:
            self._data = np.load(self.path / _ACTIVATIONS, mmap_mode="r")
            self.offsets = np.load(self.path / _OFFSETS)
        except (ValueError, OSError, EOFError) as e:
            raise StoreIntegrityError(f"activation store {self.path}: cannot read its arrays ({e})") from e
        self._words = None
        self._check_arrays()
        n_words = int(self.offsets[-1])
        if self._data.shape[0] != n_words:
            raise StoreIntegrityError(
                f"activation store {self.path}: {self._data.shape[0]} rows but offsets end at {n_words}"
            )

    # -- integrity ----------------------------------------------------------------------------
    def _check_metadata(self) -> None:
        """The format version is one this neuronbook reads; from format 3 the metadata's own digest matches."""
        meta, where = self.metadata, f"activation store {self.path}: {_METADATA}"
        version = meta.get("format_version", 1)  # format 1 wrote no version
        if isinstance(version, bool) or version not in _READABLE_FORMATS:
            raise StoreIntegrityError(f"{where} records format_version {version!r}; this neuronbook reads formats "
                                      f"{', '.join(map(str, _READABLE_FORMATS))} (edited, or written by a newer "
                                      f"neuronbook)")
        if version >= 2 and not isinstance(meta.get("files"), dict):
            raise StoreIntegrityError(f"{where} records no file digests, which format {version} requires")
        if version >= 3:
            for name in ("shape", "dtype", _METADATA_DIGEST):
                if name not in meta:
                    raise StoreIntegrityError(f"{where} records no {name!r}, which format {version} requires")
        if _METADATA_DIGEST in meta:  # checked whatever the version says (an edited version is caught too)
            if meta[_METADATA_DIGEST] != _metadata_digest(meta):
                raise StoreIntegrityError(f"{where} differs from the metadata the store was written with "
                                          f"({_METADATA_DIGEST} mismatch): edited or damaged")

    def _check_arrays(self) -> None:
        """The shape and dtype the metadata records are those of the activations."""
        meta, where = self.metadata, f"activation store {self.path}: {_METADATA}"
        if "shape" in meta and list(meta["shape"]) != list(self._data.shape):
            raise StoreIntegrityError(f"{where} records shape {meta['shape']}, but {_ACTIVATIONS} holds "
                                      f"{list(self._data.shape)}")
        if "dtype" in meta and meta["dtype"] != self._data.dtype.name:
            raise StoreIntegrityError(f"{where} records dtype {meta['dtype']!r}, but {_ACTIVATIONS} holds "
                                      f"{self._data.dtype.name}")

    def _check(self, full: bool) -> None:
        files = self.metadata.get("files")
        if files is None:  # format 1: nothing recorded to compare with (a later format without them is refused)
            logger.debug("activation store %s has no file digests (format %s)", self.path,
                         self.metadata.get("format_version"))
            return
        for name in _DATA_FILES:
            record, file = files.get(name), self.path / name
            if record is None:
                raise StoreIntegrityError(f"activation store {self.path}: metadata records no digest of {name}")
            if not file.is_file():
                raise StoreIntegrityError(f"activation store {self.path}: {name} is missing")
            size = file.stat().st_size
            if size != record["size"]:
                how = "truncated" if size < record["size"] else "extended"
                raise StoreIntegrityError(
                    f"activation store {self.path}: {name} is {size} bytes, {record['size']} when written ({how})")
            if full:
                if sha256_file(file) != record["sha256"]:
                    raise StoreIntegrityError(
                        f"activation store {self.path}: {name} differs from its SHA-256 when written")
            elif _sampled_sha256(file, size) != record["sample_sha256"]:
                raise StoreIntegrityError(
                    f"activation store {self.path}: {name} differs from its sampled SHA-256 when written")

    def verify(self) -> None:
        """Compare the full SHA-256 of every file with the one recorded when the store was written.

        Opening a store already checks sizes and a sampled digest (see the module's docstring);
        this reads every byte (about a second per GiB) and catches any alteration.

        Raises
        ------
        StoreIntegrityError
            Naming the store's path and the file that differs.

        Examples
        --------
        >>> import numpy as np, tempfile
        >>> s = ActivationStore.from_array(tempfile.mkdtemp() + "/s", np.zeros((2, 1, 3)), [["a", "b"]], {})
        >>> s.verify()  # silent when intact
        """
        self._check(full=True)

    # -- lifetime -----------------------------------------------------------------------------
    @property
    def temporary(self) -> bool:
        """True when this object owns (and will remove) its folder."""
        return self._finalizer is not None

    @property
    def closed(self) -> bool:
        return self._data is None

    def close(self) -> None:
        """Release the memmap; a temporary store's folder is removed now. Idempotent."""
        self._data = None
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> "ActivationStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def _array(self) -> np.memmap:
        if self._data is None:
            raise ValueError(f"activation store {self.path} is closed")
        return self._data

    # -- shape -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_words, n_layers, n_neurons)``."""
        return tuple(self._array.shape)

    @property
    def n_words(self) -> int:
        return self._array.shape[0]

    @property
    def n_layers(self) -> int:
        """Number of layers, embeddings (layer 0) included."""
        return self._array.shape[1]

    @property
    def n_neurons(self) -> int:
        """Neurons per layer."""
        return self._array.shape[2]

    @property
    def n_sentences(self) -> int:
        return len(self.offsets) - 1

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def words(self) -> list[list[str]]:
        """The words of each sentence, in store order."""
        if self._words is None:
            self._words = json.loads((self.path / _WORDS).read_text())
        return self._words

    @property
    def array(self) -> np.memmap:
        """The raw read-only memmap, words x layers x neurons (nothing is loaded until indexed)."""
        return self._array

    def __repr__(self) -> str:
        m = self.metadata
        if self.closed:
            return f"ActivationStore(closed, path='{self.path}')"
        return (
            f"ActivationStore({self.n_sentences} sentences, {self.n_words} words, {self.n_layers} layers x "
            f"{self.n_neurons} neurons, {self.dtype}, model={m.get('model')!r}, "
            f"aggregation={m.get('aggregation')!r}, path='{self.path}'{', temporary' if self.temporary else ''})"
        )

    # -- reading ------------------------------------------------------------------------------
    def _layers(self, layers) -> list[int]:
        if layers is None:
            return list(range(self.n_layers))
        if np.isscalar(layers):
            layers = [layers]
        out = []
        for layer in layers:
            layer = int(layer)
            if layer < 0:
                layer += self.n_layers
            if not 0 <= layer < self.n_layers:
                raise IndexError(f"layer {layer} out of range: the store has layers 0..{self.n_layers - 1}")
            out.append(layer)
        return out

    def _neurons(self, neurons) -> np.ndarray | None:
        if neurons is None:
            return None
        neurons = np.atleast_1d(np.asarray(neurons, dtype=np.int64))
        bad = neurons[(neurons < 0) | (neurons >= self.n_neurons)]
        if len(bad):
            raise IndexError(f"neuron {int(bad[0])} out of range: layers have neurons 0..{self.n_neurons - 1}")
        return neurons

    def word_rows(self, sentences: Iterable[int] | None = None) -> np.ndarray:
        """Row indices (words) of the given sentences, in order."""
        if sentences is None:
            return np.arange(self.n_words)
        sentences = np.asarray(list(sentences), dtype=np.int64)
        if len(sentences) == 0:
            return np.zeros(0, dtype=np.int64)
        starts, ends = self.offsets[sentences], self.offsets[sentences + 1]
        return np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])

    def activations(
        self,
        layers: int | Sequence[int] | None = None,
        neurons: Sequence[int] | None = None,
        sentences: Iterable[int] | None = None,
        dtype=np.float32,
    ) -> np.ndarray:
        """Load a words x columns matrix for some layers, neurons and sentences.

        Only the selected slices are read from disk, never the whole store. The columns' labels are
        :meth:`neurons` with the same ``layers`` and ``neurons``; :meth:`frame` returns both at once.

        Parameters
        ----------
        layers : int or sequence of int, optional
            Layers to keep (0 = embeddings). All by default.
        neurons : sequence of int, optional
            Neurons within each selected layer. All by default.
        sentences : iterable of int, optional
            Sentence indices; their words, in that order. All by default.
        dtype : numpy dtype
            Output dtype (float16 stores are widened to float32 by default).

        Returns
        -------
        numpy.ndarray
            ``(n_words_selected, len(layers) * len(neurons))``, layer-major columns.
        """
        layer_list = self._layers(layers)
        neuron_list = self._neurons(neurons)
        rows = None if sentences is None else self.word_rows(sentences)
        data = self._array
        block = data[:, layer_list, :] if rows is None else data[rows][:, layer_list, :]
        if neuron_list is not None:
            block = block[:, :, neuron_list]
        return np.ascontiguousarray(block.reshape(block.shape[0], -1), dtype=dtype)

    def neurons(
        self, layers: int | Sequence[int] | None = None, neurons: Sequence[int] | None = None
    ) -> pd.MultiIndex:
        """The ``(layer, neuron)`` label of each column :meth:`activations` returns for these arguments.

        Examples
        --------
        >>> import numpy as np, tempfile
        >>> s = ActivationStore.from_array(tempfile.mkdtemp() + "/s", np.zeros((1, 3, 4)), [["a"]], {})
        >>> [tuple(map(int, n)) for n in s.neurons(layers=[0, 2], neurons=[1, 3])]
        [(0, 1), (0, 3), (2, 1), (2, 3)]
        """
        neuron_list = self._neurons(neurons)
        return neuron_index(self._layers(layers), self.n_neurons if neuron_list is None else neuron_list)

    def frame(
        self,
        layers: int | Sequence[int] | None = None,
        neurons: Sequence[int] | None = None,
        sentences: Iterable[int] | None = None,
        dtype=np.float32,
    ) -> pd.DataFrame:
        """:meth:`activations` as a labelled DataFrame.

        Rows are a ``(sentence, position)`` MultiIndex (position = the word's index within its
        sentence); columns are :meth:`neurons`, a ``(layer, neuron)`` MultiIndex. Handy for small
        selections; use :meth:`activations` for whole layers of a large corpus.
        """
        sentence_list = np.arange(self.n_sentences) if sentences is None else np.asarray(list(sentences), np.int64)
        lengths = np.diff(self.offsets)[sentence_list]
        position = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0, np.int64)
        rows = pd.MultiIndex.from_arrays(
            [np.repeat(sentence_list, lengths), position.astype(np.int64)], names=["sentence", "position"]
        )
        values = self.activations(layers, neurons, None if sentences is None else sentence_list, dtype=dtype)
        return pd.DataFrame(values, index=rows, columns=self.neurons(layers, neurons))

    def sentence(self, i: int) -> tuple[list[str], np.ndarray]:
        """Words of sentence ``i`` and their activations, words x layers x neurons."""
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.words[i], np.asarray(self._array[start:end], dtype=np.float32)

    def nbytes_on_disk(self) -> int:
        """Total size of the store's files in bytes."""
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    # -- writing ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        words: list[list[str]],
        n_layers: int,
        n_neurons: int,
        metadata: dict,
        dtype="float32",
    ) -> "_StoreWriter":
        """Open a writer that fills a new store under a temporary name (see :class:`_StoreWriter`)."""
        return _StoreWriter(Path(path), words, n_layers, n_neurons, metadata, np.dtype(dtype))

    @classmethod
    def from_array(
        cls, path: str | os.PathLike, activations: np.ndarray, words: list[list[str]], metadata: dict
    ) -> "ActivationStore":
        """Write a store from an in-memory words x layers x neurons array (tests, small data)."""
        activations = np.asarray(activations)
        _, n_layers, n_neurons = activations.shape
        with cls.create(path, words, n_layers, n_neurons, metadata, activations.dtype) as writer:
            writer.array[:] = activations
        return cls(path)


def _catch_sigterm():
    """While a store is written, SIGTERM (what job schedulers send) unwinds like Ctrl-C, so the
    temporary folder is removed; returns the previous handler (None outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, terminate)


def _restore_sigterm(previous) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


class _Background:
    """``fn(*args)`` in a thread; :meth:`result` waits for it and re-raises what it raised."""

    def __init__(self, fn, *args):
        self._error = None

        def run():
            try:
                fn(*args)
            except BaseException as e:  # handed to the caller by result()
                self._error = e

        self._thread = threading.Thread(target=run, name="neuronbook-store-sync", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


class _StoreWriter:
    """Context manager that writes a store atomically.

    Rows are filled with :meth:`write_rows` (plain positioned writes: the pages go through the page
    cache, never mapped into this process, so writing a large store does not grow its resident
    memory) or through :attr:`array` (a writable memmap of the same file, opened on first use). On
    a clean exit the array is synced to disk, the metadata is written with ``complete: true`` and
    the directory renamed into place. On an exception the temporary directory is removed and
    nothing appears under the final name.
    """

    def __init__(self, path: Path, words, n_layers, n_neurons, metadata, dtype):
        self.path = path
        self.words = words
        lengths = np.fromiter((len(s) for s in words), dtype=np.int64, count=len(words))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.shape = (int(self.offsets[-1]), int(n_layers), int(n_neurons))
        self.metadata = dict(metadata)
        self.dtype = np.dtype(dtype)
        # host and pid in the name: remove_stale_temporaries can tell a dead writer's folder
        self.tmp = path.with_name(f"{path.name}.tmp-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.lost_race = False
        self._memmap = None
        self._fd = None
        self._header = 0  # bytes before the first row
        self._row_bytes = self.shape[1] * self.shape[2] * self.dtype.itemsize

    def __enter__(self):
        self.tmp.mkdir(parents=True)
        try:
            self._open_file(self.tmp / _ACTIVATIONS)
        except BaseException:
            self._close_file()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self._previous_sigterm = _catch_sigterm()
        return self

    def _open_file(self, file: Path) -> None:
        """Write the ``.npy`` header (as ``np.lib.format.open_memmap`` would) and size the file: rows read 0."""
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        with open(file, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            self._header = fh.tell()
        self._fd = os.open(file, os.O_RDWR)
        os.ftruncate(self._fd, self._header + self.shape[0] * self._row_bytes)
        self._reserve(file)

    def _close_file(self) -> None:
        self._memmap = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def array(self) -> np.memmap:
        """A writable memmap of the activations, ``words x layers x neurons`` (opened on first use)."""
        if self._fd is None:
            raise ValueError(f"the writer of {self.path} is not open (use it in a with block)")
        if self._memmap is None:
            self._memmap = np.memmap(self.tmp / _ACTIVATIONS, dtype=self.dtype, mode="r+", offset=self._header,
                                     shape=self.shape)
        return self._memmap

    def write_rows(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Write ``values[k]`` (layers x neurons, the store's dtype) to row ``rows[k]``.

        Each run of consecutive rows is one positioned write from ``values``' own memory: no copy,
        no page of the store mapped into this process.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if values.dtype != self.dtype or values.shape != (len(rows), *self.shape[1:]):
            raise ValueError(f"values must be {self.dtype} of shape ({len(rows)}, {self.shape[1]}, {self.shape[2]}), "
                             f"got {values.dtype} {values.shape}")
        if len(rows) == 0:
            return
        if rows.min() < 0 or rows.max() >= self.shape[0]:
            raise IndexError(f"rows must be in [0, {self.shape[0]})")
        values = np.ascontiguousarray(values)
        flat = memoryview(values.reshape(-1).view(np.uint8))
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate([[0], breaks]).tolist()
        ends = np.concatenate([breaks, [len(rows)]]).tolist()
        rb = self._row_bytes
        for a, b in zip(starts, ends):
            chunk, offset = flat[a * rb : b * rb], self._header + int(rows[a]) * rb
            while chunk:  # a positioned write may be short (signals, very large writes)
                n = os.pwrite(self._fd, chunk, offset)
                chunk, offset = chunk[n:], offset + n

    def _reserve(self, file: Path) -> None:
        """Claim the array's disk blocks now: a full disk is a clear error here, not a SIGBUS mid-write."""
        size = file.stat().st_size
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(self._fd, 0, size)
            elif shutil.disk_usage(file.parent).free < size:  # no reservation here: at least check
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            free = shutil.disk_usage(file.parent).free
            raise OSError(err.errno, f"not enough disk space for the activation store {self.path}: it needs "
                                     f"{size / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free in "
                                     f"{file.parent.parent} (nothing was kept)") from None

    def __exit__(self, exc_type, exc, tb):
        _restore_sigterm(getattr(self, "_previous_sigterm", None))
        if exc_type is not None:
            self._close_file()
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        synced = None
        try:
            if self._memmap is not None:
                self._memmap.flush()
            # The array reaches the disk before the rename makes it visible (as msync did for the memmap).
            # fsync waits on the disk and the digests on the CPU: run them side by side.
            synced = _Background(os.fsync, self._fd)
            np.save(self.tmp / _OFFSETS, self.offsets)
            (self.tmp / _WORDS).write_text(json.dumps(self.words, ensure_ascii=False))
            files = {name: _file_record(self.tmp / name) for name in _DATA_FILES}
            synced.result()
            self._close_file()
            meta = {
                **self.metadata,
                "format_version": _FORMAT_VERSION,
                "shape": list(self.shape),
                "dtype": self.dtype.name,
                "files": files,
                "complete": True,
            }
            meta = json.loads(json.dumps(meta, default=str))  # as a reader will see it
            meta[_METADATA_DIGEST] = _metadata_digest(meta)
            (self.tmp / _METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except BaseException:  # e.g. the disk filled up while writing the small files: keep nothing
            if synced is not None:
                synced.wait()  # the descriptor is closed only once the sync is done with it
            self._close_file()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self._rename_into_place()
        return False

    def _rename_into_place(self) -> None:
        try:
            os.rename(self.tmp, self.path)  # POSIX: fails when another writer's store is already there
        except OSError:
            if not self.path.exists():
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
            # Another process finished the same store first: keep theirs, drop ours.
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.lost_race = True
            logger.info("activation store %s was written by another process meanwhile; using it", self.path)
