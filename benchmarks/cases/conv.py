"""compare.py rows for convolution: the issue's 9 layers, float32, forward and
forward+backward (all three gradients), fastprims auto vs torch, with direct,
im2col and (3x3 stride-1 layers) winograd as variants."""
import numpy as np

from compare import Case
import fastprims as fp

# (N, C_in, H=W, C_out, k, stride, pad, groups)
LAYERS = [
    (32, 3, 224, 64, 7, 2, 3, 1),
    (32, 64, 56, 64, 3, 1, 1, 1),
    (32, 64, 56, 256, 1, 1, 0, 1),
    (32, 256, 56, 64, 1, 1, 0, 1),
    (32, 128, 28, 128, 3, 1, 1, 1),
    (32, 256, 14, 256, 3, 1, 1, 1),
    (32, 512, 7, 512, 3, 1, 1, 1),
    (32, 128, 56, 128, 3, 1, 1, 128),
    (8, 16, 32, 16, 3, 1, 1, 1),
]


def layer_name(layer):
    n, c, hw, co, k, s, p, g = layer
    return f"{n}x{c}x{hw}->{co} k{k}s{s}p{p}" + (f" g{g}" if g > 1 else "")


def layer_data(layer, seed=0):
    n, c, hw, co, k, s, p, g = layer
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
    w = (rng.standard_normal((co, c // g, k, k), dtype=np.float32) / np.sqrt(c // g * k * k)).astype(np.float32)
    b = rng.standard_normal(co, dtype=np.float32)
    return x, w, b


def layer_cases(layer, peers):
    """The forward and forward+backward rows of one layer (closures own their data)."""
    n, c, hw, co, k, s, p, g = layer
    x, w, b = layer_data(layer)
    kw = dict(stride=s, padding=p, groups=g)
    flops = fp.conv2d_flops(x.shape, co, k, s, p, 1, g)
    gy = np.random.default_rng(1).standard_normal(fp.conv2d(x, w, b, **kw).shape, dtype=np.float32)
    torch = peers.torch

    def fwd(alg="auto"):
        return fp.conv2d(x, w, b, algorithm=alg, **kw)

    def fwd_bwd(alg="auto"):
        fp.conv2d(x, w, b, algorithm=alg, **kw)
        return fp.conv2d_backward(gy, x, w, algorithm=alg, **kw)

    peer = peer_fb = None
    peer_name = "-"
    if torch is not None:
        F = torch.nn.functional
        tx, tw, tb, tgy = (torch.from_numpy(a) for a in (x, w, b, gy))
        txg, twg, tbg = (t.clone().requires_grad_(True) for t in (tx, tw, tb))
        peer_name = "torch"

        def peer():
            return F.conv2d(tx, tw, tb, stride=s, padding=p, groups=g)

        def peer_fb():
            yy = F.conv2d(txg, twg, tbg, stride=s, padding=p, groups=g)
            return torch.autograd.grad(yy, (txg, twg, tbg), tgy)

    # Depthwise layers are memory-bound: the bytes they must move are the
    # forward's read of x and write of y, and the backward's reads of
    # grad_out and x and write of grad_x (weights are negligible).
    fwd_bytes = fb_bytes = None
    if c == g:
        fwd_bytes = x.nbytes + gy.nbytes
        fb_bytes = fwd_bytes + 2 * x.nbytes + gy.nbytes
    algs = ("direct", "im2col") + (("winograd",) if k == 3 and s == 1 and c != g else ())
    return [
        Case("conv", "fwd " + layer_name(layer), fwd, peer, peer_name, flops=flops, bytes=fwd_bytes,
             target=">=1.5x gm, >=0.9x", extra={a: (lambda a=a: fwd(a)) for a in algs}),
        Case("conv", "fwd+bwd " + layer_name(layer), fwd_bwd, peer_fb, peer_name, flops=3 * flops, bytes=fb_bytes,
             target=">=1.3x gm, >=0.8x", extra={a: (lambda a=a: fwd_bwd(a)) for a in algs}),
    ]


def cases(quick, peers):
    out = []
    for layer in LAYERS:
        out.extend(layer_cases(layer, peers))
    return out
