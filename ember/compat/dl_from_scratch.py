"""DL-From-Scratch's API (``Layer``, ``Network``), with ember's autograd doing the math.

Code written for the seed runs with one changed import::

    from ember.compat.dl_from_scratch import Layer, Network

    net = Network([Layer(500, 300, 'relu'), Layer(300, 50, 'relu'), Layer(50, 10, 'softmax')])
    output = net.forward(x)            # x: (500, N) columns -> (10, N)
    for (dC_dW, dC_db), l in zip(net.grad(y, x), net.layers):
        l.W -= lr * dC_dW
        l.b -= lr * dC_db

Layout is the seed's: samples are columns, ``W`` is (input_dim, output_dim) and a layer
computes ``f(W.T @ x + b)`` with ``b`` of shape (output_dim, 1). ``l.W`` and ``l.b`` are plain
float64 ndarrays (float32 if you assign float32 arrays or pass ``dtype=np.float32``), backed by
ember Parameters: ``Network`` is an ``ember.nn.Module`` (``parameters()``, ``state_dict()``
with keys ``'0.W'``, ``'0.b'``...), and ``grad`` is ``cost(y, x).backward()``, not a second
hand-written backprop.
"""
import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from .._tensor import Tensor
from ._common import ArrayModule, ArrayParam, as_float_array, check_columns, check_dims, torch_linear_init
from .activations import ACTIVATIONS, apply_activation, get_activation, log_softmax_columns

__all__ = ["Layer", "Network", "LOSSES", "OPTIMIZERS", "ACTIVATIONS"]


class Layer(ArrayModule):
    """A fully connected layer on column vectors: ``out = f(W.T @ x + b)``.

    Args:
        input_dim, output_dim: sizes of the input and output columns.
        activation: a name in ``ACTIVATIONS`` ('relu', 'sigmoid', 'tanh', 'softmax',
            'linear', or one you added), or None for 'linear'.
        dtype: of the parameters, float64 (NumPy's default) unless given.

    Shape:
        x: (input_dim, N) or (input_dim,); out: (output_dim, N).
        W: (input_dim, output_dim); b: (output_dim, 1). Initialized like PyTorch's Linear,
        uniform on +-1/sqrt(input_dim).
    """

    W = ArrayParam()
    b = ArrayParam()

    def __init__(self, input_dim, output_dim, activation=None, dtype=np.float64):
        super().__init__()
        check_dims(f"Layer({input_dim!r}, {output_dim!r})", input_dim=input_dim, output_dim=output_dim)
        get_activation(activation, f"Layer({input_dim}, {output_dim})")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Layer({input_dim}, {output_dim}): dtype must be a float type, got {dtype}")
        self.input_dim, self.output_dim, self.activation = int(input_dim), int(output_dim), activation
        self._init_param("W", torch_linear_init(input_dim, (input_dim, output_dim), dtype))
        self._init_param("b", torch_linear_init(input_dim, (output_dim, 1), dtype))

    def extra_repr(self):
        return f"{self.input_dim} -> {self.output_dim}, activation={self.activation!r}"

    def _columns(self, x):
        """x as a Tensor of columns in the parameters' dtype (not on the graph)."""
        if isinstance(x, Tensor) and x._data.ndim == 2 and x.shape[0] == self.input_dim:
            return x if x.dtype == self.W.dtype else x.astype(self.W.dtype)
        arr = check_columns(self, x, self.input_dim)
        return Tensor(arr.astype(self.W.dtype, copy=False))

    def pre_activation(self, x):
        """``W.T @ x + b`` as a Tensor on the autograd graph."""
        w, b = self._parameters["W"], self._parameters["b"]
        return w.T @ self._columns(x) + b

    def forward_tensor(self, x):
        """The layer's output as a Tensor on the autograd graph (``forward`` gives the array)."""
        return apply_activation(get_activation(self.activation, repr(self)), self.pre_activation(x))

    def forward(self, x):
        """The layer's output ``f(W.T @ x + b)`` as an ndarray of shape (output_dim, N)."""
        with no_grad():
            return self.forward_tensor(x)._data


def cross_entropy(out, y):
    """Mean over the columns of ``-sum(y * log(out))``."""
    return -(y * out.log()).sum(axis=0).mean()


def squared_error(out, y):
    """Mean over the columns of ``sum((out - y) ** 2)``."""
    return ((out - y) ** 2).sum(axis=0).mean()


