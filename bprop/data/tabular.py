"""Small real tabular data sets that ship with scikit-learn (no download needed).

Each loader calls ``sklearn.datasets.load_*`` and returns a classification `Dataset`
with ``X`` as float64. scikit-learn is imported only when a loader runs.

Example:
    >>> from bprop.data import load_iris
    >>> ds = load_iris()
    >>> ds.X.shape, ds.n_classes
    ((150, 4), 3)
"""

from collections.abc import Callable

import numpy as np

from bprop.data.dataset import Dataset


def _from_sklearn(loader_name: str, name: str, description: str) -> Dataset:
    try:
        import sklearn.datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the {name!r} data set comes with scikit-learn: pip install scikit-learn"
        ) from err
    loader: Callable = getattr(sklearn.datasets, loader_name)
    bunch = loader()
    return Dataset(
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.int64),
        task="classification",
        name=name,
        description=description,
        n_classes=len(bunch.target_names),
        feature_names=[str(f) for f in bunch.feature_names],
        target_names=[str(t) for t in bunch.target_names],
    )


DESCRIPTIONS = {
    "digits": "8x8 images of handwritten digits 0-9 (1,797 samples, 64 pixel features 0-16); "
    "UCI Optical Recognition of Handwritten Digits, via scikit-learn.",
    "iris": "Fisher's iris flowers (1936): 150 samples, 4 measurements, 3 species; "
    "via scikit-learn.",
    "wine": "Chemical analysis of 178 Italian wines from 3 cultivars, 13 features; "
    "UCI, via scikit-learn.",
    "breast_cancer": "Wisconsin diagnostic breast cancer: 569 tumours, 30 features, "
    "malignant/benign; UCI, via scikit-learn.",
}


def load_digits() -> Dataset:
    """Handwritten digits: 1,797 8x8 images (64 features, values 0-16), 10 classes."""
    return _from_sklearn("load_digits", "digits", DESCRIPTIONS["digits"])


def load_iris() -> Dataset:
    """Fisher's iris data: 150 flowers, 4 measurements in cm, 3 species."""
    return _from_sklearn("load_iris", "iris", DESCRIPTIONS["iris"])


def load_wine() -> Dataset:
    """UCI wine recognition: 178 wines, 13 chemical features, 3 cultivars."""
    return _from_sklearn("load_wine", "wine", DESCRIPTIONS["wine"])


def load_breast_cancer() -> Dataset:
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes (0 = malignant)."""
    return _from_sklearn("load_breast_cancer", "breast_cancer", DESCRIPTIONS["breast_cancer"])
