"""LCAConfig: literals only, JSON round trip, validation that names the setting."""

import json
import math

import pytest

from neuronbook.config import DEFAULT_PERCENTS, LCAConfig


def test_defaults_are_literals_and_round_trip_through_json():
    cfg = LCAConfig()
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert LCAConfig.from_json(cfg.to_json()) == cfg
    assert d["percents"] == list(DEFAULT_PERCENTS) and d["layers"] is None
    for value in d.values():
        assert value is None or isinstance(value, (str, int, float, bool, list))


def test_lists_become_tuples_and_compare_equal():
    a = LCAConfig(layers=[0, 3], search_grid=[0, 1e-3])
    b = LCAConfig.from_dict(json.loads(json.dumps(a.to_dict())))
    assert a == b and a.layers == (0, 3) and b.to_dict()["layers"] == [0, 3]
    assert hash(a) == hash(b)


def test_parameters_cell_maps_one_to_one():
    # what papermill injects into a notebook: plain names, plus notebook-only ones
    namespace = {"model": "tiny-random", "task": "upos", "max_sentences": 30, "layers": [1, 2],
                 "output_dir": "out", "interactive": False, "renderer": "auto", "json": json}
    cfg = LCAConfig.from_parameters(namespace)
    assert (cfg.model, cfg.task, cfg.max_sentences, cfg.layers) == ("tiny-random", "upos", 30, (1, 2))
    assert cfg.data == LCAConfig().data


def test_describe_documents_every_field():
    table = LCAConfig.describe()
    assert table["name"].tolist() == LCAConfig.fields()
    assert (table["doc"].str.len() > 10).all()
    assert table.set_index("name").loc["seed", "default"] == 0


@pytest.mark.parametrize("name, value, message", [
    ("l1", math.nan, "finite number >= 0"),
    ("l1", -1.0, "finite number >= 0"),
    ("delta", 2.0, r"\(0, 1\)"),
    ("delta", 0.0, r"\(0, 1\)"),
    ("dev_fraction", 1.0, r"\(0, 1\)"),
    ("aggregation", "max", "one of"),
    ("dtype", "int8", "one of"),
    ("max_sentences", 0, "positive integer"),
    ("epochs", 2.5, "positive integer"),
    ("percents", [0, 10], r"\(0, 100\]"),
    ("ablation_methods", ["retrain", "drop"], "drawn from"),
    ("layers", [], "non-empty list"),
    ("control", "yes", "true or false"),
    ("search_grid", [], "non-empty"),
])
def test_invalid_values_name_the_setting(name, value, message):
    with pytest.raises(ValueError, match=rf"LCAConfig\.{name}=.*{message}"):
        LCAConfig(**{name: value})


def test_unknown_keys_are_errors_with_a_hint():
    with pytest.raises(TypeError, match="'modle' .did you mean 'model'.*valid settings: model, data"):
        LCAConfig.from_dict({"modle": "x"})
    with pytest.raises(TypeError, match="unknown LCAConfig setting 'zzz'"):
        LCAConfig().replace(zzz=1)
    with pytest.raises(TypeError, match="'tsak' .did you mean 'task'"):
        LCAConfig(tsak="upos")
    with pytest.raises(TypeError, match="must be a list"):
        LCAConfig(layers="0,1")


def test_no_ablation_is_an_empty_list():
    assert LCAConfig(ablation_percents=[]).ablation_percents == ()
    with pytest.raises(ValueError, match="ablation_percents"):
        LCAConfig(ablation_percents=[150])


def test_probe_params():
    assert LCAConfig(epochs=3, lr=0.1).probe_params() == {"epochs": 3, "batch_size": 256, "lr": 0.1,
                                                          "standardize": True, "solver": "proximal"}


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_min_tag_count_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="min_tag_count"):
        LCAConfig(min_tag_count=bad)


def test_tolerance_is_a_search_criterion():
    assert LCAConfig(search_criterion="tolerance").search_criterion == "tolerance"
    with pytest.raises(ValueError, match="search_criterion.*tolerance"):
        LCAConfig(search_criterion="sparse")


def test_make_probe_is_the_one_carrier_of_probe_settings():
    cfg = LCAConfig(epochs=3, lr=0.1, seed=4, standardize=False, l1=1e-3)
    p = cfg.make_probe()
    assert (p.l1, p.l2, p.epochs, p.lr, p.seed, p.standardize) == (1e-3, 1e-3, 3, 0.1, 4, False)
    assert cfg.make_probe(l1=0.0, l2=2e-3).get_params()["l2"] == 2e-3
    assert LCAConfig().make_probe(l2=3e-4).l1 == 3e-4  # one given: the other takes its value
    with pytest.raises(ValueError, match="searched"):
        LCAConfig().make_probe()


def test_numpy_integers_are_integers_and_stored_plain():
    np = pytest.importorskip("numpy")
    cfg = LCAConfig(max_sentences=np.int64(30), epochs=np.int32(3), seed=np.uint8(2), layers=np.arange(3),
                    seeds=[np.int64(0), np.int64(1)], l1=np.float32(0.5), percents=np.array([10, 50]))
    assert cfg.max_sentences == 30 and type(cfg.max_sentences) is int and type(cfg.epochs) is int
    assert cfg.layers == (0, 1, 2) and all(type(x) is int for x in cfg.layers + cfg.seeds + cfg.percents)
    assert type(cfg.l1) is float and cfg.l1 == 0.5
    assert LCAConfig.from_json(cfg.to_json()) == cfg  # json.dumps refused numpy integers
    assert cfg.replace(max_sentences=np.int16(7)).max_sentences == 7
    with pytest.raises(ValueError, match=r"LCAConfig\.max_sentences=.*positive integer"):
        LCAConfig(max_sentences=np.int64(0))
    with pytest.raises(ValueError, match=r"LCAConfig\.epochs=.*positive integer"):
        LCAConfig(epochs=np.float64(3.0))  # a float stays a float, whatever its value
    with pytest.raises(ValueError, match=r"LCAConfig\.control=.*true or false"):
        LCAConfig(control=np.int64(1))
    for name in ("epochs", "seed", "max_sentences"):  # bool is no integer, numpy's neither
        with pytest.raises(ValueError, match=rf"LCAConfig\.{name}="):
            LCAConfig(**{name: np.bool_(True)})
        with pytest.raises(ValueError, match=rf"LCAConfig\.{name}="):
            LCAConfig(**{name: True})


@pytest.mark.parametrize("layers, message", [
    ([-1], r"layer numbers >= 0.*negative positions"),
    ([0, -2], r"layer numbers >= 0"),
    ([0, 0], r"must not repeat a layer .given more than once: \[0\]"),
    ([2, 1, 2, 1], r"given more than once: \[1, 2\]"),
])
def test_negative_or_repeated_layers_are_refused(layers, message):
    with pytest.raises(ValueError, match=rf"LCAConfig\.layers=.*{message}"):
        LCAConfig(layers=layers)
