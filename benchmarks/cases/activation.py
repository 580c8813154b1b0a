"""compare.py rows for activations and softmax."""
import numpy as np

from compare import Case
import fastprims as fp


def cases(quick, peers):
    out = []
    n = 10**7
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    nbytes = 2 * x.nbytes  # read x, write y
    torch = peers.torch
    if torch is not None:
        tx = torch.from_numpy(x)
        out.append(Case("activation", "relu fwd 1e7", lambda: fp.relu(x), lambda: torch.relu(tx),
                        "torch", bytes=nbytes, target=">=70% copy"))
    else:
        out.append(Case("activation", "relu fwd 1e7", lambda: fp.relu(x), lambda: np.maximum(x, 0),
                        "numpy", bytes=nbytes, target=">=70% copy"))
    return out
