"""Layers with explicit forward/backward on the fastprims kernels.

Design:
- Every model's parameters live in ONE contiguous flat buffer
  (model.flat_params) and their gradients in another (model.flat_grads);
  each layer's weight/bias are views into them. A standalone layer owns its
  buffers; Sequential copies its children's values into fresh buffers of its
  own and re-points every child (recursively) at views of them, so the
  outermost container's buffers cover the whole model. One call can then
  average, clip or update every gradient (fastprims.optim takes the Module).
- forward(x) caches what backward needs; backward(grad_out) returns the
  gradient of the input and ADDS the parameter gradients into flat_grads
  (accumulation as torch; zero_grad() clears them).
- Initialization is torch's default: Linear/Conv2d weights and biases
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5));
  BatchNorm gamma=1, beta=0, running stats (0, 1). Random draws come from a
  module-level NumPy generator reset by manual_seed(seed) (seed 0 at import),
  or from a layer's own seed= argument.
- Buffers that are not trained (BatchNorm running stats) are not in the flat
  parameter vector; state_dict() holds parameters and buffers by dotted name.
- Dropout draws a fresh kernel seed per training forward from its generator:
  reproducible for a given seed.
"""
import math

import numpy as np

__all__ = ["manual_seed", "Module", "Sequential", "Linear", "ReLU", "LeakyReLU", "Flatten", "Dropout",
           "Conv2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]

_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the generator that initializes layers created without seed=."""
    global _rng
    _rng = np.random.default_rng(seed)


def _fp():
    import fastprims
    return fastprims


def _gen(seed):
    return _rng if seed is None else np.random.default_rng(seed)


def _dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _pos_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


def _pair(v, name, minimum):
    t = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(t) != 2 or any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < minimum for e in t):
        raise ValueError(f"{name} must be an int or a pair of ints >= {minimum}, got {v!r}")
    return (int(t[0]), int(t[1]))


class Module:
    """Base class. Subclasses declare parameters with _param(name, init_array)
    in __init__, then call _finish_params(); they implement forward/backward
    and, for summary(), output_shape(in_shape), flops(in_shape) and rf()."""

    def __init__(self, dtype=np.float32):
        self.dtype = _dtype(dtype)
        self.training = True
        self._param_names = []
        self._init = {}
        self.flat_params = np.empty(0, self.dtype)
        self.flat_grads = np.empty(0, self.dtype)
        self._views = {}
        self._gviews = {}

    # ----- parameters
    def _param(self, name, value):
        self._param_names.append(name)
        self._init[name] = np.asarray(value, self.dtype)

    def _finish_params(self):
        n = sum(v.size for v in self._init.values())
        fp_, fg = np.empty(n, self.dtype), np.zeros(n, self.dtype)
        off = 0
        for name in self._param_names:
            v = self._init[name]
            fp_[off:off + v.size] = v.ravel()
            off += v.size
        self._bind(fp_, fg, 0)
        self._init = {}

    def _children(self):
        return []

    def _own_size(self):
        return sum(self._views[n].size for n in self._param_names) if self._views else 0

    def num_parameters(self):
        return self.flat_params.size

    def _bind(self, flat_p, flat_g, offset):
        """Point this module's (and its children's) parameters at flat_p/flat_g
        starting at `offset`, copying the current values; returns the end offset."""
        start = offset
        for name in self._param_names:
            old = self._views.get(name)
            shape = old.shape if old is not None else self._init[name].shape
            size = int(np.prod(shape, dtype=np.int64))
            pv = flat_p[offset:offset + size].reshape(shape)
            gv = flat_g[offset:offset + size].reshape(shape)
            if old is not None and pv is not old:
                pv[...] = old
                gv[...] = self._gviews[name]
            self._views[name] = pv
            self._gviews[name] = gv
            offset += size
        for child in self._children():
            offset = child._bind(flat_p, flat_g, offset)
        self.flat_params = flat_p[start:offset]
        self.flat_grads = flat_g[start:offset]
        return offset

    def __getattr__(self, name):
        views = self.__dict__.get("_views")
        if views is not None and name in views:
            return views[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        # assigning a parameter copies into its view: rebinding the attribute
        # would silently detach it from the flat buffers
        views = self.__dict__.get("_views")
        if views is not None and name in views:
            v = np.asarray(value)
            if v.shape != views[name].shape:
                raise ValueError(f"{name} must have shape {views[name].shape}, got {v.shape}")
            views[name][...] = v
            return
        object.__setattr__(self, name, value)

    def grad(self, name):
        """Gradient view of parameter `name`."""
        return self._gviews[name]

    def named_parameters(self, prefix=""):
        for name in self._param_names:
            yield prefix + name, self._views[name]
        for i, child in enumerate(self._children()):
            yield from child.named_parameters(f"{prefix}{i}.")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_gradients(self, prefix=""):
        for name in self._param_names:
            yield prefix + name, self._gviews[name]
        for i, child in enumerate(self._children()):
            yield from child.named_gradients(f"{prefix}{i}.")

    def gradients(self):
        return [g for _, g in self.named_gradients()]

    def zero_grad(self):
        self.flat_grads.fill(0)

    def _buffers(self):
        return {}

    def named_buffers(self, prefix=""):
        for k, v in self._buffers().items():
            yield prefix + k, v
        for i, child in enumerate(self._children()):
            yield from child.named_buffers(f"{prefix}{i}.")

    # ----- modes and state
    def train(self, mode=True):
        self.training = bool(mode)
        for child in self._children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        sd = {k: v.copy() for k, v in self.named_parameters()}
        sd.update({k: np.array(v, copy=True) for k, v in self.named_buffers()})
        return sd

    def load_state_dict(self, state_dict, strict=True):
        own = dict(self.named_parameters())
        own.update(dict(self.named_buffers()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"state_dict does not match the model: missing {missing}, unexpected {unexpected}")
        for k, v in state_dict.items():
            if k not in own:
                continue
            v = np.asarray(v)
            if v.shape != own[k].shape:
                raise ValueError(f"state_dict[{k!r}] has shape {v.shape}, the model's is {own[k].shape}")
            own[k][...] = v

    # ----- computation
    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def _input(self, x):
        a = np.asarray(x)
        if a.dtype != self.dtype:
            raise TypeError(f"{type(self).__name__} has {self.dtype} parameters, got input of dtype {a.dtype}")
        return a

    def _cached(self, name):
        v = self.__dict__.get(name)
        if v is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return v

    # ----- summary
    def output_shape(self, in_shape):
        return tuple(in_shape)

    def flops(self, in_shape):
        return 0

    def rf(self):
        """(kernel, stride, dilation) of the layer for receptive fields; None if
        it mixes all positions (Flatten, Linear, global pooling)."""
        return (1, 1, 1)

    def _rows(self, in_shape, rf_state, prefix):
        out = self.output_shape(in_shape)
        rf, jump = rf_state
        k = self.rf()
        if k is None or rf is None:
            rf_state = (None, None)
        else:
            keff = k[2] * (k[0] - 1) + 1
            rf_state = (rf + (keff - 1) * jump, jump * k[1])
        name = prefix + type(self).__name__
        return [(name, out, self._own_size(), self.flops(in_shape), rf_state[0])], out, rf_state

    def summary(self, input_shape, print_fn=print):
        """Table of layer, output shape, parameters, FLOPs (multiply-add = 2)
        and receptive field (input pixels seen by one output pixel; 'all' once
        a layer mixes all positions), with totals. input_shape: (C, H, W),
        (N, C, H, W) or (N, features); N defaults to 1. Returns the text."""
        shape = tuple(int(s) for s in input_shape)
        if len(shape) == 3:
            shape = (1,) + shape
        rows, out, _ = self._rows(shape, (1, 1), "")
        header = ("Layer", "Output shape", "Params", "FLOPs", "RF")
        body = [(n, str(tuple(s)), f"{p:,}", f"{f:,}", "all" if r is None else str(r)) for n, s, p, f, r in rows]
        total_p = sum(r[2] for r in rows)
        total_f = sum(r[3] for r in rows)
        footer = ("Total", str(tuple(out)), f"{total_p:,}", f"{total_f:,}", "")
        widths = [max(len(str(r[i])) for r in [header, footer] + body) for i in range(5)]

        def fmt(r):
            return "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        line = "-" * len(fmt(header))
        text = "\n".join([fmt(header), line] + [fmt(r) for r in body] + [line, fmt(footer),
                         f"parameters: {total_p:,} ({total_p * self.dtype.itemsize:,} bytes, {self.dtype}); "
                         f"input {shape}"])
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""


class Sequential(Module):
    """Layers applied in order; owns the flat buffers of all of them."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, l in enumerate(layers):
            if not isinstance(l, Module):
                raise TypeError(f"layer {i} is not a fastprims.nn.Module: {type(l).__name__}")
        for i, l in enumerate(layers):
            # a layer's weights are views into ONE container's buffers: sharing it
            # would silently detach it from the first container
            if l.__dict__.get("_parent") is not None or sum(m is l for m in layers) > 1:
                raise ValueError(f"layer {i} ({type(l).__name__}) already belongs to a container; "
                                 f"a layer can be used once (build another one to repeat it)")
        dtypes = {l.dtype for l in layers}
        if len(dtypes) > 1:
            raise TypeError(f"all layers must have one dtype, got {sorted(str(d) for d in dtypes)}")
        super().__init__(layers[0].dtype if layers else np.float32)
        self.layers = list(layers)
        for l in self.layers:
            l._parent = self
        n = sum(l.num_parameters() for l in self.layers)
        self._bind(np.empty(n, self.dtype), np.zeros(n, self.dtype), 0)

    def _children(self):
        return self.__dict__.get("layers", [])

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def forward(self, x):
        for l in self.layers:
            x = l.forward(x)
        return x

    def backward(self, grad_out):
        for l in reversed(self.layers):
            grad_out = l.backward(grad_out)
        return grad_out

    def output_shape(self, in_shape):
        for l in self.layers:
            in_shape = l.output_shape(in_shape)
        return in_shape

    def flops(self, in_shape):
        total = 0
        for l in self.layers:
            total += l.flops(in_shape)
            in_shape = l.output_shape(in_shape)
        return total

    def _rows(self, in_shape, rf_state, prefix):
        rows = []
        for i, l in enumerate(self.layers):
            r, in_shape, rf_state = l._rows(in_shape, rf_state, f"{prefix}{i}.")
            rows += r
        return rows, in_shape, rf_state

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {l!r}" for i, l in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