def mse(out, y):
    """Mean over every element of ``(out - y) ** 2``, like PyTorch's ``MSELoss``."""
    return ((out - y) ** 2).mean()


LOSSES = {"cross_entropy": cross_entropy, "squared_error": squared_error, "mse": mse}


# fit's optimizer names: name -> (ember.optim class, its extra arguments, lr when fit's lr is None)
OPTIMIZERS = {
    "sgd": ("SGD", {}, 0.01),
    "momentum": ("SGD", {"momentum": 0.9}, 0.01),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, 0.01),
    "adam": ("Adam", {}, 0.001),
}


class Network(Module):
    """Layers run in order on columns, with the cost that ``grad`` differentiates.

    Args:
        layers: a list of ``Layer``; each one's input_dim must be the previous output_dim.
        loss: None picks the seed's cost: when the last layer is softmax, the mean over the N
            columns of the cross-entropy ``-sum(y * log(out))`` (computed from the logits, so
            it stays finite when a probability underflows); otherwise the mean over the
            columns of the squared error ``sum((out - y) ** 2)``. A name in ``LOSSES``
            ('cross_entropy', 'squared_error', 'mse': mean over every element) or a function
            ``loss(out, y) -> scalar Tensor`` on ember Tensors of shape (output_dim, N)
            picks another.

    Attributes:
        layers: the list of layers, as given.
    """

    def __init__(self, layers, loss=None):
        super().__init__()
        layers = list(layers)
        if not layers:
            raise ValueError("Network needs at least one Layer, got an empty list")
        for i, l in enumerate(layers):
            if not isinstance(l, Layer):
                raise TypeError(f"Network: layers[{i}] must be a Layer, got {type(l).__name__}")
            if i and l.input_dim != layers[i - 1].output_dim:
                raise ValueError(
                    f"Network: layers[{i}] = {l!r} takes {l.input_dim} inputs but layers[{i - 1}] = "
                    f"{layers[i - 1]!r} gives {layers[i - 1].output_dim} outputs"
                )
            self.add_module(str(i), l)
        if not (loss is None or callable(loss) or loss in LOSSES):
            valid = ", ".join(repr(k) for k in LOSSES)
            raise ValueError(f"Network: unknown loss {loss!r}; valid names are {valid}, None or a function")
        self.layers = layers
        self.loss = loss

    def forward_tensor(self, x):
        """The network's output as a Tensor on the autograd graph."""
        for l in self.layers:
            x = l.forward_tensor(x)
        return x

    def forward(self, x):
        """The output for ``x``, an ndarray: (output_dim, N) for (input_dim, N) columns,
        (output_dim,) for a 1-D input."""
        with no_grad():
            out = self.forward_tensor(x)._data
        return out.reshape(-1) if np.ndim(x) == 1 else out

    def _targets(self, y, n_cols, where):
        arr = as_float_array(y, f"{where}: y")
        m = self.layers[-1].output_dim
        if arr.ndim == 1 and arr.shape[0] == m and n_cols == 1:
            arr = arr.reshape(m, 1)
        if arr.shape != (m, n_cols):
            raise ValueError(f"{where}: y must have the output's shape ({m}, {n_cols}), got shape {tuple(arr.shape)}")
        return Tensor(arr.astype(self.layers[-1].W.dtype, copy=False))

    def cost_tensor(self, y, x):
        """The cost of ``x`` against targets ``y`` as a scalar Tensor on the autograd graph."""
        x = self.layers[0]._columns(x)
        y = self._targets(y, x.shape[1], "Network.cost")
        for l in self.layers[:-1]:
            x = l.forward_tensor(x)
        last = self.layers[-1]
        z = last.pre_activation(x)
        entry = get_activation(last.activation, repr(last))
        fn = LOSSES.get(self.loss, self.loss) if isinstance(self.loss, str) else self.loss
        softmax_last = entry is ACTIVATIONS.get("softmax")
        if fn is None:
            fn = cross_entropy if softmax_last else squared_error
        if fn is cross_entropy and softmax_last:
            return -(y * log_softmax_columns(z)).sum(axis=0).mean()
        out = fn(apply_activation(entry, z), y)
        if not isinstance(out, Tensor) or out._data.size != 1:
            raise TypeError(f"Network: the loss function must return a scalar ember Tensor, got {out!r}")
        return out

    def cost(self, y, x):
        """The cost that ``grad`` differentiates, as a float (see the class docstring)."""
        with no_grad():
            return float(self.cost_tensor(y, x)._data)

    def grad(self, y, x):
        """Gradients of ``cost(y, x)``: a list with one ``(dC_dW, dC_db)`` pair per layer,
        of the shapes of ``W`` and ``b``. Leaves the parameters' ``.grad`` empty."""
        params = [(l._parameters["W"], l._parameters["b"]) for l in self.layers]
        self.zero_grad()
        self.cost_tensor(y, x).backward()
        grads = [(_grad_or_zeros(w), _grad_or_zeros(b)) for w, b in params]
        self.zero_grad()
        return grads

    def fit(self, x, y, epochs=1, lr=None, batch_size=32, optimizer="sgd", shuffle=True, verbose=True, generator=None):
        """Train on columns ``x`` (input_dim, N) and targets ``y`` (output_dim, N) with mini-batches.

        Args:
            epochs: passes over the data.
            lr: learning rate; None takes 0.01 for the SGD family and 0.001 for Adam.
            batch_size: columns per step (the last batch may be smaller).
            optimizer: 'sgd', 'momentum' (0.9), 'nesterov' (0.9) or 'adam'; or an
                ``ember.optim`` class, built as ``cls(net.parameters(), lr=lr)``; or an
                optimizer you built over ``net.parameters()`` (then leave ``lr`` None).
            shuffle: draw a new order each epoch from ember's generator (or ``generator``).
            verbose: as ``ember.train``: a tqdm bar when stdout is a terminal and tqdm is
                installed, else one line per epoch; False prints nothing.

        Returns:
            The list of mean costs, one per epoch.
        """
        from .. import backend
        from ..train.progress import Progress

        check_dims("Network.fit", epochs=epochs, batch_size=batch_size)
        x = check_columns(self.layers[0], x, self.layers[0].input_dim)
        n = x.shape[1]
        self._targets(y, n, "Network.fit")  # validates y before any step
        y = np.asarray(as_float_array(y, "y")).reshape(-1, n)
        dtype = self.layers[0].W.dtype
        # rows are samples here, so a batch is a contiguous gather
        xr = np.ascontiguousarray(x.T, dtype=dtype)
        yr = np.ascontiguousarray(y.T, dtype=dtype)
        opt = self._optimizer(optimizer, lr)
        rng = backend.rng(generator)
        progress, history = Progress(enabled=verbose), []
        try:
            for epoch in range(epochs):
                order = rng.permutation(n) if shuffle else np.arange(n)
                progress.epoch_begin(epoch, epochs, -(-n // batch_size))
                total, seen = 0.0, 0
                for s in range(0, n, batch_size):
                    idx = order[s:s + batch_size]
                    opt.zero_grad()
                    loss = self.cost_tensor(yr[idx].T, xr[idx].T)
                    loss.backward()
                    opt.step()
                    total += float(loss._data) * len(idx)
                    seen += len(idx)
                    progress.batch_end(lambda: {"loss": total / seen})
                history.append(total / n)
                progress.epoch_end({"loss": history[-1]})
        finally:
            progress.close()
        return history

    def _optimizer(self, optimizer, lr):
        from .. import optim

        if isinstance(optimizer, str):
            if optimizer.lower() not in OPTIMIZERS:
                valid = ", ".join(repr(k) for k in OPTIMIZERS)
                raise ValueError(f"Network.fit: unknown optimizer {optimizer!r}; valid names are {valid}")
            cls, kwargs, default_lr = OPTIMIZERS[optimizer.lower()]
            return getattr(optim, cls)(self.parameters(), lr=default_lr if lr is None else lr, **kwargs)
        if isinstance(optimizer, type) and issubclass(optimizer, optim.Optimizer):
            return optimizer(self.parameters()) if lr is None else optimizer(self.parameters(), lr=lr)
        if isinstance(optimizer, optim.Optimizer):
            if lr is not None:
                raise ValueError("Network.fit: lr is set on the optimizer you built; leave fit's lr as None")
            return optimizer
        raise TypeError(
            f"Network.fit: optimizer must be one of {tuple(OPTIMIZERS)}, an ember.optim class or instance, "
            f"got {type(optimizer).__name__}"
        )


def _grad_or_zeros(p):
    return np.zeros_like(p._data) if p.grad is None else p.grad._data
