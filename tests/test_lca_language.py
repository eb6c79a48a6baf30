"""A model whose preset names its languages, run on a corpus of another language: LanguageMismatchWarning."""

from __future__ import annotations

import warnings

import pytest

from neuronbook.config import LCAConfig
from neuronbook.datasets import corpus_language
from neuronbook.exceptions import LanguageMismatchWarning
from neuronbook.lca.pipeline import _warn_language
from neuronbook.models import get_preset


def test_an_english_model_on_russian_text_warns():
    with pytest.warns(LanguageMismatchWarning, match=r"minilm-l6 was trained on en text only, and ud:ru_gsd is 'ru'"):
        _warn_language(LCAConfig(model="sentence-transformers/all-MiniLM-L6-v2", data="ud:ru_gsd"))


@pytest.mark.parametrize("model, data", [("minilm-l6", "ud:en_ewt"), ("minilm-l3", "pmb:en"),
                                         ("e5-small", "ud:ru_gsd"), ("tiny-random", "pmb:de"),
                                         ("minilm-l6", "some/file.conllu"), ("/a/model/folder", "ud:de_gsd")])
def test_no_warning_when_it_matches_or_cannot_be_known(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LanguageMismatchWarning)
        _warn_language(LCAConfig(model=model, data=data))


def test_languages_of_presets_and_corpora():
    assert get_preset("minilm-l6").languages == ("en",) and get_preset("e5-small").languages is None
    assert [corpus_language(n) for n in ("ud:en_ewt", "ud:zh_gsd", "pmb:it", "x.conllu")] == ["en", "zh", "it", None]
