"""Tests of neuronbook.datasets: lookup order, pinned downloads (never over the network), shared data."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from urllib.parse import urlparse
from urllib.request import url2pathname

import pooch
import pytest

from neuronbook import datasets
from neuronbook.datasets import DataNotFoundError, data_dirs, list_corpora, load_corpus

TOY = "# sent_id = t1\n1\tHello\thello\tINTJ\tUH\t_\t0\troot\t_\t_\n2\tworld\tworld\tNOUN\tNN\t_\t1\tvocative\t_\t_\n\n"


def copy_local(url, output_file, pooch_instance=None):
    """A pooch downloader that 'downloads' a file:// URL by copying; anything else fails the test."""
    if not url.startswith("file://"):
        raise AssertionError(f"test tried the network: {url}")
    shutil.copyfile(url2pathname(urlparse(url).path), output_file)  # FileNotFoundError is an OSError


@pytest.fixture(autouse=True)
def no_network(monkeypatch, request):
    """pooch gets a downloader that only copies file:// URLs; its HTTP downloader is disabled."""
    monkeypatch.setattr(datasets, "_downloader", lambda: copy_local)

    def forbidden(self, url, *a, **k):
        raise AssertionError(f"test tried the network: {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", forbidden)
    if "shared_data" not in request.fixturenames:  # those read $NEURONBOOK_DATA; the rest must not see it
        monkeypatch.delenv("NEURONBOOK_DATA", raising=False)
    monkeypatch.delenv("NEURONBOOK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def write_ud(root, tb="xx_toy", split="dev", text=TOY):
    p = root / "ud" / tb / f"{tb}-ud-{split}.conllu"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@pytest.fixture
def fake_remote(tmp_path, monkeypatch):
    """A pinned treebank 'xx_toy' whose 'remote' files are file:// URLs in tmp_path."""
    remote = tmp_path / "remote"
    src = write_ud(remote)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.UD_TREEBANKS, "xx_toy", ("UD_Toy", "0" * 40, {"dev": sha}))
    monkeypatch.setattr(datasets, "UD_URL", remote.as_uri() + "/ud/{tb}/{tb}-ud-{split}.conllu")
    return remote