class Linear(Module):
    """y = x @ weight.T + bias; x (..., in_features). GEMM via NumPy matmul."""

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, seed=None):
        super().__init__(dtype)
        self.in_features = _pos_int(in_features, "in_features")
        self.out_features = _pos_int(out_features, "out_features")
        self.has_bias = bool(bias)
        rng = _gen(seed)
        bound = 1.0 / math.sqrt(self.in_features)
        self._param("weight", rng.uniform(-bound, bound, (self.out_features, self.in_features)))
        if self.has_bias:
            self._param("bias", rng.uniform(-bound, bound, self.out_features))
        self._finish_params()
        self._x = None

    def forward(self, x):
        a = self._input(x)
        if a.ndim < 1 or a.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects input (..., {self.in_features}), got shape {a.shape}")
        self._x = a
        y = a @ self.weight.T
        if self.has_bias:
            y += self.bias
        return y

    def backward(self, grad_out):
        x = self._cached("_x")
        g = np.asarray(grad_out, self.dtype)
        g2 = g.reshape(-1, self.out_features)
        x2 = x.reshape(-1, self.in_features)
        self.grad("weight")[...] += g2.T @ x2
        if self.has_bias:
            self.grad("bias")[...] += g2.sum(axis=0)
        return (g2 @ self.weight).reshape(x.shape)

    def output_shape(self, in_shape):
        return tuple(in_shape[:-1]) + (self.out_features,)

    def flops(self, in_shape):
        rows = int(np.prod(in_shape[:-1], dtype=np.int64))
        return 2 * rows * self.in_features * self.out_features + (rows * self.out_features if self.has_bias else 0)

    def rf(self):
        return None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.has_bias}"


