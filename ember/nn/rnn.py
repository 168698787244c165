"""Recurrent layers ``RNN``, ``LSTM``, ``GRU``, with PyTorch's parameter names and layouts.

Each layer and direction projects its whole input sequence in ONE matmul (``x @ W_ih.T`` for
every time step at once), then loops over the steps, where each step is one function below
(``rnn_step``, ``lstm_step``, ``gru_step``) written with ember ops; gradients of any order
come from autograd. Sequences run time-major as packed rows: a padded (T, B, F) batch is the
packed case where every step has all B rows, so one loop serves both inputs.

With ``ember.kernels.enabled()`` an LSTM layer (its input projection and its loop) runs as
``ember.kernels.rnn.LSTMSequence`` (the same math on preallocated feature-major arrays, the
weights' gradients as GEMMs over many steps at once); ``lstm_reference`` here, after the same
projection, is what it is tested against.
"""
import math
import numbers
import warnings

import numpy as np

from .. import backend, kernels
from .._tensor import Tensor
from .._tensor_base import from_op
from ..autograd.function import Function
from ..ops.elementwise import relu, sigmoid, tanh
from ..ops.layers import dropout, linear
from ..ops.matmul import matmul
from ..ops.movement import cat, stack
from . import init
from .module import Module, Parameter, _as_float_input
from .rnn_utils import PackedSequence, _ints

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class _Pieces(Function):
    """``x`` split along ``dim`` into pieces of ``sizes`` (views) as ONE node, whose backward is
    one ``cat`` of the pieces' gradients (so differentiable again). Splitting by indexing would
    give each piece a backward that scatters into zeros of x's full shape: T full-size buffers
    summed for the T steps of a sequence, 4 per step for the LSTM's gates."""

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        return tuple(from_op(a, None) for a in np.split(x._data, np.cumsum(sizes)[:-1].tolist(), axis=dim))

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def _chunk(x, n):
    """``x.chunk(n, dim=1)`` for a width divisible by n, as one node (see ``_Pieces``)."""
    return _Pieces.apply(x, [x.shape[1] // n] * n, 1)


# ----- one time step; `gi` is the step's input projection x @ W_ih.T (+ biases) -----

def rnn_step(gi, h, w_hh_t, nonlinearity="tanh"):
    """Elman step: ``act(gi + h @ W_hh.T)``, with gi = x @ W_ih.T + b_ih + b_hh."""
    a = gi + matmul(h, w_hh_t)
    return tanh(a) if nonlinearity == "tanh" else relu(a)


def lstm_step(gi, h, c, w_hh_t, w_hr_t=None):
    """LSTM step (gates i, f, g, o), with gi = x @ W_ih.T + b_ih + b_hh; ``w_hr_t`` projects h."""
    i, f, g, o = _chunk(gi + matmul(h, w_hh_t), 4)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    if w_hr_t is not None:
        h = matmul(h, w_hr_t)
    return h, c


def gru_step(gi, h, w_hh_t, b_hh=None):
    """GRU step (gates r, z, n), with gi = x @ W_ih.T + b_ih; b_hh stays inside r * (...)."""
    gh = matmul(h, w_hh_t)
    if b_hh is not None:
        gh = gh + b_hh
    i_r, i_z, i_n = _chunk(gi, 3)
    h_r, h_z, h_n = _chunk(gh, 3)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


def run_steps(step, gi, state0, batch_sizes, reverse):
    """The loop over time: ``state = step(gi_t, state)`` for each step's rows of the packed
    input projection ``gi`` (N, G). Returns (outputs (N, H): each step's state[0], final state).
    Forward, sequences that ended keep their last state; reverse, sequences that start later
    start from their initial state."""
    steps = _Pieces.apply(gi, batch_sizes, 0)  # the rows of each time step
    T = len(batch_sizes)
    state, ended, outs = state0, [], [None] * T
    if reverse:
        state = tuple(s[:batch_sizes[-1]] for s in state) if batch_sizes[-1] < state[0].shape[0] else state
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        bs, n = batch_sizes[t], state[0].shape[0]
        if bs < n:  # forward: sequences that ended keep their last state
            ended.append(tuple(s[bs:] for s in state))
            state = tuple(s[:bs] for s in state)
        elif bs > n:  # reverse: sequences that start here start from their initial state
            state = tuple(cat([s, s0[n:bs]], 0) for s, s0 in zip(state, state0))
        state = step(steps[t], state)
        outs[t] = state[0]
    if ended:
        state = tuple(cat([s] + [e[k] for e in reversed(ended)], 0) for k, s in enumerate(state))
    return cat(outs, 0), state


def lstm_reference(gi, h0, c0, w_hh, w_hr, batch_sizes, reverse):
    """One LSTM layer and direction with ``lstm_step``: (outputs, h_n, c_n), the reference of
    ``ember.kernels.rnn.LSTMSequence``."""
    w_hh_t, w_hr_t = w_hh.t(), None if w_hr is None else w_hr.t()
    out, (h, c) = run_steps(lambda g, s: lstm_step(g, s[0], s[1], w_hh_t, w_hr_t), gi, (h0, c0), batch_sizes,
                            reverse)
    return out, h, c


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters, the checks and the layer loop."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            _check_int(name, v)
            if v <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), int(proj_size)
        dt = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        gate, real_hidden = _GATES[mode] * self.hidden_size, self.proj_size or self.hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[:self._directions]:
                fan_in = self.input_size if layer == 0 else real_hidden * self._directions
                shapes = [("weight_ih", (gate, fan_in)), ("weight_hh", (gate, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if self.proj_size:
                    shapes += [("weight_hr", (self.proj_size, self.hidden_size))]
                names = [f"{kind}_l{layer}{suffix}" for kind, _ in shapes]
                for name, (_, shape) in zip(names, shapes):
                    setattr(self, name, Parameter(np.empty(shape, dt)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    @property
    def _directions(self):
        return 2 if self.bidirectional else 1

    def reset_parameters(self):
        """PyTorch's init: every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op kept for PyTorch compatibility (cuDNN's weight layout)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ----- what differs between the three -----

    def _input_bias(self, b_ih, b_hh):
        """The bias added in the input projection (both biases, except for the GRU)."""
        return None if b_ih is None else b_ih + b_hh

    def _step(self, gi, state, w):
        return (rnn_step(gi, state[0], w["hh"], self.nonlinearity),)

    def _state_sizes(self):
        """The sizes of the recurrent state's tensors: (h,) or, for the LSTM, (h, c)."""
        return (self.proj_size or self.hidden_size,)

    # ----- the forward pass -----

    def _sequence(self, input):
        """(rows, batch_sizes, batched, shape): the input as time-major packed rows (N, F)."""
        name, dt = type(self).__name__, self.weight_ih_l0._data.dtype
        if isinstance(input, PackedSequence):
            x = _as_float_input(input.data, dt, self)
            return self._features(x), _ints(input.batch_sizes).tolist(), True, None
        x = _as_float_input(input, dt, self)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead (input of shape "
                             f"{tuple(x.shape)})")
        self._features(x)
        batched = x.ndim == 3
        x = x.transpose(0, 1) if batched and self.batch_first else x if batched else x.unsqueeze(1)
        T, B = x.shape[0], x.shape[1]
        return x.reshape(T * B, x.shape[2]), [B] * T, batched, (T, B)

    def _features(self, x):
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}({self.extra_repr()}): input.size(-1) must be equal to "
                               f"input_size. Expected {self.input_size}, got {x.shape[-1]} (input of shape "
                               f"{tuple(x.shape)})")
        return x

    def _initial_states(self, hx, batched, B, dt, sorted_indices):
        """One state tuple per layer and direction, each tensor (B, size)."""
        L, sizes = self.num_layers * self._directions, self._state_sizes()
        if hx is None:
            zeros = tuple(Tensor._from_op(np.zeros((B, n), dt), None) for n in sizes)
            return [zeros] * L
        hs = (hx,) if len(sizes) == 1 else tuple(hx)
        hs = tuple(_as_float_input(h, dt, self) for h in hs)
        want = 3 if batched else 2
        if any(h.ndim != want for h in hs):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if len(hs) == 1:
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {hs[0].ndim}-D tensor")
            raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                               f"({hs[0].ndim}-D, {hs[1].ndim}-D) tensors")
        if not batched:
            hs = tuple(h.unsqueeze(1) for h in hs)
        for k, (h, n) in enumerate(zip(hs, sizes)):
            if tuple(h.shape) != (L, B, n):
                what = "hidden" if len(hs) == 1 else f"hidden[{k}]"
                raise RuntimeError(f"Expected {what} size {(L, B, n)}, got {list(h.shape)}")
        if sorted_indices is not None:
            hs = tuple(h.index_select(1, sorted_indices) for h in hs)
        return [tuple(h[k] for h in hs) for k in range(L)]

    def _direction(self, x, batch_sizes, state0, layer, reverse):
        """One layer in one direction over packed rows ``x`` (N, F): (outputs (N, H), final state)."""
        sfx = f"_l{layer}" + ("_reverse" if reverse else "")
        b_ih, b_hh = (getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)) if self.bias else (None, None)
        w_hh = getattr(self, "weight_hh" + sfx)
        w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size else None
        w_ih, bias = getattr(self, "weight_ih" + sfx), self._input_bias(b_ih, b_hh)
        if self.mode == "LSTM" and kernels.enabled():
            out, h, c = _rnn_kernels.LSTMSequence.apply(x, w_ih, bias, state0[0], state0[1], w_hh, w_hr, batch_sizes,
                                                        reverse)
            return out, (h, c)
        gi = linear(x, w_ih, bias)  # all steps: one GEMM
        w = {"hh": w_hh.t(), "b_hh": b_hh, "hr": None if w_hr is None else w_hr.t()}
        return run_steps(lambda g, state: self._step(g, state, w), gi, state0, batch_sizes, reverse)

    def forward(self, input, hx=None):
        """Run the layers over ``input`` (L, F), (L, B, F), (B, L, F) with batch_first, or a
        PackedSequence. Returns (output, h_n) as PyTorch does ((output, (h_n, c_n)) for LSTM)."""
        x, batch_sizes, batched, shape = self._sequence(input)
        packed = shape is None
        sorted_indices = input.sorted_indices if packed else None
        states = self._initial_states(hx, batched, batch_sizes[0] if batch_sizes else 0, x._data.dtype,
                                      sorted_indices)
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self._directions):
                out, final = self._direction(x, batch_sizes, states[layer * self._directions + d], layer, d == 1)
                outs.append(out)
                finals.append(final)
            x = outs[0] if len(outs) == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True)
        hn = [stack([f[k] for f in finals], 0) for k in range(len(finals[0]))]
        if packed:
            if input.unsorted_indices is not None:
                hn = [h.index_select(1, input.unsorted_indices) for h in hn]
            output = PackedSequence(x, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        else:
            output = x.reshape(shape[0], shape[1], x.shape[1])
            if not batched:
                output, hn = output.squeeze(1), [h.squeeze(1) for h in hn]
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (hn[0] if len(hn) == 1 else tuple(hn))


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)``, act tanh or relu.

    Args: input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0 (between layers, in training), bidirectional=False,
    device, dtype, as ``torch.nn.RNN``.

    Returns (output, h_n): output (L, B, D * hidden_size) (or batch-first, or a
    PackedSequence), h_n (num_layers * D, B, hidden_size).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN got unexpected keyword arguments {sorted(kwargs)}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o in the weights' rows), with ``proj_size``
    projecting h by ``weight_hr_l{k}`` (proj_size, hidden_size), as ``torch.nn.LSTM``.

    ``forward(input, (h_0, c_0)=None)`` returns (output, (h_n, c_n)); h has proj_size
    features when proj_size > 0, c has hidden_size.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def _step(self, gi, state, w):
        return lstm_step(gi, state[0], state[1], w["hh"], w["hr"])

    def _state_sizes(self):
        return (self.proj_size or self.hidden_size, self.hidden_size)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n), as ``torch.nn.GRU``:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
    Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)

    def _input_bias(self, b_ih, b_hh):
        return b_ih

    def _step(self, gi, state, w):
        return (gru_step(gi, state[0], w["hh"], w["b_hh"]),)


