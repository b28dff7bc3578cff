"""``dr-constructs``: the operator command for a stack built with dr-constructs.

Installed with the ``cli`` extra (``pip install 'dr-constructs[cli]'``): boto3, click and rich
are imported here only, never by the library's constructs. Commands: ``status``, ``restore``
and ``drill`` (``dr-constructs --help``).
"""

from .app import cli, main

__all__ = ["cli", "main"]
