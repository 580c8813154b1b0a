"""compare.py rows for the optimizers: one step over 25M float32 parameters.

Bytes that must move per element: Adam/AdamW read p, g, m, v and write p, m, v
(7 x 4 B); SGD with momentum reads p, g, buf and writes p, buf (5 x 4 B).
The peers are torch.optim with fused=True (torch's fastest CPU path) and
with foreach=True, each in its own row; NumPy in-place ops without torch.
"""
import numpy as np

from compare import Case
import fastprims as fp

N = 25_000_000


def _buffers(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    return p, g


def _numpy_adam(p, g, m, v, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, t=[0]):
    t[0] += 1
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** t[0]) + eps
    p -= lr / (1 - b1 ** t[0]) * m / denom


def cases(quick, peers):
    """A generator: one optimizer's buffers (hundreds of MB each) are alive at a
    time. Parameters and gradients are shared by all variants (values drift,
    timing does not care); each variant has its own state."""
    n = N
    p, g = _buffers(n)
    torch = peers.torch
    kinds = [
        ("Adam step 25M f32", "adam", 7, dict(lr=1e-3), lambda P, G: fp.optim.Adam(P, G, lr=1e-3)),
        ("AdamW step 25M f32", "adamw", 7, dict(lr=1e-3, weight_decay=1e-2),
         lambda P, G: fp.optim.AdamW(P, G, lr=1e-3, weight_decay=1e-2)),
        ("SGD momentum step 25M f32", "sgd", 5, dict(lr=1e-3, momentum=0.9),
         lambda P, G: fp.optim.SGD(P, G, lr=1e-3, momentum=0.9)),
    ]
    for name, kind, streams, hp, make in kinds:
        opt = make(p, g)
        opt.step()  # allocate state
        nbytes = streams * 4 * n
        if torch is not None:
            tcls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]
            variants = {}
            for label, kw in (("fused", dict(fused=True)), ("foreach", dict(foreach=True))):
                tp = torch.nn.Parameter(torch.from_numpy(p))
                tp.grad = torch.from_numpy(g)
                topt = tcls([tp], **hp, **kw)
                topt.step()
                variants[label] = topt.step
            # one row per torch variant: interleaving only two callables keeps both OpenMP pools
            # equally warm (a 300 ms foreach step between calls would favor whoever runs next)
            yield Case("optim", name, opt.step, variants["fused"], "torch fused", bytes=nbytes,
                       target=">=1x fused, >=60% copy")
            yield Case("optim", name + " vs foreach", opt.step, variants["foreach"], "torch foreach",
                       bytes=nbytes, target=">=1.5x foreach")
            del variants, tp, topt
        elif kind == "adam":
            m, v, p2 = np.zeros_like(p), np.zeros_like(p), p.copy()
            yield Case("optim", name, opt.step, lambda p2=p2, m=m, v=v: _numpy_adam(p2, g, m, v), "numpy",
                       bytes=nbytes, target=">=60% copy")
            del m, v, p2
        del opt