class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (chunks * hidden, input), ``weight_hh`` (chunks *
    hidden, hidden), ``bias_ih``, ``bias_hh``, all from U(+-1/sqrt(hidden_size))."""

    _chunks = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            _check_int(name, v)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        dt = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        gate = self._chunks * self.hidden_size
        self.weight_ih = Parameter(np.empty((gate, self.input_size), dt))
        self.weight_hh = Parameter(np.empty((gate, self.hidden_size), dt))
        self.register_parameter("bias_ih", Parameter(np.empty(gate, dt)) if bias else None)
        self.register_parameter("bias_hh", Parameter(np.empty(gate, dt)) if bias else None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _inputs(self, input, hx, n_states):
        """(x (B, F), states (each (B, hidden)), batched), checked as PyTorch checks them."""
        name, dt = type(self).__name__, self.weight_ih._data.dtype
        x = _as_float_input(input, dt, self)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        batched = x.ndim == 2
        x = x if batched else x.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"{name}({self.extra_repr()}): input has inconsistent input_size: got {x.shape[1]} "
                               f"expected {self.input_size} (input of shape {tuple(input.shape)})")
        if hx is None:
            return x, (Tensor._from_op(np.zeros((x.shape[0], self.hidden_size), dt), None),) * n_states, batched
        hs = (hx,) if n_states == 1 else tuple(hx)
        hs = tuple(_as_float_input(h, dt, self) for h in hs)
        for k, h in enumerate(hs):
            if h.ndim not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{k}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        hs = tuple(h if batched else h.unsqueeze(0) for h in hs)
        for k, h in enumerate(hs):
            if h.ndim != 2 or h.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{k} batch size "
                                   f"{h.shape[0] if h.ndim == 2 else tuple(h.shape)}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, "
                                   f"expected {self.hidden_size}")
        return x, hs, batched


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = act(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)``, act tanh or relu.
    Input (B, input_size) or (input_size,); hx the same with hidden_size (zeros if None)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._inputs(input, hx, 1)
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        h = rnn_step(linear(x, self.weight_ih, b), h, self.weight_hh.t(), self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None)`` returns (h', c')."""

    _chunks = 4

    def forward(self, input, hx=None):
        x, (h, c), batched = self._inputs(input, hx, 2)
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        h, c = lstm_step(linear(x, self.weight_ih, b), h, c, self.weight_hh.t())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step; ``forward(input, h=None)`` returns h'."""

    _chunks = 3

    def forward(self, input, hx=None):
        x, (h,), batched = self._inputs(input, hx, 1)
        h = gru_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh.t(), self.bias_hh)
        return h if batched else h.squeeze(0)


from ..kernels import rnn as _rnn_kernels  # noqa: E402  (the kernel's create_graph path imports this module)
