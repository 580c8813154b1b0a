"""compare.py rows for the data loader and augmentation kernels.

Loader row: one epoch of 8 batches of 256 (3, 32, 32) float32 images,
shuffled, random horizontal flip + random translation by up to 4 pixels
(zero padding), against a plain NumPy loop doing the same (fancy-index
gather, flip of the selected samples, pad + per-sample crop). Bytes: the
gathered batch is written once and read+written by each augmentation.
"""
import numpy as np

from compare import Case
import fastprims as fp
from fastprims import data as D

N_BATCHES = 8
BATCH = 256


def _numpy_epoch(X, rng, pad=4):
    n = X.shape[0]
    order = rng.permutation(n)
    last = None
    for b in range(n // BATCH):
        idx = order[b * BATCH:(b + 1) * BATCH]
        xb = X[idx]
        flip = rng.random(BATCH) < 0.5
        xb[flip] = xb[flip, :, :, ::-1]
        padded = np.pad(xb, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        offs = rng.integers(0, 2 * pad + 1, size=(BATCH, 2))
        h, w = xb.shape[2:]
        for i in range(BATCH):
            xb[i] = padded[i, :, offs[i, 0]:offs[i, 0] + h, offs[i, 1]:offs[i, 1] + w]
        last = xb
    return last


def cases(quick, peers):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_BATCHES * BATCH, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, X.shape[0])
    aug = D.Compose([D.RandomHorizontalFlip(0.5), D.RandomTranslate(4)])
    loader = D.DataLoader(X, y, batch_size=BATCH, shuffle=True, transform=aug, num_threads=2, prefetch=2)
    loader_sync = D.DataLoader(X, y, batch_size=BATCH, shuffle=True, transform=aug, num_threads=0)

    def epoch(ld):
        def run():
            for xb, yb in ld:
                pass
        return run

    nrng = np.random.default_rng(1)
    batch_bytes = X.nbytes // N_BATCHES
    out = [Case("data", "loader flip+translate 8x256x3x32x32", epoch(loader), lambda: _numpy_epoch(X, nrng),
                "numpy loop", bytes=N_BATCHES * 5 * batch_bytes, target="fast enough to feed the step",
                extra={"sync(num_threads=0)": epoch(loader_sync)})]

    if all(hasattr(fp, k) for k in ("conv2d", "batch_norm", "max_pool2d", "global_avg_pool2d")):
        # the bar: loading + augmenting one batch < 25% of a forward+backward of a small CNN
        from fastprims import nn
        nn.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.GlobalAvgPool2d(),
            nn.Flatten(), nn.Linear(128, 10))
        xb0 = X[:BATCH]

        def fwd_bwd():
            out = model(xb0)
            model.backward(np.full_like(out, 1.0 / out.size))

        one = D.DataLoader(X[:BATCH], y[:BATCH], batch_size=BATCH, transform=aug, num_threads=2)
        out.append(Case("data", "1 loader batch vs small-CNN fwd+bwd (256)", epoch(one), fwd_bwd,
                        "nn fwd+bwd", target="ratio >= 4x (loader < 25% of the step)"))

    xb = X[:BATCH].copy()
    mats = D.affine_matrices(32, 32, np.linspace(-15, 15, BATCH), None, np.linspace(0.9, 1.1, BATCH))
    scipy = None
    try:
        import scipy.ndimage as scipy
    except ImportError:
        pass
    if scipy is not None:
        def scipy_affine():
            o = np.empty_like(xb)
            for i in range(BATCH):
                for c in range(3):
                    m = mats[i]
                    o[i, c] = scipy.affine_transform(xb[i, c], m[:, :2], offset=m[:, 2], order=1,
                                                     mode="grid-constant")
            return o
        out.append(Case("data", "affine warp bilinear 256x3x32x32", lambda: D.affine_transform(xb, mats),
                        scipy_affine, "scipy.ndimage", bytes=2 * xb.nbytes))
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    m4, s4 = np.array(mean, np.float32)[:, None, None], np.array(std, np.float32)[:, None, None]
    out.append(Case("data", "standardize 256x3x32x32", lambda: D.standardize(xb, mean, std),
                    lambda: (xb - m4) / s4, "numpy", bytes=2 * xb.nbytes))
    return out
