"""compare.py rows for normalization: the issue's shapes, forward and forward+backward.

bytes = what the operation must move: forward reads x and writes y (2|x|);
backward reads grad_out and x and writes grad_x (3|x|); fwd+bwd = 5|x|.
(Batch-norm training also has to reduce x before it can normalize it; the
kernel keeps a channel's planes in L2/L3 between the two reads, so DRAM
sees x about once.) torch's fwd+bwd is its aten native_*_norm forward and
backward ops called directly (no autograd bookkeeping).
"""
import numpy as np

from compare import Case
import fastprims as fp


def _np_bn_train(x, g, b):
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    sh = (1, -1) + (1,) * (x.ndim - 2)
    return (x - m) / np.sqrt(v + 1e-5) * g.reshape(sh) + b.reshape(sh)


def cases(quick, peers):
    out = []
    torch = peers.torch
    aten = torch.ops.aten if torch is not None else None
    for shape in [(32, 64, 112, 112), (256, 256, 14, 14)]:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape, dtype=np.float32)
        gy = rng.standard_normal(shape, dtype=np.float32)
        C = shape[1]
        g = np.ones(C, np.float32)
        b = np.zeros(C, np.float32)
        rm = np.zeros(C, np.float32)
        rv = np.ones(C, np.float32)

        def fp_fwd(x=x, g=g, b=b, rm=rm, rv=rv):
            fp.batch_norm(x, g, b, rm, rv, True)

        def fp_fb(x=x, gy=gy, g=g, b=b, rm=rm, rv=rv):
            y, sm, si = fp.batch_norm(x, g, b, rm, rv, True)
            fp.batch_norm_backward(gy, x, g, sm, si)

        name = f"batch_norm train {shape}"
        if torch is not None:
            tx, tgy, tg, tb = (torch.from_numpy(a) for a in (x, gy, g, b))
            trm, trv = torch.zeros(C), torch.ones(C)

            def t_fwd(tx=tx, tg=tg, tb=tb, trm=trm, trv=trv):
                aten.native_batch_norm(tx, tg, tb, trm, trv, True, 0.1, 1e-5)

            def t_fb(tx=tx, tgy=tgy, tg=tg, tb=tb, trm=trm, trv=trv):
                y, sm, si = aten.native_batch_norm(tx, tg, tb, trm, trv, True, 0.1, 1e-5)
                aten.native_batch_norm_backward(tgy, tx, tg, trm, trv, sm, si, True, 1e-5, [True, True, True])

            out.append(Case("norm", name + " fwd", fp_fwd, t_fwd, "torch", bytes=2 * x.nbytes, target=">=1.5x"))
            out.append(Case("norm", name + " fwd+bwd", fp_fb, t_fb, "torch", bytes=5 * x.nbytes,
                            target=">=1.5x, >=60% copy"))
        else:
            out.append(Case("norm", name + " fwd", fp_fwd, lambda x=x, g=g, b=b: _np_bn_train(x, g, b), "numpy",
                            bytes=2 * x.nbytes, target=""))
            out.append(Case("norm", name + " fwd+bwd", fp_fb, None, "-", bytes=5 * x.nbytes,
                            target=">=60% copy"))

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4096, 1024), dtype=np.float32)
    gy = rng.standard_normal((4096, 1024), dtype=np.float32)
    w = rng.standard_normal(1024, dtype=np.float32)
    bb = rng.standard_normal(1024, dtype=np.float32)

    def fp_ln_fb():
        y, m, r = fp.layer_norm(x, 1024, w, bb)
        fp.layer_norm_backward(gy, x, 1024, m, r, w)

    xg = rng.standard_normal((32, 64, 56, 56), dtype=np.float32)
    gyg = rng.standard_normal((32, 64, 56, 56), dtype=np.float32)
    wg = rng.standard_normal(64, dtype=np.float32)
    bg = rng.standard_normal(64, dtype=np.float32)

    def fp_gn_fb():
        y, m, r = fp.group_norm(xg, 32, wg, bg)
        fp.group_norm_backward(gyg, xg, 32, m, r, wg)

    if torch is not None:
        tx, tgy, tw, tb = (torch.from_numpy(a) for a in (x, gy, w, bb))
        txg, tgyg, twg, tbg = (torch.from_numpy(a) for a in (xg, gyg, wg, bg))

        def t_ln_fb():
            y, m, r = aten.native_layer_norm(tx, [1024], tw, tb, 1e-5)
            aten.native_layer_norm_backward(tgy, tx, [1024], m, r, tw, tb, [True, True, True])

        def t_gn_fb():
            y, m, r = aten.native_group_norm(txg, twg, tbg, 32, 64, 56 * 56, 32, 1e-5)
            aten.native_group_norm_backward(tgyg, txg, m, r, twg, 32, 64, 56 * 56, 32, [True, True, True])

        out += [
            Case("norm", "layer_norm (4096,1024) fwd", lambda: fp.layer_norm(x, 1024, w, bb),
                 lambda: aten.native_layer_norm(tx, [1024], tw, tb, 1e-5), "torch", bytes=2 * x.nbytes,
                 target=">=1.5x"),
            Case("norm", "layer_norm (4096,1024) fwd+bwd", fp_ln_fb, t_ln_fb, "torch", bytes=5 * x.nbytes,
                 target=">=1.5x"),
            Case("norm", "group_norm 32g (32,64,56,56) fwd", lambda: fp.group_norm(xg, 32, wg, bg),
                 lambda: aten.native_group_norm(txg, twg, tbg, 32, 64, 56 * 56, 32, 1e-5), "torch",
                 bytes=2 * xg.nbytes, target=">=1.5x"),
            Case("norm", "group_norm 32g (32,64,56,56) fwd+bwd", fp_gn_fb, t_gn_fb, "torch",
                 bytes=5 * xg.nbytes, target=">=1.5x"),
        ]
    return out
