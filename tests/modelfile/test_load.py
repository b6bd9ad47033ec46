"""Loading: bounded memory, checked descriptions and arrays, clear errors (issue 12)."""

import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bprop as bp

FIXTURES = Path(__file__).parent / "fixtures"


def peak_mb(fn):
    """Run fn; return (its exception or None, peak traced memory in MB)."""
    tracemalloc.start()
    try:
        fn()
        err = None
    except Exception as e:
        err = e
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return err, peak


def refused(path, *words, fn=bp.load, **kw):
    with pytest.raises(bp.ModelFileError) as e:
        fn(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def set_layer(meta, index, **config):
    meta["model"]["layers"][index]["config"].update(config)
    return meta


# --- declared sizes are checked before anything is built -----------------------------------
@pytest.mark.parametrize("n", [20_000, 50_000])
def test_a_tiny_file_declaring_a_huge_dense_layer_is_refused_cheaply(tmp_path, saved, mf, n):
    bad = mf.rewrite(
        saved["net"], tmp_path / "big.bprop", meta=lambda m: set_layer(m, 0, n_in=n, n_out=n)
    )
    assert bad.stat().st_size < 10_000
    err, peak = peak_mb(lambda: bp.load(bad))
    assert isinstance(err, bp.ModelFileError), err
    net = bp.load(saved["net"])
    rest = sum(
        a.size for leaf in net.leaves()[1:] for a in [*leaf.params.values(), *leaf.buffers.values()]
    )
    assert f"declares {n * n + n + rest:,} parameters" in str(err) and "max_params=" in str(err)
    assert peak < 20
    # raising the limit moves on to the arrays, whose headers do not match: still cheap
    err, peak = peak_mb(lambda: bp.load(bad, max_params=10**10))
    assert isinstance(err, bp.ModelFileError) and "has shape (4, 6)" in str(err), err
    assert peak < 20


def test_a_huge_lstm_is_refused_before_it_is_built(tmp_path, saved, mf):
    def grow(m):
        m["model"]["layers"][0]["config"]["cell"]["config"]["n_hidden"] = 20_000
        return m

    bad = mf.rewrite(saved["recurrent"], tmp_path / "lstm.bprop", meta=grow)
    err, peak = peak_mb(lambda: bp.load(bad))
    assert isinstance(err, bp.ModelFileError) and "max_params" in str(err), err
    assert peak < 20


def test_the_limit_can_be_raised_for_a_model_one_trusts(saved):
    refused(saved["net"], "more than the limit of 10", max_params=10)
    assert bp.load(saved["net"], max_params=200) is not None


def test_an_npy_header_declaring_a_huge_shape_is_refused(tmp_path, saved, mf):
    meta, arrays = mf.read(saved["net"])
    members = {f"{k}.npy": mf.npy_bytes(v) for k, v in arrays.items()}
    members["param/0.W.npy"] = mf.npy_bytes(
        header={"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    members["__bprop__.json.npy"] = mf.npy_bytes(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    mf.write_raw(tmp_path / "h.bprop", members)
    err, peak = peak_mb(lambda: bp.load(tmp_path / "h.bprop"))
    assert isinstance(err, bp.ModelFileError) and "param/0.W" in str(err), err
    assert peak < 20


def test_an_unused_member_that_inflates_hugely_is_never_read(tmp_path, saved, mf):
    meta, arrays = mf.read(saved["net"])
    members = {f"{k}.npy": mf.npy_bytes(v) for k, v in arrays.items()}
    members["__bprop__.json.npy"] = mf.npy_bytes(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    path = tmp_path / "bomb.bprop"
    mf.write_raw(path, members)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("junk.npy", "w", force_zip64=True) as f:
            for _ in range(256):  # 256 MB of zeros, deflated to a few hundred KB
                f.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    err, peak = peak_mb(lambda: bp.load(path))
    assert err is None, err
    assert peak < 20


def test_a_member_holding_more_than_its_header_says_is_refused(tmp_path, saved, mf):
    meta, arrays = mf.read(saved["net"])
    members = {f"{k}.npy": mf.npy_bytes(v) for k, v in arrays.items()}
    members["__bprop__.json.npy"] = mf.npy_bytes(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    members["param/0.W.npy"] = (members["param/0.W.npy"] + bytes(50 * 2**20), zipfile.ZIP_DEFLATED)
    mf.write_raw(tmp_path / "long.bprop", members)
    err, peak = peak_mb(lambda: bp.load(tmp_path / "long.bprop"))
    assert isinstance(err, bp.ModelFileError) and "param/0.W" in str(err), err
    assert peak < 20


# --- the description -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: {**m, "model": None}, ["the model must be an object"]),
        (lambda m: {**m, "format_version": 0}, ["format_version 0"]),
        (lambda m: {**m, "format_version": True}, ["format_version True"]),
        (lambda m: {**m, "format_version": "2"}, ["format_version '2'"]),
        (lambda m: {**m, "surprise": 1}, ["unknown field", "surprise"]),
        (lambda m: {**m, "dtype": "complex128"}, ["dtype 'complex128'"]),
        (lambda m: set_layer(m, 0, n_in=-4), ["n_in must be a positive integer"]),
        (lambda m: set_layer(m, 0, n_in=4.0), ["n_in must be a positive integer"]),
        (lambda m: set_layer(m, 0, banana=1), ["banana"]),
        (lambda m: {**m, "optimizer": {"type": "Nope", "config": {}}}, ["unknown update rule"]),
        (lambda m: {**m, "optimizer": {"type": "SGD", "config": {"lr": "x"}}}, ["invalid"]),
        (lambda m: {**m, "loss": {"type": "Nope", "config": {}}}, ["unknown loss"]),
        (lambda m: {**m, "rng_states": {"0": {"bit_generator": "PCG64"}}}, ["layer 0"]),
    ],
)
def test_invalid_descriptions_get_one_line_errors(tmp_path, saved, mf, edit, words):
    bad = mf.rewrite(saved["mlp"], tmp_path / "bad.bprop", meta=edit)
    refused(bad, *words)


def test_deeply_nested_json_and_non_finite_numbers_are_refused(tmp_path, saved, mf):
    meta, arrays = mf.read(saved["net"])
    deep = json.dumps(meta)[:-1] + ', "metadata": ' + "[" * 1800 + "]" * 1800 + "}"
    mf.write(tmp_path / "deep.bprop", deep, arrays)
    refused(tmp_path / "deep.bprop", "description")
    mf.write(tmp_path / "nan.bprop", json.dumps(meta).replace('"eps": 1e-05', '"eps": NaN'), arrays)
    refused(tmp_path / "nan.bprop", "NaN")
    mf.write(
        tmp_path / "inf.bprop", json.dumps(meta).replace('"eps": 1e-05', '"eps": 1e999'), arrays
    )
    refused(tmp_path / "inf.bprop", "overflows")


def test_a_bare_npy_file_and_special_files_are_refused(tmp_path):
    np.save(tmp_path / "bare.npy", np.ones(3))
    refused(tmp_path / "bare.npy", "not a bprop model file")
    refused(tmp_path, "not a regular file")
    refused("/dev/zero", "not a regular file")  # would never end if read


# --- the arrays ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, words",
    [
        (np.nan, ["NaN or infinity"]),
        (np.inf, ["NaN or infinity"]),
        (1e300, ["too large for float32"]),
    ],
)
def test_non_finite_weights_are_refused(tmp_path, saved, mf, value, words):
    def poison(a):
        a["param/0.W"] = a["param/0.W"].astype(np.float64)
        a["param/0.W"][1, 2] = value
        return a

    refused(mf.rewrite(saved["net"], tmp_path / "w.bprop", arrays=poison), "param/0.W", *words)


@pytest.mark.parametrize(
    "dtype", [np.complex128, "datetime64[s]", np.int64, np.bool_, "U3", [("a", "<f4")]]
)
def test_non_float_weight_arrays_are_refused(tmp_path, saved, mf, dtype):
    def swap(a):
        a["buffer/1.running_var"] = np.zeros(6, dtype=dtype)
        return a

    refused(
        mf.rewrite(saved["net"], tmp_path / "d.bprop", arrays=swap),
        "buffer/1.running_var",
        "accepted",
    )


def test_fortran_ordered_arrays_load_as_written(tmp_path, saved, mf):
    def fortran(a):
        a["param/0.W"] = np.asfortranarray(a["param/0.W"])
        return a

    path = mf.rewrite(saved["net"], tmp_path / "f.bprop", arrays=fortran)
    np.testing.assert_array_equal(
        bp.load(path).layers[0].params["W"], mf.read(path)[1]["param/0.W"]
    )


def test_missing_and_misshapen_arrays_are_refused(tmp_path, saved, mf):
    def drop(a):
        del a["param/4.0.W"]
        return a

    refused(
        mf.rewrite(saved["net"], tmp_path / "m.bprop", arrays=drop), "missing the array param/4.0.W"
    )

    def reshape(a):
        a["param/0.W"] = a["param/0.W"].T.copy()
        return a

    refused(
        mf.rewrite(saved["net"], tmp_path / "s.bprop", arrays=reshape), "(6, 4)", "expects (4, 6)"
    )


# --- the training state ----------------------------------------------------------------------
def adam_state(edit):
    def f(a):
        edit(a)
        return a

    return f


@pytest.mark.parametrize(
    "meta_edit, array_edit, words",
    [
        (None, lambda a: a.pop("opt/m"), ["missing ['m']"]),
        (None, lambda a: a["opt/m"].__setitem__(0, np.nan), ["opt/m", "NaN"]),
        (None, lambda a: a.update({"opt/m": a["opt/m"][:-1]}), ["optimizer state m", "shape"]),
        (lambda m: m["optimizer_scalars"].pop("t"), None, ["missing ['t']"]),
        (lambda m: m["optimizer_scalars"].update(t=None), None, ["t is missing its value"]),
        (lambda m: m["trainer"]["schedule"].update(batch_size=-3), None, ["batch size -3"]),
        (lambda m: m["trainer"]["schedule"].update(name="weekly"), None, ["unknown schedule"]),
        (lambda m: m["trainer"].update(epoch=-1), None, ["epoch -1"]),
        (lambda m: m["trainer"].update(l2=-0.5), None, ["l2"]),
        (lambda m: m["trainer"]["rng"].update(state=7), None, ["data-order generator"]),
        (lambda m: m["trainer"].update(extra=1), None, ["trainer state"]),
        (lambda m: m["trainer"]["split"].update(n=5), None, ["split"]),
        (None, lambda a: a.update({"trainer/val_index": np.array([1, 1, 2])}), ["repeated"]),
        (None, lambda a: a.update({"trainer/val_index": np.array([1, 99])}), ["outside"]),
        (None, lambda a: a.update({"trainer/val_index": np.array([1.0, 2.0])}), ["accepted"]),
    ],
)
def test_corrupt_training_state_is_refused_by_load_trainer(
    tmp_path, saved, mf, meta_edit, array_edit, words
):
    def m(meta):
        if meta_edit:
            meta_edit(meta)
        return meta

    def a(arrays):
        if array_edit:
            array_edit(arrays)
        return arrays

    bad = mf.rewrite(saved["mlp"], tmp_path / "t.bprop", meta=m, arrays=a)
    refused(bad, *words, fn=bp.load_trainer, verbose=0)


def test_the_validation_split_round_trips(tmp_path, mf):
    tr = mf.mlp_trainer()
    bp.save(tr, tmp_path / "t.bprop")
    back = bp.load_trainer(tmp_path / "t.bprop", verbose=0)
    assert back.split["n"] == 12 and back.split["fraction"] == 0.25
    np.testing.assert_array_equal(back.split["val_index"], tr.split["val_index"])
    assert back.split["val_index"].dtype == np.int64
    tr.split = {"n": 12, "fraction": 0.25, "val_index": np.array([3, 12])}
    with pytest.raises(bp.ModelFileError, match="outside"):  # refused when saving, too
        bp.save(tr, tmp_path / "bad.bprop")
    assert not (tmp_path / "bad.bprop").exists()
    tr.split = None
    bp.save(tr, tmp_path / "none.bprop")
    assert bp.load_trainer(tmp_path / "none.bprop", verbose=0).split is None


@pytest.mark.parametrize("name", ["mlp", "recurrent", "settling"])
def test_every_saved_trainer_resumes_with_its_exact_state(saved, mf, name):
    back = bp.load_trainer(saved[name], verbose=0)
    meta, arrays = mf.read(saved[name])
    for key, value in back.state.items():
        if hasattr(value, "shape"):
            np.testing.assert_array_equal(value, arrays[f"opt/{key}"])
        else:
            assert value == meta["optimizer_scalars"][key]
    assert back.epoch == meta["trainer"]["epoch"] == 2


# --- files written by version 1 --------------------------------------------------------------
@pytest.mark.parametrize("name", ["v1_mlp_adam_trainer.bprop", "v1_gru_net.bprop"])
def test_version_1_files_still_load(name, mf):
    meta, arrays = mf.read(FIXTURES / name)
    assert meta["format_version"] == 1
    ck = bp.load_checkpoint(FIXTURES / name)
    for p, leaf in ck.net.leaf_paths():
        for n, v in leaf.params.items():
            np.testing.assert_array_equal(v, arrays[f"param/{p}.{n}"])
    if ck.optimizer is not None:
        tr = bp.load_trainer(FIXTURES / name, verbose=0)
        np.testing.assert_array_equal(tr.state["m"], arrays["opt/m"])
        assert tr.state["t"] == meta["optimizer_scalars"]["t"] and tr.split is None
