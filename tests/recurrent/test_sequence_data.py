"""Sequence data sets: adding problem, embedded Reber grammar, text corpora, time series."""

import numpy as np
import pytest

from bprop.data import DataError
from bprop.data.sequences import (
    REBER_SYMBOLS,
    adding_problem,
    build_vocabulary,
    embedded_reber,
    encode_text,
    load_series_csv,
    load_sunspots,
    load_text,
    reber_arrays,
    stream_windows,
    windows,
)


def test_adding_problem_is_seeded_and_well_formed():
    X, y = adding_problem(100, 50, rng=np.random.default_rng(3))
    X2, y2 = adding_problem(100, 50, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (100, 50, 2) and y.shape == (100, 1)
    marks = X[:, :, 1]
    assert (marks.sum(axis=1) == 2).all()
    assert (marks[:, :25].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (X[:, :, 0] * marks).sum(axis=1))
    with pytest.raises(DataError):
        adding_problem(10, 1)


def test_embedded_reber_strings_and_arrays():
    strings = embedded_reber(50, rng=0)
    for s in strings:
        assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[1] in "TP"
        assert s[2] == "B" and s[-3] == "E"
    d = reber_arrays(strings)
    n, T, K = d["X"].shape
    assert K == len(REBER_SYMBOLS) and T == max(map(len, strings)) - 1
    assert d["mask"].sum() == sum(len(s) - 1 for s in strings)
    # the true next symbol is always among the legal ones; inputs are one-hot
    rows, cols = np.nonzero(d["mask"])
    assert (d["allowed"][rows, cols, d["y"][rows, cols]] == 1).all()
    assert (d["X"].sum(axis=2) == 1).all()
    # the penultimate symbol is determined by the second one (the long time lag)
    for k, s in enumerate(strings):
        legal = d["allowed"][k, len(s) - 3]
        assert legal.sum() == 1 and REBER_SYMBOLS[int(legal.argmax())] == s[1]


def test_character_and_word_vocabularies():
    ids, vocab = encode_text("abcab")
    assert vocab.symbols == ["a", "b", "c"] and vocab.decode(ids) == "abcab"
    text = "the cat sat on the mat.\nthe end"
    ids, vocab = encode_text(text, unit="word", limit=4)
    assert len(vocab) == 4 and vocab.unk_token == "<unk>"
    assert vocab.symbols[vocab.unk] == "<unk>"
    assert "the" in vocab.symbols
    assert vocab.decode(ids).startswith("the <unk>")
    full = build_vocabulary(text, unit="word")
    assert full.decode(full.encode(text)) == "the cat sat on the mat.\nthe end"
    with pytest.raises(DataError, match="not in the vocabulary"):
        full.encode("dog")


def test_empty_text_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n")
    with pytest.raises(DataError, match="empty"):
        load_text(path)
    with pytest.raises(DataError, match="not found"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "ok.txt").write_text("hello world")
    ids, vocab = load_text(tmp_path / "ok.txt")
    assert vocab.decode(ids) == "hello world"


def test_stream_shorter_than_one_window_is_a_clear_error():
    X, Y = stream_windows(np.arange(11), 5)
    assert X.shape == (2, 5) and (Y == X + 1).all()
    with pytest.raises(DataError, match="shorter than one window"):
        stream_windows(np.arange(5), 5)
    with pytest.raises(DataError, match="shorter than one window"):
        windows(np.arange(3.0), 3)


def test_windows_one_step_ahead():
    X, y = windows(np.arange(10.0), 4)
    assert X.shape == (6, 4, 1) and y.shape == (6, 1)
    np.testing.assert_array_equal(X[2, :, 0], [2, 3, 4, 5])
    assert y[2, 0] == 6
    X, y = windows(np.arange(10.0), 4, horizon=3)
    assert X.shape == (4, 4, 1) and y[0, 0] == 6


def test_csv_column_and_non_numeric_column(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("date,value,label\n2020,1.5,a\n2021,2.5,b\n2022,3.5,c\n")
    np.testing.assert_array_equal(load_series_csv(path, "value"), [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(load_series_csv(path, 1), [1.5, 2.5, 3.5])
    with pytest.raises(DataError, match=r"column 'label', row 1 \(line 2\).*not a number"):
        load_series_csv(path, "label")
    with pytest.raises(DataError, match="no column"):
        load_series_csv(path, "missing")


def test_sunspots_are_the_yearly_series_1700_2008():
    years, values = load_sunspots(with_years=True)
    assert len(values) == 309 and years[0] == 1700 and years[-1] == 2008
    np.testing.assert_array_equal(values[:3], [5.0, 11.0, 16.0])
    assert values[-1] == 2.9 and (values >= 0).all()