class ReLU(Module):
    def __init__(self, *, dtype=np.float32):
        super().__init__(dtype)
        self._x = None

    def forward(self, x):
        self._x = self._input(x)
        return _fp().relu(self._x)

    def backward(self, grad_out):
        return _fp().relu_backward(grad_out, self._cached("_x"))

    def flops(self, in_shape):
        return int(np.prod(in_shape, dtype=np.int64))


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, *, dtype=np.float32):
        super().__init__(dtype)
        self.negative_slope = float(negative_slope)
        self._x = None

    def forward(self, x):
        self._x = self._input(x)
        return _fp().leaky_relu(self._x, self.negative_slope)

    def backward(self, grad_out):
        return _fp().leaky_relu_backward(grad_out, self._cached("_x"), self.negative_slope)

    def flops(self, in_shape):
        return int(np.prod(in_shape, dtype=np.int64))

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def __init__(self, *, dtype=np.float32):
        super().__init__(dtype)
        self._shape = None

    def forward(self, x):
        a = self._input(x)
        if a.ndim < 1:
            raise ValueError(f"Flatten expects a batch (N, ...), got shape {a.shape}")
        self._shape = a.shape
        return a.reshape(a.shape[0], -1)

    def backward(self, grad_out):
        return np.asarray(grad_out).reshape(self._cached("_shape"))

    def output_shape(self, in_shape):
        return (in_shape[0], int(np.prod(in_shape[1:], dtype=np.int64)))

    def rf(self):
        return None


