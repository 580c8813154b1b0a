"""scikit-learn as the oracle for the splitting and scaling helpers (skipped without it)."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

from fastprims import data as D  # noqa: E402


@pytest.mark.parametrize("n,k", [(10, 3), (7, 7), (100, 5)])
def test_kfold_as_sklearn(n, k):
    for (tr, te), (str_, ste) in zip(D.kfold_indices(n, k), KFold(k).split(np.zeros(n))):
        np.testing.assert_array_equal(tr, str_)
        np.testing.assert_array_equal(te, ste)


def test_class_weights_as_sklearn():
    y = np.random.default_rng(0).integers(0, 5, 200)
    np.testing.assert_allclose(D.class_weights(y), compute_class_weight("balanced", classes=np.arange(5), y=y))


def test_scalers_as_sklearn(rng):
    X = rng.standard_normal((50, 6)) * 4 + 2
    np.testing.assert_allclose(D.min_max_scale(X, (-1, 1)), MinMaxScaler((-1, 1)).fit_transform(X), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(D.standardize(X), StandardScaler().fit_transform(X), rtol=1e-12, atol=1e-12)


def test_train_test_split_sizes_as_sklearn():
    from sklearn.model_selection import train_test_split
    X = np.arange(37)
    for ts in (0.25, 0.1, 5):
        a = D.train_test_split(X, test_size=ts, seed=0)
        b = train_test_split(X, test_size=ts, random_state=0)
        assert [len(v) for v in a] == [len(v) for v in b]
