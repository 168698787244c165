"""``ember.utils.data`` is ``ember.data``, the same module, as ``torch.utils.data``.

Importing this name binds it (and every submodule, ``ember.utils.data.dataloader`` and the
rest) to ``ember.data``'s modules, so classes are the same objects under both names.
"""
import sys

from .. import data as _data

for _name, _module in list(sys.modules.items()):
    if _name.startswith("ember.data."):
        sys.modules["ember.utils.data." + _name[len("ember.data."):]] = _module
sys.modules[__name__] = _data
