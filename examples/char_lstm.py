"""A character-level LSTM on Tiny Shakespeare, top to bottom: data, model, training loop, sampling.

    python examples/char_lstm.py --data-dir ../shared/data          # 2000 steps
    python examples/char_lstm.py --steps 200                        # a quick look

The model is an embedding of each character, a 2-layer ``nn.LSTM`` (hidden size 256,
batch_first) and a linear head over the 65 characters, trained with Adam (lr 2e-3) on random
64-character blocks, batches of 32, gradients clipped at 1.0. Sampling feeds the LSTM one
character at a time, carrying its (h, c) state, as a recurrent model is meant to be run.
``ember train --dataset tinyshakespeare --model lstm`` runs a model like it from the command line.
"""
import argparse

import ember
from ember import nn, optim
from ember.datasets import TinyShakespeare
from ember.nn import functional as F

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--data-dir", default=None, help="folder holding tinyshakespeare/input.txt")
p.add_argument("--download", action="store_true", help="fetch input.txt (verified by SHA-256)")
p.add_argument("--steps", type=int, default=2000)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()

# ----- data: characters to ids; random 64-character blocks, y is x shifted by one -----
block_size, batch_size = 64, 32
train = TinyShakespeare(args.data_dir, train=True, block_size=block_size, download=args.download)
val = TinyShakespeare(args.data_dir, train=False, block_size=block_size)
tok = train.tokenizer
print(f"{len(train.data):,} training characters, {len(val.data):,} validation, vocabulary {tok.vocab_size}")


# ----- model: embedding -> LSTM -> linear, returning the state so text can be fed piece by piece -----
class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embedding(idx), state)  # out: (B, T, hidden)
        return self.head(out), state  # logits: (B, T, vocab)


ember.manual_seed(args.seed)
model = CharLSTM(tok.vocab_size)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
opt = optim.Adam(model.parameters(), lr=2e-3)


def val_loss(batches=20):
    """Mean cross-entropy over the same 20 validation batches each time."""
    gen = ember.Generator(args.seed + 2)
    model.eval()
    with ember.no_grad():
        total = 0.0
        for _ in range(batches):
            x, y = val.get_batch(batch_size, generator=gen)
            logits, _ = model(x)
            total += F.cross_entropy(logits.reshape(-1, tok.vocab_size), y.reshape(-1)).item()
    model.train()
    return total / batches


# ----- training loop -----
gen = ember.Generator(args.seed + 1)
for step in range(args.steps):
    x, y = train.get_batch(batch_size, generator=gen)  # (32, 64) ids each
    logits, _ = model(x)  # each block starts from a zero state
    loss = F.cross_entropy(logits.reshape(-1, tok.vocab_size), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if (step + 1) % 250 == 0 or step + 1 == args.steps:
        print(f"step {step + 1}: train loss {loss.item():.4f}, val loss {val_loss():.4f}")

# ----- sampling: one character at a time, the state carried from step to step -----
sampler = ember.Generator(0)
model.eval()
with ember.no_grad():
    ids = tok.encode("ROMEO:\n")
    logits, state = model(ember.tensor([ids]))  # read the prompt, keep the state
    for _ in range(300):
        probs = F.softmax(logits[:, -1, :] / 0.8, dim=-1)  # temperature 0.8
        nxt = ember.multinomial(probs, num_samples=1, generator=sampler)  # (1, 1)
        ids.append(int(nxt.item()))
        logits, state = model(nxt, state)
print(tok.decode(ids))
