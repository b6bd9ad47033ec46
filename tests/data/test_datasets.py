"""Dataset container, scikit-learn tabular sets, synthetic tasks and the name registry."""

import dataclasses

import numpy as np
import pytest

from bprop.data import (
    DataError,
    Dataset,
    encoder,
    list_datasets,
    load_dataset,
    parity,
    two_spirals,
    xor,
)

# --- Dataset ---------------------------------------------------------------------------


def test_dataset_classification_properties():
    ds = Dataset(np.zeros((5, 3)), np.array([0, 2, 1, 2, 0]), "classification", "t", "toy")
    assert len(ds) == 5 and ds.n_features == 3
    assert ds.n_classes == 3 and ds.n_outputs == 3  # inferred as max + 1
    assert ds.y.dtype == np.int64
    assert "n_classes=3" in repr(ds) and "n=5" in repr(ds)


def test_dataset_regression_turns_1d_target_into_a_column():
    ds = Dataset(np.zeros((4, 2)), np.arange(4), "regression", "t", "toy")
    assert ds.y.shape == (4, 1) and ds.y.dtype == np.float64
    assert ds.n_outputs == 1 and ds.n_classes is None


def test_dataset_is_frozen():
    ds = xor()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "clustering"}, "task must be one of"),
        ({"X": np.zeros(4)}, "X must be 2-D"),
        ({"y": np.array([0, 1, 0])}, "X has 4 rows but y has 3"),
        ({"y": np.array([0, 1, 2, 0]), "n_classes": 2}, "labels must lie in 0..1"),
        ({"y": np.array([0.0, 1.0, 1.0, 0.0])}, "1-D integer array"),
        ({"feature_names": ["a"]}, "1 feature_names for 2 features"),
        ({"target_names": ["a", "b", "c"]}, "3 target_names for 2 classes"),
    ],
)
def test_dataset_rejects_inconsistent_fields(kwargs, message):
    fields = dict(
        X=np.zeros((4, 2)),
        y=np.array([0, 1, 1, 0]),
        task="classification",
        name="t",
        description="",
    )
    fields.update(kwargs)
    with pytest.raises(DataError, match=message):
        Dataset(**fields)


# --- scikit-learn tabular sets ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "n_classes"),
    [
        ("digits", (1797, 64), 10),
        ("iris", (150, 4), 3),
        ("wine", (178, 13), 3),
        ("breast_cancer", (569, 30), 2),
    ],
)
def test_tabular_sets(name, shape, n_classes):
    ds = load_dataset(name)
    assert ds.name == name and ds.task == "classification"
    assert ds.X.shape == shape and ds.X.dtype == np.float64
    assert ds.y.shape == (shape[0],) and ds.y.dtype == np.int64
    assert ds.n_classes == n_classes
    assert sorted(np.unique(ds.y)) == list(range(n_classes))
    assert len(ds.feature_names) == shape[1] and len(ds.target_names) == n_classes
    assert np.isfinite(ds.X).all()
    assert ds.description


def test_digits_pixels_are_0_to_16():
    X = load_dataset("digits").X
    assert X.min() == 0 and X.max() == 16


# --- synthetic tasks -----------------------------------------------------------------------


def test_xor_truth_table():
    ds = xor()
    table = {tuple(int(v) for v in x): int(y) for x, y in zip(ds.X, ds.y, strict=True)}
    assert table == {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}
    assert ds.task == "classification" and ds.n_classes == 2 and ds.X.dtype == np.float64


@pytest.mark.parametrize("n", [2, 3, 5, 8, 16])
def test_parity_truth_table(n):
    ds = parity(n)
    assert ds.X.shape == (2**n, n) and ds.name == f"parity-{n}"
    assert set(np.unique(ds.X)) == {0.0, 1.0}
    # Row i is i in binary, most significant bit first: every pattern exactly once.
    codes = ds.X @ (2.0 ** np.arange(n - 1, -1, -1))
    np.testing.assert_array_equal(codes, np.arange(2**n))
    np.testing.assert_array_equal(ds.y, ds.X.sum(axis=1).astype(int) % 2)
    assert ds.y.sum() == 2 ** (n - 1)  # half the patterns are odd


