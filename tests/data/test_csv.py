"""load_csv: task inference, label encoding, and a clear error for every malformed file."""

import numpy as np
import pytest

from bprop.data import DataError, load_csv


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- reading and inference ------------------------------------------------------------


def test_string_target_is_classification_with_sorted_names(tmp_path):
    path = write(
        tmp_path, "x1,x2,species\n1.5,2,virginica\n0.5,1,setosa\n3,4,versicolor\n2,2,setosa\n"
    )
    ds = load_csv(path, target="species")
    assert ds.task == "classification" and ds.name == "data"
    assert ds.target_names == ("setosa", "versicolor", "virginica")
    assert ds.y.tolist() == [2, 0, 1, 0] and ds.y.dtype == np.int64
    assert ds.n_classes == 3 and ds.feature_names == ("x1", "x2")
    np.testing.assert_array_equal(ds.X, [[1.5, 2], [0.5, 1], [3, 4], [2, 2]])
    assert ds.X.dtype == np.float64


def test_few_integers_are_classes_in_numeric_order(tmp_path):
    path = write(tmp_path, "label,a,b\n10,0,1\n2,1,1\n-1,2,0\n2,3,3\n10.0,4,4\n")
    ds = load_csv(path, target="label")
    assert ds.task == "classification"
    assert ds.target_names == ("-1", "2", "10")  # numeric order, not string order
    assert ds.y.tolist() == [2, 1, 0, 1, 2]
    assert ds.feature_names == ("a", "b")


def test_float_target_is_regression(tmp_path):
    path = write(tmp_path, "a,b,price\n1,2,3.25\n4,5,6.5\n7,8,-1\n")
    ds = load_csv(path, target="price")
    assert ds.task == "regression" and ds.n_classes is None and ds.target_names is None
    assert ds.y.shape == (3, 1) and ds.y.dtype == np.float64
    np.testing.assert_array_equal(ds.y[:, 0], [3.25, 6.5, -1])
    assert ds.n_outputs == 1


def test_more_than_20_distinct_integers_is_regression(tmp_path):
    rows = "".join(f"{i},{i * 3}\n" for i in range(21))
    assert load_csv(write(tmp_path, "x,y\n" + rows), target="y").task == "regression"
    rows20 = "".join(f"{i},{i * 3}\n" for i in range(20))
    assert load_csv(write(tmp_path, "x,y\n" + rows20, "b.csv"), target="y").task == "classification"


def test_target_by_index_and_negative_index(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,0\n3,4,1\n")
    assert load_csv(path, target=2).feature_names == ("a", "b")
    by_negative = load_csv(path, target=-1)
    assert by_negative.feature_names == ("a", "b") and by_negative.y.tolist() == [0, 1]
    assert load_csv(path, target=0).feature_names == ("b", "c")


def test_explicit_task_overrides_inference(tmp_path):
    path = write(tmp_path, "a,t\n1,0\n2,1\n3,1\n")
    ds = load_csv(path, target="t", task="regression")
    assert ds.task == "regression" and ds.y[:, 0].tolist() == [0.0, 1.0, 1.0]
    floats = write(tmp_path, "a,t\n1,0.5\n2,1.5\n3,0.5\n", "f.csv")
    ds = load_csv(floats, target="t", task="classification")
    assert ds.target_names == ("0.5", "1.5") and ds.y.tolist() == [0, 1, 0]


def test_whitespace_quotes_bom_and_blank_lines(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes('\ufeff a , "b" ,label\n 1 , 2 , "x, y"\n\n3,4,z\n'.encode())
    ds = load_csv(path, target="label")
    assert ds.feature_names == ("a", "b")
    assert ds.target_names == ("x, y", "z")
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])


def test_other_delimiter(tmp_path):
    path = write(tmp_path, "a;b;t\n1;2;3.5\n4;5;6.5\n")
    assert load_csv(path, target="t", delimiter=";").X.shape == (2, 2)


# --- errors -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="CSV file not found: .*nope.csv") as info:
        load_csv(tmp_path / "nope.csv", target="y")
    assert isinstance(info.value, FileNotFoundError)


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="is empty; a CSV file needs a header row"):
        load_csv(write(tmp_path, ""), target="y")


def test_header_without_rows(tmp_path):
    with pytest.raises(DataError, match="has a header but no data rows"):
        load_csv(write(tmp_path, "a,y\n"), target="y")


def test_missing_target_lists_columns_and_suggests(tmp_path):
    path = write(tmp_path, "sepal,petal,species\n1,2,a\n")
    with pytest.raises(DataError, match="no target column 'specie'") as info:
        load_csv(path, target="specie")
    assert "available columns: ['sepal', 'petal', 'species']" in str(info.value)
    assert "Did you mean 'species'?" in str(info.value)


def test_target_index_out_of_range(tmp_path):
    with pytest.raises(DataError, match="index 5 is out of range; the file has 2 columns"):
        load_csv(write(tmp_path, "a,y\n1,2\n"), target=5)


