"""neural-nets-in-numpy's API (``denseLayer``, ``nNet``), with ember's autograd doing the math.

Code written for the seed runs with one changed import::

    from ember.compat.neural_nets_in_numpy import denseLayer, nNet

    net = nNet([denseLayer(784, 64, 'relu'), denseLayer(64, 10, 'softmax')])
    net.nEpochs(data, 'cel', 0.05, 3)          # data: a list of (x, y) column-vector pairs
    out = net.forwardPass(x, False)            # the final output only

A layer maps a column ``v`` to ``f(bias + linear @ v)``: ``linear`` is (m, n) and ``bias``
(m, 1), plain float64 ndarrays (or the dtype of the arrays you give) backed by ember
Parameters, so ``nNet`` is an ``ember.nn.Module`` and ``backprop`` is, per pair,
``loss.backward()`` followed by the SGD update ``p -= learning_rate * p.grad``.
"""
import numbers

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from .._tensor import Tensor
from ._common import ArrayModule, ArrayParam, as_float_array, check_columns, check_dims, torch_linear_init
from .activations import ACTIVATIONS, apply_activation, get_activation, log_softmax_columns

__all__ = ["denseLayer", "nNet", "LOSSES", "ACTIVATIONS"]


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class denseLayer(ArrayModule):  # noqa: N801  (the seed's name)
    """A dense layer on column vectors: ``forwardPass(v) = f(bias + linear @ v)``.

    Build it from sizes, ``denseLayer(inputDim, outputDim, activation=None)`` (initialized
    like PyTorch's Linear, uniform on +-1/sqrt(inputDim), float64 unless ``dtype`` says), or
    from arrays, ``denseLayer(linear, bias=0, activation=None)`` (the arrays' float dtype is
    kept; integers become float64; a scalar or 1-D bias becomes an (m, 1) column).

    Args:
        activation: 'relu', 'sigmoid', 'tanh', 'softmax' (over the column, for a last layer
            trained with 'cel'), None, or any name in ``ACTIVATIONS``.

    Attributes:
        linear: (m, n) ndarray.  bias: (m, 1) ndarray.  activation: the name or None.
    """

    linear = ArrayParam()
    bias = ArrayParam()

    def __init__(self, inputDim=None, outputDim=None, activation=None, *,  # noqa: N803
                 linear=None, bias=None, dtype=None):
        super().__init__()
        if inputDim is not None and not _is_int(inputDim):  # denseLayer(linear, bias, activation)
            if linear is not None:
                raise TypeError("denseLayer: give the linear matrix once, positionally or as linear=")
            linear, inputDim = inputDim, None
            if outputDim is not None:
                if bias is not None:
                    raise TypeError("denseLayer: give the bias once, positionally or as bias=")
                bias, outputDim = outputDim, None
        if linear is None:
            check_dims(f"denseLayer({inputDim!r}, {outputDim!r})", inputDim=inputDim, outputDim=outputDim)
            dt = np.dtype(np.float64 if dtype is None else dtype)
            lin = torch_linear_init(inputDim, (outputDim, inputDim), dt)
            b = torch_linear_init(inputDim, (outputDim, 1), dt) if bias is None else bias
        else:
            lin = as_float_array(linear, "denseLayer: linear")
            if lin.ndim != 2:
                raise ValueError(f"denseLayer: linear must be a 2-D (m, n) matrix, got shape {tuple(lin.shape)}")
            if dtype is not None:
                lin = lin.astype(dtype, copy=False)
            for given, actual, what in ((outputDim, lin.shape[0], "outputDim"), (inputDim, lin.shape[1], "inputDim")):
                if given is not None and given != actual:
                    raise ValueError(f"denseLayer: {what}={given!r} disagrees with linear of shape {tuple(lin.shape)}")
            b = 0.0 if bias is None else bias
        m = lin.shape[0]
        b = as_float_array(b, "denseLayer: bias").astype(lin.dtype, copy=False)
        if b.ndim == 0:
            b = np.full((m, 1), b, dtype=lin.dtype)
        elif b.shape in ((m,), (m, 1)):
            b = b.reshape(m, 1)
        else:
            raise ValueError(
                f"denseLayer: bias must be a column of shape ({m}, 1) to match linear {tuple(lin.shape)}, got shape {tuple(b.shape)}"
            )
        self.outputDim, self.inputDim = lin.shape
        get_activation(activation, f"denseLayer({self.inputDim}, {self.outputDim})")
        self.activation = activation
        self._init_param("linear", lin)
        self._init_param("bias", b)

    def extra_repr(self):
        return f"{self.inputDim} -> {self.outputDim}, activation={self.activation!r}"

    def _columns(self, v):
        if isinstance(v, Tensor) and v._data.ndim == 2 and v.shape[0] == self.inputDim:
            return v if v.dtype == self.linear.dtype else v.astype(self.linear.dtype)
        return Tensor(check_columns(self, v, self.inputDim).astype(self.linear.dtype, copy=False))

    def linear_tensor(self, v, addBias=True):  # noqa: N803
        """``bias + linear @ v`` (or ``linear @ v``) as a Tensor on the autograd graph."""
        y = self._parameters["linear"] @ self._columns(v)
        return y + self._parameters["bias"] if addBias else y

    def forward_tensor(self, v):
        """``forwardPass`` as a Tensor on the autograd graph."""
        return apply_activation(get_activation(self.activation, repr(self)), self.linear_tensor(v))

    def linearPass(self, v, addBias=True, *, add_bias=None):  # noqa: N802,N803
        """``bias + linear @ v`` for a column ``v`` (n, 1) (or columns (n, N)); without the bias
        when ``addBias`` (the notebook's ``add_bias``) is False. Returns an ndarray (m, N)."""
        with no_grad():
            return self.linear_tensor(v, addBias if add_bias is None else add_bias)._data

    def forwardPass(self, v):  # noqa: N802
        """``linearPass(v)`` through the activation: an ndarray (m, N)."""
        with no_grad():
            return self.forward_tensor(v)._data

    forward = forwardPass

    def activationDerDiag(self, y):  # noqa: N802
        """The 1-D array ``(f'(y_i))`` for a pre-activation column ``y`` (m, 1) or (m,).

        Ones for softmax and for None, as in the seed (see ``ember.compat.activations``).
        """
        arr = as_float_array(y, f"{self!r}.activationDerDiag")
        if arr.shape not in ((self.outputDim,), (self.outputDim, 1)):
            raise ValueError(
                f"{self!r}.activationDerDiag expected a column of length {self.outputDim}, got shape {tuple(arr.shape)}"
            )
        _, derivative = get_activation(self.activation, repr(self))
        return np.asarray(derivative(arr.reshape(-1)), dtype=arr.dtype)


