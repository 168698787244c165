# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     name: python3
#     display_name: Python 3
#     language: python
# ---

# %% [markdown]
# # A character-level LSTM and a GPT on Tiny Shakespeare
#
# A character-level language model reads text one character at a time and learns to predict
# the next one. This page builds two of them on the same data and trains both with the same
# loop: a recurrent model, an `nn.LSTM` that carries a state from character to character, and
# a Transformer, the GPT of {py:class}`ember.models.GPT`, in which every position looks back at
# all the earlier ones through *causal self-attention*. Then each one writes some Shakespeare.
#
# Everything is PyTorch's API: `nn.Embedding`, `nn.LSTM(batch_first=True)`,
# `F.scaled_dot_product_attention`, `F.cross_entropy`, `optim.AdamW`, `torch.multinomial`.
#
# To keep the page quick to build, the models are tiny (about 0.1M parameters each, contexts
# of 32 characters) and each trains for 200 steps of 16 blocks, a few seconds. The full GPT
# recipe, `ember train --dataset tinyshakespeare --model gpt` (4 layers, 4 heads, width 128,
# 2,000 steps; also `examples/char_gpt.py`), reaches a validation loss of 1.8959 nats per
# character in about two minutes on 2 CPU cores, the same figure as PyTorch from the same start.

# %%
import math
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ember
import ember.nn.functional as F
from ember import nn, optim
from ember.datasets import TinyShakespeare
from ember.models import GPT

ember.manual_seed(0)

# %% [markdown]
# ## The data
#
# Tiny Shakespeare is a 1.1 MB text file of Shakespeare's plays, `input.txt`, from
# karpathy/char-rnn. `TinyShakespeare(root=None)` looks for it in `$EMBER_DATA/tinyshakespeare/`,
# `~/.cache/ember/tinyshakespeare/` and the repository's `data/tinyshakespeare/`;
# `download=True` fetches it (checked by SHA-256). A fresh clone does not ship it, so this
# page looks in those folders first, then in a `shared/data` folder beside the repository
# (where the machine that builds these docs keeps a copy), and when neither has it, it writes
# a short public-domain passage (ten lines of Romeo's from the balcony scene, repeated) into a
# temporary folder in the dataset's layout, `<root>/tinyshakespeare/input.txt`. The cell
# prints which one it used. The figures and the text quoted on this page are from the full
# file; on the short passage the models learn it by heart and the losses fall far lower,
# without meaning much.

# %%
searched = TinyShakespeare.search_folders()  # the folders root=None looks in, in order
shared = Path(ember.__file__).resolve().parents[1].parent / "shared" / "data"

if any((folder / "input.txt").is_file() for folder in searched):
    root, source = None, "the full Tiny Shakespeare, found by the dataset's own search"
elif (shared / "tinyshakespeare" / "input.txt").is_file():
    root, source = shared, f"the full Tiny Shakespeare, from {shared}"
else:
    passage = (
        "ROMEO:\n"
        "But, soft! what light through yonder window breaks?\n"
        "It is the east, and Juliet is the sun.\n"
        "Arise, fair sun, and kill the envious moon,\n"
        "Who is already sick and pale with grief,\n"
        "That thou her maid art far more fair than she:\n"
        "Be not her maid, since she is envious;\n"
        "Her vestal livery is but sick and green\n"
        "And none but fools do wear it; cast it off.\n"
        "It is my lady, O, it is my love!\n"
        "O, that she knew she were!\n\n"
    )
    root = Path(tempfile.mkdtemp(prefix="ember-tutorial-08-"))
    (root / "tinyshakespeare").mkdir()
    (root / "tinyshakespeare" / "input.txt").write_text(passage * 40)
    source = "NOT Tiny Shakespeare: a speech of Romeo's repeated 40 times (input.txt was not found)"

block_size = 32
train_set = TinyShakespeare(root, train=True, block_size=block_size)
val_set = TinyShakespeare(root, train=False, block_size=block_size)
print("data:", source)
print(f"{len(train_set.data):,} training characters, {len(val_set.data):,} validation characters")

# %% [markdown]
# ## Characters to numbers
#
# The tokenizer is the simplest there is: the vocabulary is the sorted set of the file's
# characters, and a character's id is its position in it. Both splits share the tokenizer of
# the whole file. `encode` turns a string into ids, `decode` turns ids back into the string.

