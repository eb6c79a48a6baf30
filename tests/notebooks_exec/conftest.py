"""One workspace (tiny corpora, a cache) for every notebook run of the session."""

from __future__ import annotations

import pytest

from notebook_checks import make_workspace


@pytest.fixture(scope="session")
def _notebook_files(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("notebooks"))


@pytest.fixture(scope="module")
def ws(_notebook_files):
    """The shared workspace, with the cache the kernels inherit set for this module only.

    One cache for all the runs: the tiny-random preset is saved once and the activations of a
    corpus are extracted once.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURONBOOK_CACHE", _notebook_files.cache)
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield _notebook_files
