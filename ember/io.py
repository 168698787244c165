"""(placeholder: being written) save/load without pickle."""


class SerializationError(ValueError):
    """A file that cannot be loaded safely: truncated, corrupt, or not what it claims to be."""


def save(obj, path):
    raise NotImplementedError


def load(path):
    raise NotImplementedError
