"""compare.py rows for activations, softmax/log_softmax and dropout.

fwd rows time the forward with a fresh output; "out=" (extra column) reuses
one. fwd+bwd rows time forward then backward; the torch peer is its forward
plus the aten backward op autograd would call (threshold_backward,
sigmoid_backward, _softmax_backward_data, ...), called directly: torch's
fastest honest path, without autograd's bookkeeping. Bytes are what must move:
fwd reads x and writes y; a backward reads grad_out and x (or y) and writes
grad_x; dropout's mask is one byte per element on both sides.
"""
import numpy as np

from compare import Case
import fastprims as fp

N = 10**7
COPY = ">=70% copy"


def _elementwise(torch, x, g, tx, tg):
    """(name, fp fwd, fp bwd(g, x, y), torch fwd, torch bwd(g, x, y))"""
    F = torch.nn.functional if torch else None
    aten = torch.ops.aten if torch else None
    rows = [
        ("relu", fp.relu, lambda g, x, y: fp.relu_backward(g, x),
         torch and torch.relu, aten and (lambda g, x, y: aten.threshold_backward(g, x, 0))),
        ("leaky_relu", fp.leaky_relu, lambda g, x, y: fp.leaky_relu_backward(g, x, 0.01),
         F and F.leaky_relu, aten and (lambda g, x, y: aten.leaky_relu_backward(g, x, 0.01, False))),
        ("sigmoid", fp.sigmoid, lambda g, x, y: fp.sigmoid_backward(g, y),
         torch and torch.sigmoid, aten and (lambda g, x, y: aten.sigmoid_backward(g, y))),
        ("tanh", fp.tanh, lambda g, x, y: fp.tanh_backward(g, y),
         torch and torch.tanh, aten and (lambda g, x, y: aten.tanh_backward(g, y))),
        ("gelu", fp.gelu, lambda g, x, y: fp.gelu_backward(g, x),
         F and F.gelu, aten and (lambda g, x, y: aten.gelu_backward(g, x))),
        ("gelu tanh", lambda x, **k: fp.gelu(x, "tanh", **k), lambda g, x, y: fp.gelu_backward(g, x, "tanh"),
         F and (lambda t: F.gelu(t, approximate="tanh")),
         aten and (lambda g, x, y: aten.gelu_backward(g, x, approximate="tanh"))),
    ]
    return rows


def _numpy_peer(name):
    """NumPy forward when torch is absent (no backward peer)."""
    return {
        "relu": lambda x: np.maximum(x, 0),
        "leaky_relu": lambda x: np.where(x > 0, x, x * np.float32(0.01)),
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
        "tanh": np.tanh,
    }.get(name)


def cases(quick, peers):
    out = []
    torch = peers.torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N, dtype=np.float32)
    g = rng.standard_normal(N, dtype=np.float32)
    buf_y = np.empty_like(x)
    buf_g = np.empty_like(x)
    tx = torch.from_numpy(x) if torch else None
    tg = torch.from_numpy(g) if torch else None
    peer = "torch" if torch else "numpy"

    for name, f, b, tf, tb in _elementwise(torch, x, g, tx, tg):
        y = f(x)
        ty = tf(tx) if torch else None
        pf = (lambda tf=tf: tf(tx)) if torch else (lambda pn=_numpy_peer(name): pn(x) if pn else None)
        out.append(Case("activation", f"{name} fwd 1e7", lambda f=f: f(x), pf, peer, bytes=8 * N,
                        target=COPY, extra={"out=": lambda f=f: f(x, out=buf_y)}))

        def fb(f=f, b=b):
            y = f(x)
            return b(g, x, y)

        def fb_out(f=f, b=b, name=name):
            y = f(x, out=buf_y)
            kw = {"out": buf_g}
            if name == "relu":
                return fp.relu_backward(g, x, **kw)
            if name == "leaky_relu":
                return fp.leaky_relu_backward(g, x, 0.01, **kw)
            if name == "sigmoid":
                return fp.sigmoid_backward(g, y, **kw)
            if name == "tanh":
                return fp.tanh_backward(g, y, **kw)
            return fp.gelu_backward(g, x, "tanh" if "tanh" in name else "none", **kw)

        tfb = (lambda tf=tf, tb=tb: tb(tg, tx, tf(tx))) if torch else None
        out.append(Case("activation", f"{name} fwd+bwd 1e7", fb, tfb, peer if torch else "-",
                        bytes=20 * N, target=COPY, extra={"out=": fb_out}))

    # dropout: torch.native_dropout returns the mask as fastprims does
    p = 0.5
    dropout_peer = (lambda: torch.native_dropout(tx, p, True)) if torch else None
    out.append(Case("activation", "dropout fwd 1e7", lambda: fp.dropout(x, p, seed=1), dropout_peer,
                     peer if torch else "-", bytes=9 * N, target="",
                     extra={"out=": lambda: fp.dropout(x, p, seed=1, out=buf_y)}))

    def dropout_fb():
        y, m = fp.dropout(x, p, seed=1)
        return fp.dropout_backward(g, m, p)

    def dropout_fb_peer():
        y, m = torch.native_dropout(tx, p, True)
        return torch.ops.aten.native_dropout_backward(tg, m, 1 / (1 - p))

    out.append(Case("activation", "dropout fwd+bwd 1e7", dropout_fb, dropout_fb_peer if torch else None,
                    peer if torch else "-", bytes=18 * N))

    # softmax / log_softmax (every closure binds its shape's arrays: the cases run
    # after this loop ends, when the loop variables hold the last shape)
    for shape, axis, target in [((4096, 1000), -1, ">=1.3x"), ((64, 21, 128, 128), 1, ">=2x")]:
        xs = rng.standard_normal(shape, dtype=np.float32)
        gs = rng.standard_normal(shape, dtype=np.float32)
        txs = torch.from_numpy(xs) if torch else None
        tgs = torch.from_numpy(gs) if torch else None
        label = f"{shape} axis {axis % len(shape)}"
        nb = xs.nbytes
        for name, f, b, tname in [("softmax", fp.softmax, fp.softmax_backward, "softmax"),
                                  ("log_softmax", fp.log_softmax, fp.log_softmax_backward, "log_softmax")]:
            if torch:
                tf = getattr(torch, tname)
                tbw = torch._softmax_backward_data if name == "softmax" else torch._log_softmax_backward_data
                pf = lambda tf=tf, txs=txs, axis=axis: tf(txs, axis)
                pfb = (lambda tf=tf, tbw=tbw, txs=txs, tgs=tgs, axis=axis, d=axis % len(shape):
                       tbw(tgs, tf(txs, axis), d, torch.float32))
            else:
                def pf(name=name, xs=xs, axis=axis):
                    z = xs - xs.max(axis, keepdims=True)
                    e = np.exp(z)
                    s = e.sum(axis, keepdims=True)
                    return e / s if name == "softmax" else z - np.log(s)
                pfb = None
            out.append(Case("activation", f"{name} fwd {label}", lambda f=f, xs=xs, axis=axis: f(xs, axis), pf, peer,
                            bytes=2 * nb, target=target))
            out.append(Case("activation", f"{name} fwd+bwd {label}",
                            lambda f=f, b=b, xs=xs, gs=gs, axis=axis: b(gs, f(xs, axis), axis), pfb, peer if torch else "-",
                            bytes=5 * nb, target=target))
    return out
