"""compare.py rows for losses.

torch's side is its fastest honest path for the same job: the functional op
for the forward; for forward+backward, loss.backward() through autograd, except
cross-entropy, where calling the aten kernels autograd uses (log_softmax,
nll_loss forward/backward, log_softmax backward) directly is faster (torchvision's sigmoid focal loss written in torch ops, as
torchvision runs it). fastprims' forward+backward rows use the fused
return_grad=True path; the "sep" variant is forward then *_backward.
Bytes are what must cross memory: elementwise forward reads 2 arrays, the
fused forward+backward reads 2 and writes 1; cross-entropy reads the logits
and writes the gradient.
"""
import numpy as np

from compare import Case
import fastprims as fp


def _tv_sigmoid_focal(torch, F, inputs, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


def _fwd_bwd(torch, fn, x, *args):
    """torch forward + autograd backward on a leaf that requires grad."""
    def run():
        x.grad = None
        fn(x, *args).backward()
    return run


def _aten_cross_entropy_fwd_bwd(torch, logits, target):
    """torch's cross-entropy forward + backward through the aten kernels autograd
    would call, without the autograd graph: faster than loss.backward() here."""
    aten = torch.ops.aten
    one = torch.ones(())

    def run():
        lp = aten._log_softmax(logits, 1, False)
        loss, total_weight = aten.nll_loss_forward(lp, target, None, 1, -100)
        g = aten.nll_loss_backward(one, lp, target, None, 1, -100, total_weight)
        return loss, aten._log_softmax_backward_data(g, lp, 1, logits.dtype)
    return run


def cases(quick, peers):
    torch = peers.torch
    out = []
    rng = np.random.default_rng(0)
    n = 10**7
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    ew = [("l1_loss", fp.l1_loss, fp.l1_loss_backward, "l1_loss"),
          ("mse_loss", fp.mse_loss, fp.mse_loss_backward, "mse_loss"),
          ("smooth_l1_loss", fp.smooth_l1_loss, fp.smooth_l1_loss_backward, "smooth_l1_loss")]
    for name, f, fb, tname in ew:
        if torch is not None:
            F = torch.nn.functional
            tf = getattr(F, tname)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            tal = ta.clone().requires_grad_()
            peer_f, peer_fb, pname = (lambda tf=tf, ta=ta, tb=tb: tf(ta, tb)), _fwd_bwd(torch, tf, tal, tb), "torch"
        else:
            if name == "l1_loss":
                peer_f = lambda: np.abs(a - b).mean()
                peer_fb = lambda: (np.abs(a - b).mean(), np.sign(a - b) / n)
            elif name == "mse_loss":
                peer_f = lambda: np.square(a - b).mean()
                peer_fb = lambda: (np.square(a - b).mean(), 2 * (a - b) / n)
            else:
                def peer_f():
                    ad = np.abs(a - b)
                    return np.where(ad < 1, 0.5 * ad * ad, ad - 0.5).mean()
                def peer_fb():
                    d = a - b
                    return peer_f(), np.clip(d, -1, 1) / n
            pname = "numpy"
        out.append(Case("loss", f"{name} fwd 1e7", lambda f=f: f(a, b), peer_f, pname,
                        bytes=2 * a.nbytes, target=">=70% copy"))
        out.append(Case("loss", f"{name} fwd+bwd 1e7 (fused)", lambda f=f: f(a, b, return_grad=True), peer_fb,
                        pname, bytes=3 * a.nbytes, target=">=70% copy",
                        extra={"sep": lambda f=f, fb=fb: (f(a, b), fb(1.0, a, b))}))

    # cross-entropy (4096, 1000)
    N, C = (4096, 1000)
    logits = (rng.standard_normal((N, C), dtype=np.float32) * 2).astype(np.float32)
    labels = rng.integers(0, C, N)
    if torch is not None:
        F = torch.nn.functional
        tl = torch.from_numpy(logits).clone().requires_grad_()
        tt = torch.from_numpy(labels)
        peer_f = lambda: F.cross_entropy(tl.detach(), tt)
        peer_fb = _aten_cross_entropy_fwd_bwd(torch, tl.detach(), tt)
        pname = "torch"
    else:
        def peer_f():
            m = logits.max(1, keepdims=True)
            lse = np.log(np.exp(logits - m).sum(1)) + m[:, 0]
            return (lse - logits[np.arange(N), labels]).mean()
        def peer_fb():
            m = logits.max(1, keepdims=True)
            e = np.exp(logits - m)
            p = e / e.sum(1, keepdims=True)
            p[np.arange(N), labels] -= 1
            return p / N
        pname = "numpy"
    out.append(Case("loss", "cross_entropy fwd (4096,1000)", lambda: fp.cross_entropy(logits, labels), peer_f,
                    pname, bytes=logits.nbytes))
    out.append(Case("loss", "cross_entropy fwd+bwd (4096,1000)",
                    lambda: fp.cross_entropy(logits, labels, return_grad=True), peer_fb, pname,
                    bytes=2 * logits.nbytes, target=">=2x",
                    extra={"sep": lambda: (fp.cross_entropy(logits, labels),
                                           fp.cross_entropy_backward(1.0, logits, labels))}))
    if not quick:
        seg = rng.standard_normal((8, 21, 128, 128), dtype=np.float32)
        seg_t = rng.integers(0, 21, (8, 128, 128))
        if torch is not None:
            ts_ = torch.from_numpy(seg).clone().requires_grad_()
            peer = _fwd_bwd(torch, F.cross_entropy, ts_, torch.from_numpy(seg_t))
            out.append(Case("loss", "cross_entropy fwd+bwd (8,21,128,128)",
                            lambda: fp.cross_entropy(seg, seg_t, return_grad=True), peer, "torch",
                            bytes=2 * seg.nbytes))

    # sigmoid focal loss (100000, 80) and bce-with-logits on the same data
    fx = rng.standard_normal((100000, 80), dtype=np.float32)
    ft = (rng.random((100000, 80)) < 0.05).astype(np.float32)
    if torch is not None:
        F = torch.nn.functional
        tft = torch.from_numpy(ft)
        focal_fb = _fwd_bwd(torch, lambda x, t: _tv_sigmoid_focal(torch, F, x, t),
                            torch.from_numpy(fx).clone().requires_grad_(), tft)
        bce_fb = _fwd_bwd(torch, F.binary_cross_entropy_with_logits,
                          torch.from_numpy(fx).clone().requires_grad_(), tft)
        pname = "torch"
    else:
        def _np_logits(x, t):
            e = np.exp(-np.abs(x))
            p = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
            ce = (1 - t) * x + np.maximum(-x, 0) + np.log1p(e)
            return p, ce

        def focal_fb():
            p, ce = _np_logits(fx, ft)
            q = ft * (1 - p) + (1 - ft) * p
            at = 0.25 * ft + 0.75 * (1 - ft)
            loss = (at * ce * q * q).mean()
            grad = at * ((p - ft) * q * q - 2 * ce * q * (2 * ft - 1) * p * (1 - p)) / fx.size
            return loss, grad

        def bce_fb():
            p, ce = _np_logits(fx, ft)
            return ce.mean(), (p - ft) / fx.size
        pname = "numpy"
    out.append(Case("loss", "sigmoid_focal_loss fwd+bwd (1e5,80)",
                    lambda: fp.sigmoid_focal_loss(fx, ft, reduction="mean", return_grad=True), focal_fb, pname,
                    bytes=3 * fx.nbytes, target=">=5x"))
    out.append(Case("loss", "bce_with_logits fwd+bwd (1e5,80)",
                    lambda: fp.binary_cross_entropy_with_logits(fx, ft, return_grad=True), bce_fb, pname,
                    bytes=3 * fx.nbytes))

    # nll on log-probabilities
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    if torch is not None:
        nll_fb = _fwd_bwd(torch, torch.nn.functional.nll_loss, torch.from_numpy(logp).clone().requires_grad_(),
                          torch.from_numpy(labels))
    else:
        def nll_fb():
            g = np.zeros_like(logp)
            g[np.arange(N), labels] = -1.0 / N
            return -logp[np.arange(N), labels].mean(), g
    out.append(Case("loss", "nll_loss fwd+bwd (4096,1000)", lambda: fp.nll_loss(logp, labels, return_grad=True),
                    nll_fb, pname, bytes=logp.nbytes))

    # PPO: 1e6 transitions
    m = 10**6
    new, old = rng.standard_normal(m, dtype=np.float32) * 0.1, rng.standard_normal(m, dtype=np.float32) * 0.1
    adv, val, ret, ent = (rng.standard_normal(m, dtype=np.float32) for _ in range(4))
    if torch is not None:
        tn = torch.from_numpy(new).clone().requires_grad_()
        tv = torch.from_numpy(val).clone().requires_grad_()
        te = torch.from_numpy(ent).clone().requires_grad_()
        to, tadv, tr = torch.from_numpy(old), torch.from_numpy(adv), torch.from_numpy(ret)

        def ppo_fb():
            tn.grad = tv.grad = te.grad = None
            r = torch.exp(tn - to)
            pl = -torch.min(r * tadv, torch.clamp(r, 0.8, 1.2) * tadv).mean()
            vl = ((tv - tr) ** 2).mean()
            el = te.mean()
            (pl + 0.5 * vl - 0.01 * el).backward()
    else:
        def ppo_fb():
            r = np.exp(new - old)
            s1, s2 = r * adv, np.clip(r, 0.8, 1.2) * adv
            pl = -np.minimum(s1, s2).mean()
            vl = np.square(val - ret).mean()
            return (pl + 0.5 * vl - 0.01 * ent.mean(),
                    np.where(s1 <= s2, -s1, 0) / m, (val - ret) / m, np.full(m, -0.01 / m, np.float32))
    out.append(Case("loss", "ppo_clip_loss fwd+bwd 1e6",
                    lambda: fp.ppo_clip_loss(new, old, adv, val, ret, ent, return_grad=True), ppo_fb, pname,
                    bytes=new.nbytes * 9))
    return out