def _mse(out, y, z):
    return ((out() - y) ** 2).mean()


def _cel(out, y, z):
    return -(y * log_softmax_columns(z)).sum(axis=0).mean()


LOSSES = {"mse": _mse, "cel": _cel}


class nNet(Module):  # noqa: N801  (the seed's name)
    """Dense layers run in order on column vectors, trained by per-pair SGD.

    Args:
        layersList: a list of ``denseLayer``; each one's inputDim must be the previous
            outputDim.

    Losses (``backprop``'s ``loss``, case ignored), for an output column ``out`` and target ``y``:

    - ``'mse'``: the mean over the components of ``(out - y) ** 2``.
    - ``'cel'``: ``-sum(y * log(out))``; the last layer must be softmax, and the log is taken
      of the softmax from its logits, so it stays finite.
    """

    def __init__(self, layersList):  # noqa: N803
        super().__init__()
        layers = list(layersList)
        if not layers:
            raise ValueError("nNet needs at least one denseLayer, got an empty list")
        for i, l in enumerate(layers):
            if not isinstance(l, denseLayer):
                raise TypeError(f"nNet: layersList[{i}] must be a denseLayer, got {type(l).__name__}")
            if i and l.inputDim != layers[i - 1].outputDim:
                raise ValueError(
                    f"nNet: layersList[{i}] = {l!r} takes {l.inputDim} inputs but layersList[{i - 1}] = "
                    f"{layers[i - 1]!r} gives {layers[i - 1].outputDim} outputs"
                )
            self.add_module(str(i), l)
        self.layersList = layers

    def forward_tensor(self, v):
        """The final output as a Tensor on the autograd graph."""
        for l in self.layersList:
            v = l.forward_tensor(v)
        return v

    def forwardPass(self, v, allOutputs=True):  # noqa: N802,N803
        """Run column ``v`` through the layers: the list of every layer's output (ndarrays), or
        only the final output when ``allOutputs`` is False."""
        outs = []
        with no_grad():
            for l in self.layersList:
                v = l.forward_tensor(v)
                outs.append(v._data)
        return outs if allOutputs else outs[-1]

    def forward(self, v):
        return self.forwardPass(v, False)

    def loss_tensor(self, x, y, loss):
        """The loss of one pair as a scalar Tensor on the autograd graph."""
        fn = self._loss(loss, "nNet.loss_tensor")
        x, y = self._pair((x, y), 0, "nNet.loss_tensor")
        return self._loss_of(fn, x, y)

    def _loss_of(self, fn, x, y):
        for l in self.layersList[:-1]:
            x = l.forward_tensor(x)
        last = self.layersList[-1]
        z = last.linear_tensor(x)
        return fn(lambda: apply_activation(get_activation(last.activation, repr(last)), z), y, z)

    def _loss(self, loss, where):
        key = loss.lower() if isinstance(loss, str) else loss
        if key not in LOSSES:
            valid = ", ".join(repr(k) for k in LOSSES)
            raise ValueError(f"{where}: unknown loss {loss!r}; valid names are {valid}")
        last = self.layersList[-1]
        if key == "cel" and get_activation(last.activation) is not ACTIVATIONS.get("softmax"):
            raise ValueError(
                f"{where}: loss 'cel' needs a softmax last layer, but the last layer is {last!r}; "
                "use denseLayer(..., 'softmax') or loss 'mse'"
            )
        return LOSSES[key]

    def _pair(self, pair, i, where):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(
                f"{where}: data[{i}] must be an (x, y) pair of column vectors, got {type(pair).__name__} "
                "(data is a list of pairs: wrap a single pair as [(x, y)])"
            )
        first, last = self.layersList[0], self.layersList[-1]
        try:
            x = first._columns(pair[0])
        except ValueError as e:
            raise ValueError(f"{where}: x of data[{i}]: {e}") from None
        y = as_float_array(pair[1], f"{where}: y of data[{i}]")
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape != (last.outputDim, x.shape[1]):
            raise ValueError(
                f"{where}: y of data[{i}] must be a column of length {last.outputDim} like the output "
                f"({last.outputDim}, {x.shape[1]}), got shape {np.shape(pair[1])}"
            )
        return x, Tensor(y.astype(last.linear.dtype, copy=False))

    def backprop(self, data, loss, learning_rate, batch_size=1):
        """One SGD step per (x, y) pair of ``data``, in order: ``p -= learning_rate * dL/dp``.

        Args:
            data: a list of (x, y) pairs, x a column (n, 1), y a column (m, 1).
            loss: 'mse' or 'cel' (see the class docstring).
            learning_rate: the step size.
            batch_size: pairs per step (their columns side by side, the loss averaged over
                them); 1, the default, is the seed's per-pair SGD.

        Returns:
            The mean of the steps' losses, each taken before its update.
        """
        fn = self._loss(loss, "nNet.backprop")
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
            raise TypeError(f"nNet.backprop: learning_rate must be a number, got {learning_rate!r}")
        check_dims("nNet.backprop", batch_size=batch_size)
        if not isinstance(data, (list, tuple)):
            data = list(data)
        pairs = [self._pair(p, i, "nNet.backprop") for i, p in enumerate(data)]  # all checked before any update
        if batch_size > 1:
            pairs = [
                (Tensor(np.hstack([x._data for x, _ in chunk])), Tensor(np.hstack([y._data for _, y in chunk])))
                for chunk in (pairs[i:i + batch_size] for i in range(0, len(pairs), batch_size))
            ]
        params = list(self.parameters())
        total = 0.0
        for x, y in pairs:
            for p in params:
                p.grad = None
            out = self._loss_of(fn, x, y)
            out.backward()
            with no_grad():
                for p in params:
                    if p.grad is not None:
                        p.sub_(p.grad, alpha=learning_rate)  # in place, version bumped
                    p.grad = None
            total += float(out._data)
        return total / max(len(pairs), 1)

    def nEpochs(self, data, loss, learning_rate, n, batch_size=1):  # noqa: N802
        """``backprop(data, loss, learning_rate)`` ``n`` times; returns each pass's mean loss.

        The seed's notebook order, ``nEpochs(n, data, loss, learning_rate, batch_size)``, is
        recognized by its leading int and works too.
        """
        if isinstance(data, numbers.Integral) and not isinstance(data, bool):
            if not isinstance(loss, (list, tuple)):
                raise TypeError(
                    f"nNet.nEpochs(data, loss, learning_rate, n): data must be a list of (x, y) pairs, got {data!r}"
                )
            data, loss, learning_rate, n = loss, learning_rate, n, data
        check_dims("nNet.nEpochs", n=n)
        data = list(data)
        return [self.backprop(data, loss, learning_rate, batch_size) for _ in range(n)]
