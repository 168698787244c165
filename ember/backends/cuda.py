"""``ember.backends.cuda``: ``backends.cuda.matmul.allow_tf32`` and friends, accepted."""


class _Matmul:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()


def is_built():
    return False