# %%
tok = train_set.tokenizer
vocab_size = tok.vocab_size
print(tok, repr(tok.vocab))
ids = tok.encode("ROMEO:")
print("encode('ROMEO:') =", ids, "-> decode:", repr(tok.decode(ids)))

# %% [markdown]
# The training split is the first 90% of the characters, the validation split the last 10%.
# An example is a block of `block_size` characters `x` and the same block shifted by one,
# `y`: at every position the target is the character that comes next. So one block of 32
# characters is 32 training examples at once, one per prefix.

# %%
x, y = train_set[0]
print("x:", repr(tok.decode(x)))
print("y:", repr(tok.decode(y)))

# %% [markdown]
# Language models are trained on blocks that start anywhere rather than on the fixed,
# non-overlapping blocks of `dataset[i]`. `get_batch(batch_size, generator=...)` draws them:
# two int64 tensors of shape (B, T). A `Generator` of its own makes the batches reproducible
# and the same for both models.

# %%
batch_size = 16
xb, yb = train_set.get_batch(batch_size, generator=ember.Generator(1))
print("batch:", tuple(xb.shape), xb.dtype, "| targets:", tuple(yb.shape))

# %% [markdown]
# ## Model 1: an LSTM
#
# An embedding turns each id into a vector, an `nn.LSTM` reads the vectors left to right and
# keeps a hidden state `(h, c)` that summarizes everything so far, and a linear head turns
# each position's output into logits over the vocabulary. `forward` returns the state too, so
# that text can be fed piece by piece when sampling. (`ember.models.CharLSTM` is this model,
# with a `generate` method.)

# %%
class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embedding_dim=32, hidden_size=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embedding(idx), state)  # out: (B, T, hidden_size)
        return self.head(out), state  # logits: (B, T, vocab_size)


lstm = CharLSTM(vocab_size)
print(lstm)
print(f"{sum(p.numel() for p in lstm.parameters()):,} parameters")

# %% [markdown]
# The loss is the cross-entropy of the logits against the next characters, over all B x T
# positions: `F.cross_entropy` wants (N, C) logits and (N,) targets, so both are flattened. An
# untrained model should be about uniform over the vocabulary, a loss of log(vocab_size).

# %%
logits, _ = lstm(xb)
loss = F.cross_entropy(logits.reshape(-1, vocab_size), yb.reshape(-1))
print(f"initial loss {loss.item():.3f}, log(vocab_size) = {math.log(vocab_size):.3f}")

# %% [markdown]
# ## One training loop for both models
#
# The loop is PyTorch's: draw a batch, forward, loss, `zero_grad`, `backward`, clip the
# gradient norm (recurrent models need it), `step`. Every 25 steps it measures the loss on
# the same 8 validation batches, under `no_grad` and in `eval()` mode. The function takes a
# model whose forward returns either logits or `(logits, state)`, so both models go through it.

# %%
steps = 200


def evaluate(model, batches=8):
    gen = ember.Generator(2)  # the same validation batches every time
    model.eval()
    total = 0.0
    with ember.no_grad():
        for _ in range(batches):
            xv, yv = val_set.get_batch(32, generator=gen)
            out = model(xv)
            logits = out[0] if isinstance(out, tuple) else out
            total += F.cross_entropy(logits.reshape(-1, vocab_size), yv.reshape(-1)).item()
    model.train()
    return total / batches


def train(model, opt, steps):
    gen = ember.Generator(1)  # both models see the same batches
    history = {"step": [], "train": [], "val_step": [], "val": []}
    for step in range(1, steps + 1):
        xb, yb = train_set.get_batch(batch_size, generator=gen)
        out = model(xb)
        logits = out[0] if isinstance(out, tuple) else out
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history["step"].append(step)
        history["train"].append(loss.item())
        if step % 25 == 0 or step == 1:
            history["val_step"].append(step)
            history["val"].append(evaluate(model))
    print(f"after {steps} steps: train loss {history['train'][-1]:.3f}, val loss {history['val'][-1]:.3f}")
    return history


lstm_history = train(lstm, optim.Adam(lstm.parameters(), lr=3e-3), steps)

