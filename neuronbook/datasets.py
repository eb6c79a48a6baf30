"""Named corpora: ``ud:<treebank>`` and ``pmb:<lang>``, found locally or downloaded (pinned).

Data directory lookup order (first file found wins):

1. the ``data_dir`` argument;
2. ``$NEURONBOOK_DATA`` (several directories may be joined with ``os.pathsep``; a relative one is
   relative to the folder the command ran in, see :mod:`neuronbook.settings`);
3. the user cache, ``neuronbook.settings.cache_dir("data")`` (``$NEURONBOOK_CACHE/data``, by
   default ``~/.cache/neuronbook/data`` on Linux).

Each directory uses the layout ``ud/<tb>/<tb>-ud-<split>.conllu`` and
``pmb/4.0.0/<lang>/<split>.conll``. When a UD dev/test file of a known treebank
is nowhere to be found, it is downloaded with :mod:`pooch` from the UD GitHub
repository at a pinned commit into the cache; pooch checks its sha256 before
moving it into place, so a failed or corrupt download leaves no file behind.
Set ``NEURONBOOK_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) to never touch the
network (:func:`neuronbook.settings.offline`). PMB files are never downloaded.

The default split is ``"dev"`` for every collection: the UD train files are
not distributed with neuronbook's pinned sources, and one default for all keeps
notebooks consistent. Split a corpus further with :meth:`Corpus.split`.

Example
-------
>>> from neuronbook.datasets import list_corpora
>>> list_corpora(data_dir="/nonexistent").query("name == 'ud:en_ewt'")["split"].tolist()
['dev', 'test', 'train']
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from . import settings
from .corpus import Corpus, read_conllu, read_corpus, read_pmb

__all__ = ["DataNotFoundError", "corpus_file", "corpus_language", "data_dirs", "list_corpora", "load_corpus"]

logger = logging.getLogger(__name__)

# treebank -> (GitHub repository, pinned commit, {split: sha256}); from shared/data/ud/SOURCES.txt.
UD_TREEBANKS: dict[str, tuple[str, str, dict[str, str]]] = {
    "en_ewt": ("UD_English-EWT", "15d613d8447b3478787d4c278730a1e48a945efb", {
        "dev": "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
        "test": "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"}),
    "de_gsd": ("UD_German-GSD", "297fcf350481058d0737a27f0f8fd03b2eadd67a", {
        "dev": "00431f2624cbbf66796c097a9303bbc8f8e8ca88ef35c4c5664aa396b2d674c9",
        "test": "bceb8e867ba3ee7f1449d44fb31538d63a514f07e6763e7d9a5ffe794407bed4"}),
    "fr_gsd": ("UD_French-GSD", "830e2782304af08b3cc1c9250475343e04274d81", {
        "dev": "3e7531b645e5bd6fe37bb619cdd8292e87f5937e64cd8627b4094324eb830e6b",
        "test": "5d1743c7a9ce2908943d4a430ed9a77755e2a8d7e32d42ee0f1d6a0b528f0be8"}),
    "es_gsd": ("UD_Spanish-GSD", "57c045644664e5c1e169263cc4e3b95e40c078ba", {
        "dev": "d5018974cb6a4adb03435f76ac4914a388f4fc763b35b6c4a6a2dc27874b0dff",
        "test": "37612cb7cc13eab62e6f95b06504a31f252ecc56acb52a06d142bf872318b872"}),
    "ru_gsd": ("UD_Russian-GSD", "5400f2fd7264b7699727bb61b09f53841899df26", {
        "dev": "e3e3d4e8d1d7544e531b2b81ae64257efacc97f93276ce6d2ce52fd1de052fa2",
        "test": "f26e022329162a1c6306f76644d06f770f1572501755421165387137fe63138d"}),
    "zh_gsd": ("UD_Chinese-GSD", "200dbe8acf60ff0d194f2d30bf925c410eee762a", {
        "dev": "09374c8361400861a536ae94a1d7710e1cdd72285c32b9764d94d2d956b4ae02",
        "test": "ff01a3d01d62b623756396085e78bdaeefb7c2b7935a890dde5b18e92712d54f"}),
}
UD_URL = "https://raw.githubusercontent.com/UniversalDependencies/{repo}/{commit}/{tb}-ud-{split}.conllu"
UD_SPLITS = ("dev", "test", "train")
PMB_VERSION = "4.0.0"
PMB_LANGS = ("en", "de", "it", "nl")
PMB_SPLITS = ("train", "dev", "test")
DEFAULT_SPLIT = "dev"
DOWNLOAD_TIMEOUT_S = 15


class DataNotFoundError(FileNotFoundError):
    """A named corpus is neither on disk nor downloadable; the message lists where we looked."""


def data_dirs(data_dir=None) -> list[Path]:
    """The data directories searched, in order (see the module docstring).

    Examples
    --------
    >>> data_dirs("/tmp/mydata")[0]
    PosixPath('/tmp/mydata')
    """
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    dirs += settings.path_setting("NEURONBOOK_DATA")  # absolute: a relative one means the launch folder
    dirs.append(settings.cache_dir("data"))
    return dirs


def _relpath(collection: str, key: str, split: str) -> Path:
    if collection == "ud":
        return Path("ud") / key / f"{key}-ud-{split}.conllu"
    return Path("pmb") / PMB_VERSION / key / f"{split}.conll"


def _ud_url(tb: str, split: str) -> str | None:
    """Pinned URL of a UD file, or None when not downloadable (unknown treebank or no checksum)."""
    entry = UD_TREEBANKS.get(tb)
    if entry is None or split not in entry[2]:
        return None
    repo, commit, _ = entry
    return UD_URL.format(repo=repo, commit=commit, tb=tb, split=split)


def _downloader():
    """The pooch downloader used for every file (one indirection, so tests can forbid the network)."""
    import pooch

    return pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_S, progressbar=False)


def _download(url: str, dest: Path, sha256: str) -> Path:
    """Download ``url`` to ``dest`` with pooch, which verifies the sha256 before moving it into place.

    The bytes go to a temporary file in ``dest``'s folder and are renamed to ``dest`` only when
    the checksum matches; on a mismatch or a failed transfer nothing that looks complete is left.
    """
    import pooch

    quiet = pooch.get_logger()  # pooch logs each download to stderr; library code never prints
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        got = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=dest.name, path=dest.parent,
                             downloader=_downloader(), progressbar=False)
    except ValueError as exc:  # pooch's hash mismatch (it has already deleted the temporary file)
        raise ValueError(f"checksum mismatch for {url}: {exc} Nothing was saved to {dest}.") from exc
    finally:
        quiet.setLevel(level)
    logger.info("downloaded %s to %s", url, got)
    return Path(got)


def _parse_name(name: str) -> tuple[str, str]:
    collection, sep, key = name.partition(":")
    if not sep or collection not in ("ud", "pmb") or not key:
        raise ValueError(f"unknown corpus {name!r}: expected 'ud:<treebank>' (e.g. 'ud:en_ewt'), "
                         f"'pmb:<lang>' (one of {list(PMB_LANGS)}), or the path of an existing file")
    return collection, key


def corpus_language(name) -> str | None:
    """The language (ISO 639-1) of a named corpus: ``ud:<lang>_<treebank>`` and ``pmb:<lang>``; None for a file.

    >>> corpus_language("ud:ru_gsd"), corpus_language("pmb:nl"), corpus_language("my/file.conllu")
    ('ru', 'nl', None)
    """
    collection, sep, key = str(name).partition(":")
    if not sep or collection not in ("ud", "pmb") or not key:
        return None
    return key.split("_")[0].lower() if collection == "ud" else key.lower()


def _find(collection: str, key: str, split: str, data_dir=None) -> tuple[Path | None, list[Path]]:
    rel = _relpath(collection, key, split)
    tried = [d / rel for d in data_dirs(data_dir)]
    for p in tried:
        if p.is_file():
            return p, tried
    return None, tried


def corpus_file(name: str, split: str, data_dir=None) -> Path | None:
    """The local file a named corpus split is read from, found without reading it (None: no data folder has it).

    ``name`` is ``"ud:<treebank>"`` or ``"pmb:<lang>"``; the folders searched are :func:`data_dirs`.
    Nothing is downloaded here.

    Examples
    --------
    >>> corpus_file("ud:xx_nothing", "dev", data_dir="/nonexistent") is None
    True
    """
    collection, key = _parse_name(name)
    return _find(collection, key, split, data_dir)[0]


def load_corpus(name: str, split: str | None = None, data_dir=None) -> Corpus:
    """Load a named corpus (or a corpus file).

    Parameters
    ----------
    name : str
        ``"ud:<treebank>"`` (e.g. ``"ud:en_ewt"``), ``"pmb:<lang>"`` (``en``,
        ``de``, ``it``, ``nl``), or the path of a corpus file (read with
        :func:`~neuronbook.corpus.read_corpus`).
    split : {"dev", "test", "train"}, optional
        Default ``"dev"`` for every collection (see the module docstring).
    data_dir : path, optional
        Searched first, before ``$NEURONBOOK_DATA`` and the cache.

    Returns
    -------
    Corpus
        Named ``"<name>/<split>"`` (e.g. ``"ud:en_ewt/dev"``).

    Raises
    ------
    DataNotFoundError
        If the file is in none of the data directories and cannot be
        downloaded; the message lists every place tried and how to point
        neuronbook at local files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "ud" / "xx_toy").mkdir(parents=True)
    >>> _ = (d / "ud/xx_toy/xx_toy-ud-dev.conllu").write_text("1\\thi\\thi\\tINTJ\\tUH\\t_\\t0\\troot\\t_\\t_\\n\\n")
    >>> load_corpus("ud:xx_toy", data_dir=d).sentences
    [['hi']]
    """
    if Path(name).expanduser().is_file():
        if split is not None:
            raise ValueError(f"split={split!r} given with a file path {name!r}; a file is one split")
        return read_corpus(Path(name).expanduser())
    collection, key = _parse_name(name)
    split = DEFAULT_SPLIT if split is None else split
    valid = UD_SPLITS if collection == "ud" else PMB_SPLITS
    if split not in valid:
        raise ValueError(f"unknown split {split!r} for {name!r}; valid: {list(valid)}")
    if collection == "pmb" and key not in PMB_LANGS:
        raise ValueError(f"unknown PMB language {key!r}; valid: {list(PMB_LANGS)}")
    path, tried = _find(collection, key, split, data_dir)
    if path is None and collection == "ud":
        path = _try_download(key, split, tried)
    elif path is None:
        raise DataNotFoundError(_not_found_message(name, split, tried, "PMB files are never downloaded"))
    full = f"{name}/{split}"
    corpus = read_conllu(path, name=full) if collection == "ud" else read_pmb(path, name=full)
    logger.info("loaded %s from %s: %d sentences, %d words", full, path, len(corpus), corpus.n_words)
    return corpus


def _try_download(tb: str, split: str, tried: list[Path]) -> Path:
    name = f"ud:{tb}"
    url = _ud_url(tb, split)
    if url is None:
        why = (f"no pinned download for treebank {tb!r} split {split!r} "
               f"(downloadable: {[f'{t}/{s}' for t, e in UD_TREEBANKS.items() for s in e[2]]})")
        raise DataNotFoundError(_not_found_message(name, split, tried, why))
    if settings.offline():
        raise DataNotFoundError(_not_found_message(
            name, split, tried, f"download of {url} skipped: NEURONBOOK_OFFLINE or HF_HUB_OFFLINE is set"))
    dest = settings.cache_dir("data") / _relpath("ud", tb, split)
    try:
        return _download(url, dest, UD_TREEBANKS[tb][2][split])
    except OSError as e:  # requests' errors are OSErrors too
        raise DataNotFoundError(_not_found_message(
            name, split, tried, f"download of {url} to {dest} failed: {e}")) from e


def _not_found_message(name: str, split: str, tried: list[Path], why: str) -> str:
    places = "\n".join(f"  - {p}" for p in tried)
    collection, key = _parse_name(name)
    layout = _relpath(collection, key, split)
    return (f"corpus {name!r} split {split!r} not found. Looked in:\n{places}\n{why}.\n"
            f"Point neuronbook at local files with NEURONBOOK_DATA=/path/to/data (or data_dir=...), "
            f"where the file is /path/to/data/{layout.as_posix()}.")


def list_corpora(data_dir=None) -> pd.DataFrame:
    """Known named corpora, one row per split.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, collection, key, split, found, path, downloadable``:
        ``found`` tells whether the file is in a data directory (``path``),
        ``downloadable`` whether a pinned, checksummed download exists.

    Examples
    --------
    >>> df = list_corpora(data_dir="/nonexistent")
    >>> sorted(df["collection"].unique()), df.columns.tolist()[:4]
    (['pmb', 'ud'], ['name', 'collection', 'key', 'split'])
    """
    rows = []
    for collection, keys, splits in (("ud", UD_TREEBANKS, UD_SPLITS), ("pmb", PMB_LANGS, PMB_SPLITS)):
        for key in keys:
            for split in splits:
                path, _ = _find(collection, key, split, data_dir)
                rows.append({
                    "name": f"{collection}:{key}", "collection": collection, "key": key, "split": split,
                    "found": path is not None, "path": str(path) if path is not None else None,
                    "downloadable": collection == "ud" and _ud_url(key, split) is not None,
                })
    return pd.DataFrame(rows, columns=["name", "collection", "key", "split", "found", "path", "downloadable"])
