"""Stateless forms of the layers, activations and losses (``ember.nn.functional``, as ``F``).

The ops themselves live in ``ember.ops`` by family; this module is the public index.
"""
