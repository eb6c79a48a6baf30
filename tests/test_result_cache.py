"""The result cache heals like the store cache; result.json is covered by a digest (issue 21)."""

import json
import logging
import warnings

import pandas as pd
import pytest

from neuronbook.config import LCAConfig
from neuronbook.exceptions import NeuronbookWarning, ResultCacheWarning
from neuronbook.lca import LCAResult, cache_result, run_lca
from tiny import write_corpus, small_result

FAST = {"epochs": 12, "batch_size": 64, "lr": 1e-2}



@pytest.fixture(scope="module")
def result():
    return small_result()


def _edit(folder, fn):
    path = folder / "result.json"
    payload = json.loads(path.read_text())
    out = fn(payload)
    payload = out if isinstance(out, dict) else payload
    path.write_text(json.dumps(payload, indent=2))


# ------------------------------------------------------------------------------ result.json's digest
def test_saved_result_json_carries_its_digest_and_loads(result, tmp_path):
    out = result.save(tmp_path / "res")
    payload = json.loads((out / "result.json").read_text())
    assert payload["format"] == 5 and len(payload["digest"]) == 64
    assert set(payload["files"]) == {p.name for p in out.iterdir()} - {"result.json"}
    assert LCAResult.load(out).info["l1"] == result.info["l1"]
    _edit(out, lambda p: None)  # re-indented, same content: still the same result
    assert LCAResult.load(out).config == result.config


@pytest.mark.parametrize("edit, message", [
    (lambda p: p["info"].update(l1=0.5), "digest mismatch"),                # an edited penalty
    (lambda p: p["config"].update(l2=0.5), "digest mismatch"),
    (lambda p: p["files"].pop("ranking.parquet"), "digest mismatch"),
    (lambda p: p.pop("digest"), "records no digest"),
    (lambda p: {k: v for k, v in p.items() if k != "files"} | {"digest": None}, "records no digest"),
])
def test_edited_result_json_is_refused(result, tmp_path, edit, message):
    out = result.save(tmp_path / "res")
    _edit(out, edit)
    with pytest.raises(ValueError, match=f"{out / 'result.json'}: .*{message}"):
        LCAResult.load(out)


def test_removed_file_digests_are_refused_even_with_a_matching_digest(result, tmp_path):
    """An edit that also recomputes the digest still needs every file's digest (the format requires them)."""
    from neuronbook.lca.result import _payload_digest

    out = result.save(tmp_path / "res")

    def drop(p, names):
        for name in names:
            p["files"].pop(name)
        p["digest"] = _payload_digest(p)

    _edit(out, lambda p: drop(p, ["curve.parquet"]))
    with pytest.raises(ValueError, match=r"records no digest of \['curve.parquet'\]"):
        LCAResult.load(out)
    _edit(out, lambda p: drop(p, list(p["files"])))
    with pytest.raises(ValueError, match="records no digest of"):
        LCAResult.load(out)


@pytest.mark.parametrize("content, kind", [("[1, 2]", "list"), ('"text"', "str"), ("3", "int")])
def test_result_json_that_is_not_an_object_is_a_clear_error(result, tmp_path, content, kind):
    out = result.save(tmp_path / "res")
    (out / "result.json").write_text(content)
    with pytest.raises(ValueError, match=f"{out / 'result.json'}: holds a JSON {kind}, not the object"):
        LCAResult.load(out)


def test_cache_result_refuses_a_shipped_result_that_does_not_match_its_digests(result, tmp_path):
    out = result.save(tmp_path / "shipped")
    _edit(out, lambda p: p["info"].update(l1=0.25))
    with pytest.raises(ValueError, match="digest mismatch"):
        cache_result(out, cache=tmp_path / "results")
    out = result.save(tmp_path / "shipped", overwrite=True)
    table = pd.read_parquet(out / "ranking.parquet")
    table.loc[0, "score"] += 1.0
    table.to_parquet(out / "ranking.parquet", index=False)
    with pytest.raises(ValueError, match="ranking.parquet differs"):
        cache_result(out, cache=tmp_path / "results")
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------------------------- the cache heals
@pytest.fixture
def config(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    train, test = write_corpus(d / "train.conllu", 60, 0), write_corpus(d / "test.conllu", 30, 1)
    return LCAConfig(model="tiny-random", data="toy", train=str(train), test=str(test), task="upos", l1=1e-3,
                     percents=[50], control=False, ablation_percents=[], **FAST)


def _entries(root):
    return sorted(p for p in root.iterdir() if p.name != "requests")


def _delete_result_json(folder):
    (folder / "result.json").unlink()


def _list_result_json(folder):
    (folder / "result.json").write_text("[]")


def _edit_penalty(folder):
    _edit(folder, lambda p: p["info"].update(l1=0.5))


def _delete_table(folder):
    (folder / "curve.parquet").unlink()


@pytest.mark.parametrize("damage", [_delete_result_json, _list_result_json, _edit_penalty, _delete_table])
def test_damaged_cached_result_is_moved_aside_and_the_new_one_saved(tmp_cache, config, damage, caplog):
    first = run_lca(config, progress=False)
    root = tmp_cache / "results"
    (folder,) = _entries(root)
    damage(folder)
    with caplog.at_level(logging.WARNING, logger="neuronbook.lca.cache"):
        again = run_lca(config, progress=False)
    assert not again.from_cache  # recomputed ...
    pd.testing.assert_frame_equal(again.ranking, first.ranking)
    entries = _entries(root)
    (aside,) = [p for p in entries if p.name.startswith(f"{folder.name}.damaged-")]
    assert entries == sorted([folder, aside])  # ... saved in its place, the damaged one kept aside
    assert str(folder) in caplog.text and str(aside) in caplog.text
    third = run_lca(config, progress=False)  # and the configuration is served from the cache again
    assert third.from_cache and third.info["loaded_from_cache"] == str(folder)


def test_failed_save_into_the_cache_warns_and_returns_the_result(tmp_cache, config, monkeypatch):
    real, calls = pd.DataFrame.to_parquet, []

    def failing(self, *a, **kw):  # the disk fills up after two tables
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    with pytest.warns(ResultCacheWarning, match=r"could not be saved into the result cache at .*No space left"):
        computed = run_lca(config, progress=False)
    assert issubclass(ResultCacheWarning, NeuronbookWarning)
    assert len(computed.ranking) and not computed.from_cache and computed.info["l1"] == 1e-3
    root = tmp_cache / "results"
    # nothing that looks like a result, no temporary folder, no request pointing anywhere
    assert not list(root.rglob("result.json")) and not [p for p in root.iterdir() if ".tmp-" in p.name]
    assert not (root / "requests").exists()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultCacheWarning)
        saved = run_lca(config, progress=False)  # disk space back: computed and saved
    assert not saved.from_cache and run_lca(config, progress=False).from_cache


def test_failed_final_rename_leaves_no_result_folder(tmp_cache, config, monkeypatch):
    from pathlib import Path

    real_rename = Path.rename

    def failing(self, target):
        if ".tmp-" in self.name:
            raise PermissionError(13, "Permission denied")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.warns(ResultCacheWarning, match="Permission denied"):
        computed = run_lca(config, progress=False)
    assert len(computed.ranking)
    root = tmp_cache / "results"
    assert [p.name for p in root.iterdir()] == []  # the temporary folder was removed too
