"""Language models of the model zoo: a small GPT and a character-level LSTM.

Both map token ids (B, T) to next-token logits (B, T, vocab_size) and have
``generate(idx, max_new_tokens, temperature=1.0, top_k=None, generator=None)``.
``ember.models`` registers them as ``gpt`` and ``lstm`` (``ember train --model gpt``).

The GPT is the decoder-only Transformer of GPT-2, at the size of the public minimal
implementations (minGPT, nanoGPT): token and position embeddings, ``n_layer`` pre-norm blocks
(LayerNorm, causal self-attention, residual; LayerNorm, GELU MLP, residual), a final LayerNorm
and a head that shares the token embedding's weight. It starts from GPT-2's initialization:
weights N(0, 0.02), the residual projections N(0, 0.02 / sqrt(2 * n_layer)), biases zero.
"""
import math

from . import nn
from .nn import functional as F

__all__ = ["CausalSelfAttention", "MLP", "Block", "GPT", "CharLSTM", "gpt", "char_lstm"]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends to positions 0..t only.

    Per head, with q, k, v (T, hs): ``softmax(q @ k.T / sqrt(hs) + mask) @ v``, where the mask
    is -inf above the diagonal (no looking ahead). ``F.scaled_dot_product_attention`` with
    ``is_causal=True`` computes exactly that, in one fused op that never builds the mask.
    """

    def __init__(self, n_embd, n_head, block_size, bias=False, dropout=0.0):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # the queries, keys and values of every head at once
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.qkv(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head size)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        # (B, nh, T, hs): each position's weighted sum of the values of positions 0..t
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    """Linear to 4x the width, GELU, Linear back. The GELU is GPT-2's tanh form (as in GPT-2's
    code and minGPT): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), within 1e-3 of the exact
    x Phi(x) and about half its cost in NumPy."""

    def __init__(self, n_embd, bias=False, dropout=0.0):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """A pre-norm Transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd, n_head, block_size, bias=False, dropout=0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, bias, dropout)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, bias, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


def _sample_next(logits, temperature, top_k, generator):
    """One token id per row of the last position's logits (B, V): (B, 1) int64."""
    import ember

    if temperature == 0:  # greedy
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        kth = ember.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))  # keep the k most likely
    probs = F.softmax(logits, dim=-1)
    return ember.multinomial(probs, num_samples=1, generator=generator)


def _check_sampling(max_new_tokens, temperature, top_k):
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    if not temperature >= 0:
        raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"generate: top_k must be >= 1, got {top_k}")


class GPT(nn.Module):
    """A GPT language model.

    Args:
        vocab_size: the number of token ids.
        block_size: the longest context (the position embedding's length).
        n_layer, n_head, n_embd: blocks, attention heads, width.
        dropout: after the embeddings, on the attention weights and on each residual branch.
        bias: biases in the Linear and LayerNorm layers (GPT-2 has them; the small recipes do not).

    ``forward(idx)``: ids (B, T), T <= block_size, to logits (B, T, vocab_size).
    """

    def __init__(self, vocab_size, block_size, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, block_size, bias, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale the residual projections by the depth
            for p in (block.attn.proj.weight, block.mlp.proj.weight):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx):
        import ember

        if idx.ndim != 2:
            raise ValueError(f"GPT: expected token ids of shape (B, T), got {tuple(idx.shape)}")
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"GPT: a sequence of {T} tokens is longer than block_size {self.block_size}")
        pos = ember.arange(T)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, vocab_size)

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Extend ids (B, T) by ``max_new_tokens`` sampled ids, each from the logits of the last
        ``block_size`` ones; ``temperature`` 0 is greedy, ``top_k`` keeps the k most likely."""
        import ember

        _check_sampling(max_new_tokens, temperature, top_k)
        was_training = self.training
        self.eval()
        try:
            with ember.no_grad():
                for _ in range(max_new_tokens):
                    logits = self(idx[:, -self.block_size:])[:, -1, :]
                    idx = ember.cat([idx, _sample_next(logits, temperature, top_k, generator)], dim=1)
        finally:
            self.train(was_training)
        return idx


class CharLSTM(nn.Module):
    """A character-level LSTM language model: Embedding, ``nn.LSTM`` (batch_first), Linear.

    ``forward(idx, state=None)`` returns ``(logits, state)``, so text can be fed piece by piece.
    """

    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=2, dropout=0.0):
        super().__init__()
        if not hasattr(nn, "LSTM"):
            raise RuntimeError("the lstm model needs ember.nn.LSTM, which this ember does not have")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embedding(idx), state)
        return self.head(out), state

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Extend ids (B, T) by ``max_new_tokens`` sampled ids, carrying the LSTM's state."""
        import ember

        _check_sampling(max_new_tokens, temperature, top_k)
        was_training = self.training
        self.eval()
        try:
            with ember.no_grad():
                logits, state = self(idx)
                for _ in range(max_new_tokens):
                    nxt = _sample_next(logits[:, -1, :], temperature, top_k, generator)
                    idx = ember.cat([idx, nxt], dim=1)
                    logits, state = self(nxt, state)
        finally:
            self.train(was_training)
        return idx


def gpt(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False):
    """The GPT of the Tiny Shakespeare CPU recipe (0.80M parameters besides the position embedding)."""
    return GPT(vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias)


def char_lstm(vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=2, dropout=0.0):
    """A 2-layer character LSTM (embedding 64, hidden 256)."""
    return CharLSTM(vocab_size, embedding_dim, hidden_size, num_layers, dropout)
