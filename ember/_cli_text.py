"""``ember train`` on text datasets, ``ember evaluate`` of such runs, and ``ember generate``.

    ember train --dataset tinyshakespeare --model gpt --out runs/gpt     # ... val loss: 1.8...
    ember generate runs/gpt --prompt "ROMEO:" --max-new-tokens 200 --top-k 20

A language model trains by steps, not epochs: each step draws ``--batch-size`` blocks of
``--block-size`` characters at random places of the training split (seeded by ``--seed``).
The learning rate rises linearly for ``--warmup-steps``, then follows a cosine down to a tenth
of ``--lr`` at the last step; gradients are clipped to norm 1. The validation loss is the mean
cross-entropy (nats per character) over ``--eval-batches`` batches drawn from the validation
split by a generator seeded from ``--seed``, the same batches at every evaluation.
``ember.cli`` parses the arguments and calls these functions.
"""
import math
import os
import time

from .cli import RUN_FORMAT, CLIError, _optimizer, _read_config, _save_run, _weights_name

__all__ = ["cmd_train_text", "cmd_evaluate_text", "cmd_generate"]

# the model sizes the command line sets, per model: option on the command line -> model option
SIZE_OPTIONS = {
    "gpt": {"n_layer": "n_layer", "n_head": "n_head", "n_embd": "n_embd", "block_size": "block_size"},
    "lstm": {"n_layer": "num_layers", "n_embd": "hidden_size"},
}
GRAD_CLIP = 1.0
BETAS = (0.9, 0.99)  # beta2 0.99: the small-batch recipe's


def _load_text(name, data_dir, train, block_size, download):
    from ember.datasets import DatasetNotFoundError

    from .cli import _dataset_class

    cls = _dataset_class(name)
    try:
        return cls(root=data_dir, train=train, block_size=block_size, download=download)
    except DatasetNotFoundError:
        looked = ", ".join(str(f) for f in cls.search_folders(data_dir))
        raise CLIError(f"{name} not found in {looked}; pass --download to fetch it, or --data-dir DIR for a "
                       "folder that holds its input.txt") from None


