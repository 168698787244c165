"""Hand-written NumPy references of the benchmark models: what a careful engineer writes
without a framework (float32, in-place Adam, im2col convolution). ember is measured against
these and against PyTorch in the same run."""
import numpy as np


class Adam:
    """In-place Adam over a list of arrays (PyTorch's algorithm, no weight decay)."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        step = self.lr / (1 - b1**t)
        bc2 = np.sqrt(1 - b2**t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= bc2
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step
            p -= tmp


def _init(rng, fan_in, shape):
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _softmax_xent_grad(z, y):
    """Mean cross-entropy of logits z (N, C) with labels y, and d(loss)/dz."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(np.log(s[:, 0]).sum() - z[np.arange(n), y].sum()) / n
    e /= s
    e[np.arange(n), y] -= 1
    e /= n
    return loss, e


class MLP:
    """784-256-128-10 ReLU MLP, manual forward/backward."""

    def __init__(self, sizes=(784, 256, 128, 10), seed=0):
        rng = np.random.default_rng(seed)
        self.W = [_init(rng, i, (o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
        self.b = [_init(rng, i, (o,)) for i, o in zip(sizes[:-1], sizes[1:])]
        self.opt = Adam(self.W + self.b)

    def forward(self, x):
        h = x
        for k, (W, b) in enumerate(zip(self.W, self.b)):
            h = h @ W.T
            h += b
            if k < len(self.W) - 1:
                np.maximum(h, 0, out=h)
        return h

    def train_step(self, x, y):
        acts = [x]
        h = x
        for k, (W, b) in enumerate(zip(self.W, self.b)):
            h = h @ W.T
            h += b
            if k < len(self.W) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        loss, g = _softmax_xent_grad(acts[-1], y)
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for k in reversed(range(len(self.W))):
            gW[k] = g.T @ acts[k]
            gb[k] = g.sum(axis=0)
            if k:
                g = g @ self.W[k]
                g *= acts[k] > 0
        self.opt.step(gW + gb)
        return loss


def _im2col(x, k):
    """(N, C, H, W) -> (N*OH*OW, C*k*k) for a k x k stride-1 valid convolution."""
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N C OH OW k k
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * k * k), oh, ow


def _col2im(cols, shape, k):
    n, c, h, w = shape
    oh, ow = h - k + 1, w - k + 1
    cols = cols.reshape(n, oh, ow, c, k, k)
    gx = np.zeros(shape, cols.dtype)
    for i in range(k):
        for j in range(k):
            gx[:, :, i : i + oh, j : j + ow] += cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return gx


def _pool_fwd(x):
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    xr = x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2)
    out = xr.max(axis=(3, 5))
    mask = xr == out[:, :, :, None, :, None]
    return out, mask


def _pool_bwd(g, mask, shape):
    n, c, h, w = shape
    h2, w2 = h // 2, w // 2
    gx = np.zeros(shape, g.dtype)
    gx[:, :, : 2 * h2, : 2 * w2] = (mask * g[:, :, :, None, :, None]).reshape(n, c, 2 * h2, 2 * w2)
    return gx


class CNN:
    """Keras mnist_convnet: Conv 32 3x3, ReLU, pool, Conv 64 3x3, ReLU, pool, Linear 1600 -> 10
    (dropout left out: it is cheap and the reference stays minimal)."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = _init(rng, 9, (32, 9))
        self.b1 = _init(rng, 9, (32,))
        self.W2 = _init(rng, 288, (64, 288))
        self.b2 = _init(rng, 288, (64,))
        self.W3 = _init(rng, 1600, (10, 1600))
        self.b3 = _init(rng, 1600, (10,))
        self.params = [self.W1, self.b1, self.W2, self.b2, self.W3, self.b3]
        self.opt = Adam(self.params)

    def _conv(self, x, W, b):
        cols, oh, ow = _im2col(x, 3)
        y = cols @ W.T
        y += b
        np.maximum(y, 0, out=y)
        return cols, y.reshape(x.shape[0], oh, ow, -1).transpose(0, 3, 1, 2)

    def forward(self, x):
        _, a1 = self._conv(x, self.W1, self.b1)
        p1, _ = _pool_fwd(a1)
        _, a2 = self._conv(np.ascontiguousarray(p1), self.W2, self.b2)
        p2, _ = _pool_fwd(a2)
        return p2.reshape(len(x), -1) @ self.W3.T + self.b3

    def train_step(self, x, y):
        n = len(x)
        c1, a1 = self._conv(x, self.W1, self.b1)
        p1, m1 = _pool_fwd(a1)
        p1 = np.ascontiguousarray(p1)
        c2, a2 = self._conv(p1, self.W2, self.b2)
        p2, m2 = _pool_fwd(a2)
        f = p2.reshape(n, -1)
        z = f @ self.W3.T + self.b3
        loss, g = _softmax_xent_grad(z, y)
        gW3, gb3 = g.T @ f, g.sum(0)
        gf = (g @ self.W3).reshape(p2.shape)
        ga2 = _pool_bwd(gf, m2, a2.shape) * (a2 > 0)
        g2 = ga2.transpose(0, 2, 3, 1).reshape(-1, 64)
        gW2, gb2 = g2.T @ c2, g2.sum(0)
        gp1 = _col2im(g2 @ self.W2, p1.shape, 3)
        ga1 = _pool_bwd(gp1, m1, a1.shape) * (a1 > 0)
        g1 = ga1.transpose(0, 2, 3, 1).reshape(-1, 32)
        gW1, gb1 = g1.T @ c1, g1.sum(0)
        self.opt.step([gW1, gb1, gW2, gb2, gW3, gb3])
        return loss