def test_parity_2_is_xor():
    np.testing.assert_array_equal(parity(2).X, xor().X)
    np.testing.assert_array_equal(parity(2).y, xor().y)


@pytest.mark.parametrize("n", [1, 17, 2.5, True])
def test_parity_rejects_bad_n(n):
    with pytest.raises(DataError, match="integer n from 2 to 16"):
        parity(n)


@pytest.mark.parametrize(("n", "hidden"), [(8, 3), (10, 5)])
def test_encoder(n, hidden):
    ds = encoder(n, hidden)
    assert ds.name == f"encoder-{n}-{hidden}-{n}" and ds.task == "regression"
    np.testing.assert_array_equal(ds.X, np.eye(n))
    np.testing.assert_array_equal(ds.y, ds.X)
    assert ds.n_outputs == n and ds.n_features == n


def test_two_spirals_lang_witbrock():
    ds = two_spirals()
    assert ds.X.shape == (194, 2) and np.bincount(ds.y).tolist() == [97, 97]
    first, second = ds.X[ds.y == 0], ds.X[ds.y == 1]
    np.testing.assert_array_equal(second, -first)  # point reflections through the origin
    i = np.arange(97)
    radius = 6.5 * (104 - i) / 104
    np.testing.assert_allclose(np.hypot(first[:, 0], first[:, 1]), radius)
    np.testing.assert_allclose(first[0], [0.0, 6.5])  # i = 0: angle 0, radius 6.5
    np.testing.assert_allclose(first[96], [0.0, 0.5], atol=1e-12)  # i = 96: three full turns
    np.testing.assert_allclose(first[8], [6.5 * 96 / 104, 0.0], atol=1e-12)  # angle pi/2
    assert len({tuple(p) for p in first} & {tuple(p) for p in second}) == 0


def test_two_spirals_size_and_limits():
    assert len(two_spirals(10)) == 20
    with pytest.raises(DataError, match="points_per_spiral"):
        two_spirals(105)


def test_synthetic_tasks_are_deterministic():
    for make in (xor, lambda: parity(6), two_spirals, encoder):
        a, b = make(), make()
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)


# --- registry ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("xor", "xor"),
        ("parity-4", "parity-4"),
        ("parity-11", "parity-11"),
        ("encoder-8-3-8", "encoder-8-3-8"),
        ("encoder-10-5-10", "encoder-10-5-10"),
        ("two-spirals", "two-spirals"),
        ("Two_Spirals", "two-spirals"),
        ("breast-cancer", "breast_cancer"),
    ],
)
def test_load_dataset_by_name(name, expected):
    assert load_dataset(name).name == expected


def test_load_dataset_passes_kwargs():
    assert len(load_dataset("two-spirals", points_per_spiral=20)) == 40


def test_list_datasets_names_every_builtin():
    names = [name for name, _ in list_datasets()]
    for expected in [
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "xor",
        "parity-N",
        "encoder-8-3-8",
        "encoder-10-5-10",
        "two-spirals",
        "mnist:PATH",
    ]:
        assert expected in names
    assert all(isinstance(d, str) and d for _, d in list_datasets())


def test_unknown_name_lists_known_and_suggests_closest():
    with pytest.raises(ValueError, match="unknown data set 'irsi'") as info:
        load_dataset("irsi")
    message = str(info.value)
    assert "Did you mean 'iris'?" in message
    assert "two-spirals" in message and "parity-N" in message and "mnist:PATH" in message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("data.csv", "load_csv"),
        ("mnist", "mnist:PATH"),
        ("mnist:", "mnist:PATH"),
        ("parity-40", "from 2 to 16"),
        ("encoder-8-3-9", "must be equal"),
    ],
)
def test_registry_errors(name, message):
    with pytest.raises(DataError, match=message):
        load_dataset(name)