def _check(args):
    for name, value, low in (("--steps", args.steps, 1), ("--batch-size", args.batch_size, 1),
                             ("--block-size", args.block_size, 1), ("--warmup-steps", args.warmup_steps, 0),
                             ("--eval-interval", args.eval_interval, 1), ("--eval-batches", args.eval_batches, 1),
                             ("--seed", args.seed, 0)):
        if value < low:
            raise CLIError(f"{name} must be at least {low}, got {value}")
    for name in ("n_layer", "n_head", "n_embd"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if not args.lr > 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    if args.n_head is not None and args.model != "gpt":
        raise CLIError(f"--n-head applies to the gpt model, not {args.model}")


def lr_factor(step, steps, warmup, min_ratio=0.1):
    """The learning rate at ``step`` (0-based) as a fraction of the peak: linear warm-up over
    ``warmup`` steps, then a cosine from 1 down to ``min_ratio`` at the last step."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    span = max(steps - 1 - warmup, 1)
    progress = min((step - warmup) / span, 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _param_groups(model, weight_decay):
    """Weight decay on the matrices (Linear and Embedding weights), none on biases and norms."""
    params = list(model.parameters())
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def _logits(model, x):
    out = model(x)
    return out[0] if isinstance(out, tuple) else out  # the LSTM returns (logits, state)


def evaluate_loss(model, dataset, batches, batch_size, seed):
    """Mean cross-entropy over ``batches`` batches drawn from ``dataset`` by ``Generator(seed)``."""
    import ember
    from ember.nn import functional as F

    gen = ember.Generator(seed)
    was_training = model.training
    model.eval()
    total = 0.0
    with ember.no_grad():
        for _ in range(batches):
            x, y = dataset.get_batch(batch_size, generator=gen)
            logits = _logits(model, x)
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)))
    model.train(was_training)
    return total / batches


def _eval_seed(seed):
    return seed + 2  # the validation batches: a stream of their own (the weights use seed, the batches seed + 1)


def cmd_train_text(args):
    from ember.models import model_config

    _check(args)
    if args.model not in SIZE_OPTIONS:
        raise CLIError(f"{args.dataset} is text: train a language model on it (--model {' or '.join(SIZE_OPTIONS)}), "
                       f"not {args.model!r}")
    model_config(args.model)  # an unknown name fails before the data is read
    from ._run_folder import RunWriter

    # an existing run or an unwritable --out fails now, not after training
    with RunWriter(args.out, args.overwrite) as writer:
        _train_text(args, writer)


def _train_text(args, writer):
    import ember
    from ember import optim
    from ember.models import build_model, model_config
    from ember.nn import functional as F
    from ember.train import History

    train_set = _load_text(args.dataset, args.data_dir, True, args.block_size, args.download)
    val_set = _load_text(args.dataset, args.data_dir, False, args.block_size, False)

    options = {"vocab_size": train_set.vocab_size}
    for arg, option in SIZE_OPTIONS[args.model].items():
        if getattr(args, arg) is not None:
            options[option] = getattr(args, arg)
    ember.manual_seed(args.seed)  # the weights (and dropout)
    model_cfg = model_config(args.model, **options)
    model = build_model(model_cfg)
    batch_gen = ember.Generator(args.seed + 1)  # the training batches: a stream of their own

    if args.optimizer == "adamw":
        optimizer = optim.AdamW(_param_groups(model, args.weight_decay), lr=args.lr, betas=BETAS,
                                weight_decay=args.weight_decay)
    else:
        optimizer = _optimizer(args.optimizer, _param_groups(model, args.weight_decay), args.lr,
                               args.weight_decay, args.momentum)
    warmup = min(args.warmup_steps, args.steps - 1)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, args.steps, warmup))

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model} ({n_params:,} parameters) on {args.dataset}: {len(train_set.data):,} training and "
          f"{len(val_set.data):,} validation characters, vocabulary {train_set.vocab_size}, {args.steps} steps of "
          f"{args.batch_size} x {args.block_size}")
    history = History()
    model.train()
    losses, t0, val = [], time.perf_counter(), None
    for step in range(args.steps):
        x, y = train_set.get_batch(args.batch_size, generator=batch_gen)
        logits = _logits(model, x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ember.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        losses.append(float(loss))
        if (step + 1) % args.eval_interval == 0 or step + 1 == args.steps:
            ms = (time.perf_counter() - t0) / len(losses) * 1e3
            val = evaluate_loss(model, val_set, args.eval_batches, args.batch_size, _eval_seed(args.seed))
            train_loss = sum(losses) / len(losses)
            history.append(step, {"loss": train_loss, "val_loss": val, "lr": lr})
            if not args.quiet:
                print(f"step {step + 1}/{args.steps}: loss {train_loss:.4f}, val loss {val:.4f}, lr {lr:.2e}, "
                      f"{ms:.0f} ms/step", flush=True)
            losses, t0 = [], time.perf_counter()

    config = {
        "format": RUN_FORMAT, "version": 1, "model": model_cfg, "weights": _weights_name(),
        "dataset": args.dataset, "data_dir": str(os.path.abspath(train_set.folder)), "vocab": train_set.vocab,
        "train": {"steps": args.steps, "batch_size": args.batch_size, "block_size": args.block_size,
                  "lr": args.lr, "min_lr": args.lr * 0.1, "warmup_steps": warmup, "optimizer": args.optimizer,
                  "betas": list(BETAS) if args.optimizer == "adamw" else None, "weight_decay": args.weight_decay,
                  "grad_clip": GRAD_CLIP, "seed": args.seed, "eval_batches": args.eval_batches},
        "val": {"loss": val},
    }
    _save_run(writer, model, config, history, plot=_plot)  # curves.png: loss against step
    print(f"val loss: {val:.4f}")


def _plot(history, path):
    import io

    from matplotlib.figure import Figure

    from ember.io import atomic_write

    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    steps = [s + 1 for s in history.epoch]
    ax.plot(steps, history["loss"], "o-", label="train (mean since the last point)")
    ax.plot(steps, history["val_loss"], "s--", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    with atomic_write(path, "wb") as f:
        f.write(buf.getvalue())


def _text_run(run_dir):
    from ._run_folder import check_text_run

    config = _read_config(run_dir)
    if "vocab" not in config:
        raise CLIError(f"run {run_dir!r} is not a language model run (trained on {config.get('dataset')!r})")
    return check_text_run(config, str(run_dir))


def cmd_evaluate_text(args, config):
    from ._run_folder import check_text_run
    from .cli import _load_model

    check_text_run(config, str(args.run_dir))
    model = _load_model(args.run_dir, config)
    dataset = args.dataset or config["dataset"]
    train = config["train"]
    data_dir = args.data_dir
    if data_dir is None and dataset == config["dataset"] and os.path.isdir(config.get("data_dir") or ""):
        data_dir = config["data_dir"]  # where the run found its text
    val_set = _load_text(dataset, data_dir, False, train["block_size"], args.download)
    val = evaluate_loss(model, val_set, train["eval_batches"], train["batch_size"], _eval_seed(train["seed"]))
    print(f"val loss: {val:.4f}")


def cmd_generate(args):
    import ember
    from ember.datasets import CharTokenizer

    from .cli import _load_model

    config = _text_run(args.run_dir)
    for name, value, low in (("--max-new-tokens", args.max_new_tokens, 0), ("--seed", args.seed, 0)):
        if value < low:
            raise CLIError(f"{name} must be at least {low}, got {value}")
    if args.top_k is not None and args.top_k < 1:
        raise CLIError(f"--top-k must be at least 1, got {args.top_k}")
    if not args.temperature >= 0:
        raise CLIError(f"--temperature must be >= 0 (0: always the most likely character), got {args.temperature}")
    if not args.prompt:
        raise CLIError("--prompt must hold at least one character")
    tokenizer = CharTokenizer(config["vocab"])
    try:
        ids = tokenizer.encode(args.prompt)
    except ValueError as e:
        raise CLIError(f"the prompt's {e}") from None
    model = _load_model(args.run_dir, config)
    out = model.generate(ember.tensor([ids]), args.max_new_tokens, temperature=args.temperature,
                         top_k=args.top_k, generator=ember.Generator(args.seed))
    print(tokenizer.decode(out[0]))
