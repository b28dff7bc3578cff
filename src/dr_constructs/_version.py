"""The package's version: the one version source, read by hatchling and bumped by the release.

A module of its own, importing nothing, so any layer may read the version without importing
the package ``__init__``.
"""

__version__ = "0.1.0"