def test_non_numeric_feature_names_column_row_and_value(tmp_path):
    path = write(tmp_path, "a,colour,y\n1,2,0\n3,4,1\n5,red,0\n6,blue,1\n")
    with pytest.raises(DataError, match="column 'colour', row 3 \\(line 4\\)") as info:
        load_csv(path, target="y")
    assert "non-numeric value 'red'" in str(info.value)
    assert "must be numeric" in str(info.value)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "missing value ''"),
        ("NA", "missing value 'NA'"),
        ("?", "missing value '\\?'"),
        ("nan", "missing value \\(NaN\\) 'nan'"),
        ("inf", "infinite value 'inf'"),
        ("-Infinity", "infinite value '-Infinity'"),
    ],
)
def test_missing_and_non_finite_features(tmp_path, cell, message):
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,{cell},1\n")
    with pytest.raises(DataError, match=f"column 'b', row 2 \\(line 3\\): {message}"):
        load_csv(path, target="y")


@pytest.mark.parametrize(
    ("cell", "message"), [("", "missing target value"), ("inf", "non-finite target")]
)
def test_missing_and_non_finite_target(tmp_path, cell, message):
    path = write(tmp_path, f"a,y\n1,0.5\n2,{cell}\n")
    with pytest.raises(DataError, match=f"column 'y', row 2 \\(line 3\\): {message}"):
        load_csv(path, target="y")


def test_fewer_than_two_columns(tmp_path):
    with pytest.raises(DataError, match="has 1 column \\('y'\\); need at least 2"):
        load_csv(write(tmp_path, "y\n1\n2\n"), target="y")


def test_ragged_row(tmp_path):
    with pytest.raises(DataError, match="line 3 has 2 fields but the header has 3"):
        load_csv(write(tmp_path, "a,b,y\n1,2,3\n4,5\n"), target="y")


def test_regression_on_text_target(tmp_path):
    path = write(tmp_path, "a,y\n1,2.5\n2,cat\n")
    with pytest.raises(DataError, match="regression needs a numeric target, got 'cat'"):
        load_csv(path, target="y", task="regression")


def test_header_that_looks_like_data(tmp_path):
    with pytest.raises(DataError, match="looks like data, not a header"):
        load_csv(write(tmp_path, "1,2,0\n3,4,1\n"), target=2)


def test_duplicate_column_names(tmp_path):
    with pytest.raises(DataError, match="duplicate column names \\['a'\\]"):
        load_csv(write(tmp_path, "a,a,y\n1,2,0\n"), target="y")


def test_bad_task_and_target_type(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n")
    with pytest.raises(DataError, match="task must be one of"):
        load_csv(path, target="y", task="clustering")
    with pytest.raises(DataError, match="column name \\(str\\) or index \\(int\\)"):
        load_csv(path, target=1.0)


def test_directory_and_non_utf8(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load_csv(tmp_path, target="y")
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_csv(path, target="y")


# --- pandas reader: index targets given as text, ragged first rows, features only --------


def test_target_index_given_as_text_unless_a_column_has_that_name(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,0\n3,4,1\n")
    assert load_csv(path, target="2").feature_names == ("a", "b")
    assert load_csv(path, target="-3").feature_names == ("b", "c")
    named = write(tmp_path, "0,x,2\n1,2,0\n3,4,1\n", "named.csv")
    # a column literally named "2" wins over the index 2 (which is the same column here) and
    # the name "0" is the first column, not an index
    assert load_csv(named, target="0").feature_names == ("x", "2")


def test_extra_field_in_the_first_data_row_is_reported(tmp_path):
    # pandas would silently take the extra leading field as a row index
    with pytest.raises(DataError, match="line 2 has 4 fields but the header has 3"):
        load_csv(write(tmp_path, "a,b,y\n1,2,3,4\n5,6,7\n"), target="y")


def test_short_row_is_reported_not_filled_with_nan(tmp_path):
    with pytest.raises(DataError, match="line 4 has 2 fields but the header has 3"):
        load_csv(write(tmp_path, "a,b,y\n1,2,3\n4,5,6\n7,8\n"), target="y")


def test_semicolon_file_with_the_default_delimiter_says_check_the_delimiter(tmp_path):
    with pytest.raises(DataError, match="Is the delimiter ',' right"):
        load_csv(write(tmp_path, "a;b;t\n1;2;3\n"), target="t")


def test_float32_features(tmp_path):
    ds = load_csv(write(tmp_path, "a,b,t\n1.5,2,0\n3,4,1\n"), target="t", dtype=np.float32)
    assert ds.X.dtype == np.float32 and ds.X.tolist() == [[1.5, 2.0], [3.0, 4.0]]


def test_features_only_by_name_in_the_models_order(tmp_path):
    from bprop.data.csv import load_csv_features

    path = write(tmp_path, "b,extra,a\n1,9,2\n3,9,4\n")
    X, names = load_csv_features(path, ["a", "b"])
    assert names == ["a", "b"] and X.tolist() == [[2, 1], [4, 3]]
    X, names = load_csv_features(path, exclude="extra")
    assert names == ["b", "a"] and X.tolist() == [[1, 2], [3, 4]]
    X, names = load_csv_features(path, exclude="not-there")  # predict without a target column
    assert names == ["b", "extra", "a"]
    with pytest.raises(DataError, match=r"no column\(s\) \['c'\], which the model was trained on"):
        load_csv_features(path, ["a", "c"])


def test_label_names_of_numbers_and_strings():
    from bprop.data.csv import label_names

    assert label_names(np.array([-1.0, 2.0, 10.0])) == ["-1", "2", "10"]
    assert label_names(np.array([0.5, 1.5])) == ["0.5", "1.5"]
    assert label_names(np.array(["cat", "dog"], dtype=object)) == ["cat", "dog"]