# %% [markdown]
# ## Sampling with temperature and top-k
#
# To write text, the model reads a prompt, and then, one character at a time, turns the last
# position's logits into probabilities and draws the next character from them
# (`ember.multinomial`, PyTorch's `torch.multinomial`). Two knobs shape the draw:
#
# - **temperature** divides the logits before the softmax: below 1 it sharpens the
#   distribution (safer, more repetitive text), above 1 it flattens it (more surprising text).
# - **top-k** keeps only the k most likely characters and sets the others' logits to -inf.
#
# Here is what they do to one distribution, the model's guess after the prompt "ROMEO:\nWh":

# %%
prompt = "ROMEO:\nWh"
lstm.eval()
with ember.no_grad():
    logits, _ = lstm(ember.tensor([tok.encode(prompt)]))
last = logits[0, -1]  # (vocab_size,)
for temperature in (1.0, 0.5):
    probs = F.softmax(last / temperature, dim=-1)
    top = ember.topk(probs, 5)
    shown = ", ".join(f"{tok.decode([int(i)])!r} {p:.2f}" for p, i in zip(top.values.tolist(), top.indices.tolist()))
    print(f"temperature {temperature}: {shown}")

# %% [markdown]
# A recurrent model is sampled the way it reads: feed the prompt once, keep the state, then
# feed each new character alone with the state carried along. Each step costs the same, however
# long the text already is.

# %%
def sample_lstm(model, prompt, max_new_tokens, temperature=0.8, top_k=10, generator=None):
    ids = tok.encode(prompt)
    model.eval()
    with ember.no_grad():
        logits, state = model(ember.tensor([ids]))  # read the prompt, keep (h, c)
        for _ in range(max_new_tokens):
            last = logits[:, -1, :] / temperature  # (1, vocab_size)
            kth = ember.topk(last, top_k, dim=-1).values[:, -1:]  # the k-th largest logit
            last = last.masked_fill(last < kth, float("-inf"))  # keep the k most likely
            nxt = ember.multinomial(F.softmax(last, dim=-1), num_samples=1, generator=generator)  # (1, 1)
            ids.append(int(nxt.item()))
            logits, state = model(nxt, state)
    return tok.decode(ids)


print(sample_lstm(lstm, "ROMEO:\n", 200, generator=ember.Generator(0)))

# %% [markdown]
# On Tiny Shakespeare, after 200 tiny steps the model has learned the shape of the text
# (words of a few letters, spaces, capitals after a newline, names followed by a colon), not
# yet its words.
#
# ## Causal self-attention
#
# A Transformer has no state to carry. Instead, every position computes a *query* and a *key*
# and a *value* vector; position t compares its query with the keys of all positions (a dot
# product, scaled by the square root of the head size), turns the scores into weights with a
# softmax, and outputs the weighted sum of the values. For a language model, position t must
# not see the characters it is trying to predict, so the scores of positions after t are set
# to -inf before the softmax: the *causal mask*, a lower-triangular matrix.
#
# Here it is by hand on 6 positions with random queries, keys and values of size 8, beside
# `F.scaled_dot_product_attention(q, k, v, is_causal=True)`, which computes the same thing
# without building the mask:

# %%
T, hs = 6, 8
q, k, v = ember.randn(1, T, hs), ember.randn(1, T, hs), ember.randn(1, T, hs)

mask = ember.ones(T, T, dtype=ember.bool).tril()  # True where position t may look: s <= t
scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (1, T, T): query t against key s
weights = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # each row sums to 1
by_hand = weights @ v  # (1, T, hs)

fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
print(mask.int())
print(f"max |by hand - scaled_dot_product_attention| = {(by_hand - fused).abs().max().item():.2e}")

# %% [markdown]
# The weights as an image: row t is what position t reads. The first position can only read
# itself; the upper triangle is zero.

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
axes[0].imshow(mask.numpy(), cmap="gray")
axes[0].set_title("the causal mask (white: may attend)")
im = axes[1].imshow(weights[0].numpy(), cmap="viridis", vmin=0, vmax=1)
axes[1].set_title("attention weights, softmax per row")
for ax in axes:
    ax.set_xlabel("key position s")
    ax.set_ylabel("query position t")
fig.colorbar(im, ax=axes[1])
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Model 2: a GPT
#
# {py:class}`ember.models.GPT` is GPT-2's decoder at a small size: a token embedding plus a
# position embedding, `n_layer` blocks of (LayerNorm, causal self-attention with `n_head`
# heads, residual; LayerNorm, MLP, residual), a final LayerNorm and a head that shares the
# token embedding's weight. Its attention module is the cell above, with q, k and v computed
# by one Linear from the input and split into heads. Here: 2 layers, 4 heads, width 64.