class Dropout(Module):
    """torch.nn.Dropout: in training zero with probability p and scale by
    1/(1-p); identity in eval mode."""

    def __init__(self, p=0.5, *, dtype=np.float32, seed=None):
        super().__init__(dtype)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
        self.p = float(p)
        self._rng = np.random.default_rng(_gen(seed).integers(2**63))
        self._mask = None

    def forward(self, x):
        a = self._input(x)
        if not self.training or self.p == 0.0:
            self._mask = False
            return a
        y, self._mask = _fp().dropout(a, self.p, True, int(self._rng.integers(2**63)))
        return y

    def backward(self, grad_out):
        mask = self._mask
        if mask is None:
            raise RuntimeError("Dropout.backward called before forward")
        if mask is False:
            return np.asarray(grad_out)
        return _fp().dropout_backward(grad_out, mask, self.p)

    def extra_repr(self):
        return f"p={self.p}"


class Conv2d(Module):
    """torch.nn.Conv2d on fastprims.conv2d / conv2d_backward (NCHW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, *, algorithm="auto", dtype=np.float32, seed=None):
        super().__init__(dtype)
        self.in_channels = _pos_int(in_channels, "in_channels")
        self.out_channels = _pos_int(out_channels, "out_channels")
        self.groups = _pos_int(groups, "groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"in_channels={in_channels} and out_channels={out_channels} must be divisible "
                             f"by groups={groups}")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", 0)
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        self.dilation = _pair(dilation, "dilation", 1)
        self.algorithm = algorithm
        self.has_bias = bool(bias)
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in)
        rng = _gen(seed)
        self._param("weight", rng.uniform(-bound, bound, (self.out_channels, self.in_channels // self.groups, kh, kw)))
        if self.has_bias:
            self._param("bias", rng.uniform(-bound, bound, self.out_channels))
        self._finish_params()
        self._x = None

    def _args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    def forward(self, x):
        self._x = self._input(x)
        return _fp().conv2d(self._x, self.weight, self.bias if self.has_bias else None, **self._args(),
                            algorithm=self.algorithm)

    def backward(self, grad_out):
        x = self._cached("_x")
        gx, gw, gb = _fp().conv2d_backward(grad_out, x, self.weight, **self._args(), algorithm=self.algorithm,
                                           needs_input_grad=(True, True, self.has_bias))
        self.grad("weight")[...] += gw
        if self.has_bias:
            self.grad("bias")[...] += gb
        return gx

    def _pads(self, h, w):
        if self.padding == "valid":
            return (0, 0), (0, 0)
        if self.padding == "same":
            tot = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            return (tot[0] // 2, tot[0] - tot[0] // 2), (tot[1] // 2, tot[1] - tot[1] // 2)
        return (self.padding[0],) * 2, (self.padding[1],) * 2

    def output_shape(self, in_shape):
        n, _, h, w = in_shape
        ph, pw = self._pads(h, w)
        oh = (h + sum(ph) - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
        ow = (w + sum(pw) - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
        return (n, self.out_channels, oh, ow)

    def flops(self, in_shape):
        n, _, oh, ow = self.output_shape(in_shape)
        per_out = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        outs = n * self.out_channels * oh * ow
        return 2 * outs * per_out + (outs if self.has_bias else 0)

    def rf(self):
        return (self.kernel_size[0], self.stride[0], self.dilation[0])

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, bias={self.has_bias}")


class BatchNorm2d(Module):
    """torch.nn.BatchNorm2d: batch statistics in training (running stats
    updated with momentum, unbiased variance), running stats in eval."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=np.float32):
        super().__init__(dtype)
        self.num_features = _pos_int(num_features, "num_features")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        if self.affine:
            self._param("weight", np.ones(self.num_features))
            self._param("bias", np.zeros(self.num_features))
        self._finish_params()
        if self.track_running_stats:
            self.running_mean = np.zeros(self.num_features, self.dtype)
            self.running_var = np.ones(self.num_features, self.dtype)
        else:
            self.running_mean = self.running_var = None
        self._cache = None

    def _buffers(self):
        if not self.track_running_stats:
            return {}
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x):
        a = self._input(x)
        if a.ndim != 4 or a.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d expects (N, {self.num_features}, H, W), got shape {a.shape}")
        use_batch = self.training or not self.track_running_stats
        y, mean, invstd = _fp().batch_norm(a, self.weight if self.affine else None,
                                           self.bias if self.affine else None, self.running_mean,
                                           self.running_var, self.training, self.momentum, self.eps)
        self._cache = (a, mean, invstd, use_batch)
        return y

    def backward(self, grad_out):
        a, mean, invstd, use_batch = self._cached("_cache")
        gx, gg, gb = _fp().batch_norm_backward(grad_out, a, self.weight if self.affine else None, mean, invstd,
                                               use_batch)
        if self.affine:
            self.grad("weight")[...] += gg
            self.grad("bias")[...] += gb
        return gx

    def flops(self, in_shape):
        return 2 * int(np.prod(in_shape, dtype=np.int64))

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class _Pool(Module):
    def __init__(self, kernel_size, stride, padding, dilation, ceil_mode, dtype):
        super().__init__(dtype)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)
        self.ceil_mode = bool(ceil_mode)
        self._cache = None

    def output_shape(self, in_shape):
        dims = []
        for size, k, s, p, d in zip(in_shape[-2:], self.kernel_size, self.stride, self.padding, self.dilation):
            span = size + 2 * p - d * (k - 1) - 1
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= size + p:
                o -= 1
            dims.append(o)
        return tuple(in_shape[:-2]) + tuple(dims)

    def flops(self, in_shape):
        return int(np.prod(self.output_shape(in_shape), dtype=np.int64)) * self.kernel_size[0] * self.kernel_size[1]

    def rf(self):
        return (self.kernel_size[0], self.stride[0], self.dilation[0])

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, dtype=np.float32):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, dtype)

    def forward(self, x):
        a = self._input(x)
        y, idx = _fp().max_pool2d(a, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                  return_indices=True)
        self._cache = (a.shape, idx)
        return y

    def backward(self, grad_out):
        shape, idx = self._cached("_cache")
        return _fp().max_pool2d_backward(grad_out, idx, shape)


class AvgPool2d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None, *, dtype=np.float32):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, dtype)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def _args(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                self.divisor_override)

    def forward(self, x):
        a = self._input(x)
        self._cache = a.shape
        return _fp().avg_pool2d(a, *self._args())

    def backward(self, grad_out):
        return _fp().avg_pool2d_backward(grad_out, self._cached("_cache"), *self._args())


class GlobalAvgPool2d(Module):
    """Mean over H and W: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, *, dtype=np.float32):
        super().__init__(dtype)
        self._shape = None

    def forward(self, x):
        a = self._input(x)
        self._shape = a.shape
        return _fp().global_avg_pool2d(a)

    def backward(self, grad_out):
        return _fp().global_avg_pool2d_backward(grad_out, self._cached("_shape"))

    def output_shape(self, in_shape):
        return tuple(in_shape[:-2]) + (1, 1)

    def flops(self, in_shape):
        return int(np.prod(in_shape, dtype=np.int64))

    def rf(self):
        return None
