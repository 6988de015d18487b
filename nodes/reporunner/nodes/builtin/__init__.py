"""Built-in nodes, one node class per module.

The registry imports every module of this package whose name does not start with an underscore
and registers each :class:`~reporunner.nodes.base.Node` subclass defined in it that sets
``type`` (see :func:`reporunner.nodes.registry.load_builtins`), so adding a node means adding a
module, not editing a list. Helpers shared by several nodes live in ``_<name>.py`` modules,
which are not scanned.
"""