# %%
gpt = GPT(vocab_size=vocab_size, block_size=block_size, n_layer=2, n_head=4, n_embd=64, dropout=0.0)
print(f"{sum(p.numel() for p in gpt.parameters()):,} parameters")
print(gpt.blocks[0])

# %% [markdown]
# It trains with the same loop, on the same batches, with AdamW.

# %%
gpt_history = train(gpt, optim.AdamW(gpt.parameters(), lr=3e-3, weight_decay=0.1), steps)

# %% [markdown]
# ## The two loss curves
#
# Training loss at every step (thin) and validation loss every 25 steps (dots), both in nats
# per character; the dashed line is the uniform guess, log(vocab_size).

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, h, color in (("LSTM", lstm_history, "tab:blue"), ("GPT", gpt_history, "tab:orange")):
    ax.plot(h["step"], h["train"], color=color, alpha=0.4, lw=1, label=f"{name} train")
    ax.plot(h["val_step"], h["val"], "o-", color=color, label=f"{name} validation")
ax.axhline(math.log(vocab_size), color="gray", ls="--", lw=1, label="log(vocab_size)")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats/char)")
ax.legend()
plt.show()
for name, h in (("LSTM", lstm_history), ("GPT", gpt_history)):
    print(f"{name}: val loss {h['val'][0]:.3f} at step 1 -> {h['val'][-1]:.3f} at step {h['val_step'][-1]}")

# %% [markdown]
# At this tiny budget the two models are close, and which one is ahead after 200 steps says
# little about full-length runs: the GPT recipe quoted at the top trains a model ten times
# this one's size for ten times the steps.
#
# ## What the trained GPT attends to
#
# The same computation as the by-hand cell, now with the trained first block's own weights on
# a line of text: embed, LayerNorm, one Linear for q, k and v, split into 4 heads, causal
# softmax. Each image is one head; row t shows which earlier characters position t reads.

# %%
text = tok.decode(val_set.data[:24])
idx = ember.tensor([tok.encode(text)])
block, n_head, C = gpt.blocks[0], 4, 64
with ember.no_grad():
    h = block.ln_1(gpt.tok_emb(idx) + gpt.pos_emb(ember.arange(idx.shape[1])))  # (1, T, C)
    q, k, _ = block.attn.qkv(h).split(C, dim=2)
    q = q.view(1, -1, n_head, C // n_head).transpose(1, 2)  # (1, n_head, T, head size)
    k = k.view(1, -1, n_head, C // n_head).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // n_head)
    causal = ember.ones(len(text), len(text), dtype=ember.bool).tril()
    att = F.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)  # (1, n_head, T, T)

labels = [{"\n": "\\n", " ": "\u2423"}.get(c, c) for c in text]  # show newlines and spaces
fig, axes = plt.subplots(1, n_head, figsize=(14, 3.8))
for head, ax in enumerate(axes):
    ax.imshow(att[0, head].numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"head {head}")
    ax.set_xticks(range(len(text)), labels, fontsize=7)
    ax.set_yticks(range(len(text)), labels, fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The GPT writes
#
# `GPT.generate` samples as `sample_lstm` does, with the same temperature and top-k, except
# that a Transformer has no state to carry: at each step it runs on the last `block_size`
# characters again and keeps the last position's logits.

# %%
out = gpt.generate(ember.tensor([tok.encode("ROMEO:\n")]), max_new_tokens=200, temperature=0.8, top_k=10,
                   generator=ember.Generator(0))
print(tok.decode(out[0]))

# %% [markdown]
# Both models are far from Shakespeare after 200 steps of 16 blocks. With the full data and
# the CPU recipe (`ember train --dataset tinyshakespeare --model gpt`, 2,000 steps of a
# 4-layer, 128-wide GPT on 64-character contexts; `ember generate runs/gpt --prompt "ROMEO:"`
# to sample from it), the GPT reaches a validation loss of about 1.90 and writes
# speaker names, line breaks and mostly real words. `examples/char_lstm.py` and
# `examples/char_gpt.py` are the two models of this page at their full size, in one readable
# file each.