def test_lookup_order(tmp_path, tmp_cache, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    monkeypatch.setenv("NEURONBOOK_DATA", f"{b}:{c}")
    assert data_dirs(a) == [a, b, c, tmp_cache / "data"]
    write_ud(tmp_cache / "data", text=TOY.replace("Hello", "Cache"))
    assert load_corpus("ud:xx_toy").sentences[0][0] == "Cache"
    write_ud(c, text=TOY.replace("Hello", "Env2"))
    assert load_corpus("ud:xx_toy").sentences[0][0] == "Env2"
    write_ud(b, text=TOY.replace("Hello", "Env1"))
    assert load_corpus("ud:xx_toy").sentences[0][0] == "Env1"
    write_ud(a, text=TOY.replace("Hello", "Arg"))
    got = load_corpus("ud:xx_toy", data_dir=a)
    assert got.sentences == [["Arg", "world"]] and got.name == "ud:xx_toy/dev" and got.sentence_ids == ["t1"]


def test_download_into_cache_atomically(fake_remote, tmp_cache, monkeypatch):
    calls = []
    real = datasets._download
    monkeypatch.setattr(datasets, "_download", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    seen = []

    def copy_and_look(url, output_file, pooch_instance=None):
        copy_local(url, output_file)
        seen.append(sorted(p.name for p in (tmp_cache / "data" / "ud" / "xx_toy").iterdir()))

    monkeypatch.setattr(datasets, "_downloader", lambda: copy_and_look)
    c = load_corpus("ud:xx_toy", split="dev")
    # while the bytes arrive, only a temporary file exists: the final name appears after the checksum
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0] != "xx_toy-ud-dev.conllu"
    assert c.sentences == [["Hello", "world"]]
    dest = tmp_cache / "data" / "ud" / "xx_toy" / "xx_toy-ud-dev.conllu"
    assert dest.read_text() == TOY
    assert sorted(p.name for p in dest.parent.iterdir()) == ["xx_toy-ud-dev.conllu"]  # no temp file left
    assert calls == [fake_remote.as_uri() + "/ud/xx_toy/xx_toy-ud-dev.conllu"]
    # Second load reads the cache without downloading again.
    assert load_corpus("ud:xx_toy").fingerprint() == c.fingerprint()
    assert len(calls) == 1


def test_checksum_mismatch_raises_and_saves_nothing(fake_remote, tmp_cache, monkeypatch):
    monkeypatch.setitem(datasets.UD_TREEBANKS, "xx_toy", ("UD_Toy", "0" * 40, {"dev": "ab" * 32}))
    with pytest.raises(ValueError, match=r"checksum mismatch for file://.*xx_toy-ud-dev.conllu: .*expected "
                                         r"sha256:abab.* but got .*Nothing was saved to .*xx_toy-ud-dev.conllu"):
        load_corpus("ud:xx_toy")
    folder = tmp_cache / "data" / "ud" / "xx_toy"
    assert not folder.exists() or list(folder.iterdir()) == []  # not even the temporary file
    # the next (correct) pin downloads it: the failure left nothing that looks complete
    good = hashlib.sha256((fake_remote / "ud/xx_toy/xx_toy-ud-dev.conllu").read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.UD_TREEBANKS, "xx_toy", ("UD_Toy", "0" * 40, {"dev": good}))
    assert load_corpus("ud:xx_toy").sentences == [["Hello", "world"]]


@pytest.mark.parametrize("var", ["NEURONBOOK_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_skips_download_and_says_where_it_looked(fake_remote, tmp_path, tmp_cache, monkeypatch, var):
    monkeypatch.setenv(var, "1")
    monkeypatch.setattr(datasets, "_download", lambda *a, **k: pytest.fail("download attempted offline"))
    monkeypatch.setenv("NEURONBOOK_DATA", str(tmp_path / "envdata"))
    with pytest.raises(DataNotFoundError) as err:
        load_corpus("ud:xx_toy", data_dir=tmp_path / "argdata")
    msg = str(err.value)
    for place in (tmp_path / "argdata", tmp_path / "envdata", tmp_cache / "data"):
        assert str(place / "ud" / "xx_toy" / "xx_toy-ud-dev.conllu") in msg
    assert "skipped" in msg and "NEURONBOOK_DATA=/path/to/data" in msg
    assert "ud/xx_toy/xx_toy-ud-dev.conllu" in msg


def test_failed_download_is_a_clear_error(tmp_path, tmp_cache, monkeypatch):
    src = write_ud(tmp_path / "remote")
    monkeypatch.setitem(datasets.UD_TREEBANKS, "xx_toy",
                        ("UD_Toy", "0" * 40, {"dev": hashlib.sha256(src.read_bytes()).hexdigest()}))
    monkeypatch.setattr(datasets, "UD_URL", (tmp_path / "nowhere").as_uri() + "/{tb}-ud-{split}.conllu")
    with pytest.raises(DataNotFoundError, match=r"(?s)Looked in:.*download of file://.*failed.*No such file"):
        load_corpus("ud:xx_toy")
    assert not (tmp_cache / "data" / "ud" / "xx_toy" / "xx_toy-ud-dev.conllu").exists()


def test_module_downloader_is_pooch_http_with_timeout(monkeypatch):
    monkeypatch.undo()  # the real _downloader, not the fixture's
    d = datasets._downloader()
    assert isinstance(d, pooch.HTTPDownloader) and d.kwargs["timeout"] == datasets.DOWNLOAD_TIMEOUT_S
    assert d.progressbar is False


def test_unpinned_and_pmb_are_never_downloaded(tmp_cache, monkeypatch):
    monkeypatch.setattr(datasets, "_download", lambda *a, **k: pytest.fail("no download expected"))
    with pytest.raises(DataNotFoundError, match="no pinned download for treebank 'en_ewt' split 'train'"):
        load_corpus("ud:en_ewt", split="train")
    with pytest.raises(DataNotFoundError, match="PMB files are never downloaded"):
        load_corpus("pmb:en")


def test_real_pins_point_at_ud_github():
    assert datasets._ud_url("en_ewt", "dev") == (
        "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/"
        "15d613d8447b3478787d4c278730a1e48a945efb/en_ewt-ud-dev.conllu")
    assert datasets._ud_url("en_ewt", "train") is None and datasets._ud_url("xx_none", "dev") is None


def test_bad_names_and_splits(tmp_path):
    with pytest.raises(ValueError, match="expected 'ud:<treebank>'"):
        load_corpus("wiki:en")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_corpus("ud:en_ewt", split="valid")
    with pytest.raises(ValueError, match="unknown PMB language 'fr'"):
        load_corpus("pmb:fr")
    p = write_ud(tmp_path)
    assert load_corpus(str(p)).sentences == [["Hello", "world"]]
    with pytest.raises(ValueError, match="a file is one split"):
        load_corpus(str(p), split="dev")


def test_list_corpora(tmp_path, tmp_cache):
    write_ud(tmp_path, tb="en_ewt", split="test")
    df = list_corpora(data_dir=tmp_path)
    assert df.columns.tolist() == ["name", "collection", "key", "split", "found", "path", "downloadable"]
    assert len(df) == 6 * 3 + 4 * 3
    row = df[(df["name"] == "ud:en_ewt") & (df["split"] == "test")].iloc[0]
    assert bool(row["found"]) and row["path"].endswith("en_ewt-ud-test.conllu") and bool(row["downloadable"])
    assert df["found"].sum() == 1
    assert not df[df["collection"] == "pmb"]["downloadable"].any()


# ---------------------------------------------------------------- shared data


def test_shared_checksums_match_pins(shared_data):
    for tb, (_, _, sums) in datasets.UD_TREEBANKS.items():
        for split, sha in sums.items():
            p = shared_data / "ud" / tb / f"{tb}-ud-{split}.conllu"
            assert hashlib.sha256(p.read_bytes()).hexdigest() == sha, p


def test_en_ewt_dev_counts(shared_data):
    c = load_corpus("ud:en_ewt", data_dir=shared_data)
    path = shared_data / "ud" / "en_ewt" / "en_ewt-ud-dev.conllu"
    n_sent = int(subprocess.run(["grep", "-c", "^# sent_id", str(path)], capture_output=True, text=True).stdout)
    n_words = int(subprocess.run(["grep", "-cP", r"^\d+\t", str(path)], capture_output=True, text=True).stdout)
    assert len(c) == n_sent == 2001
    assert c.n_words == n_words == 25147  # syntactic words (range lines and empty nodes excluded)
    assert len(set(c.sentence_ids)) == 2001
    assert c.sentence_ids[0].endswith("ENG_20041117_172713-0001")


def test_pmb_en_dev(shared_data):
    c = load_corpus("pmb:en", split="dev", data_dir=shared_data)
    assert c.name == "pmb:en/dev" and len(c) == 1174 and c.n_words == 7368
    assert c.sentences[0] == "A brown dog and a grey dog are fighting in the snow".split()
    assert c.labels["sem"][0][:3] == ["DIS", "COL", "CON"]
    assert len(set(c.sentence_ids)) == len(c)


def test_all_shared_corpora_load(shared_data):
    df = list_corpora(data_dir=shared_data)
    found = df[df["found"]]
    assert len(found) == 6 * 2 + 4 * 3
    for name, split in zip(found["name"], found["split"]):
        c = load_corpus(name, split=split, data_dir=shared_data)
        assert len(c) > 400 and c.n_words > 2000, (name, split)
