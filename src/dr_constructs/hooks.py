"""What a core layer calls on the assurance layer, as a protocol: the core modules never import
the assurance modules (``objectives`` ...), they receive an object that has these methods."""

from __future__ import annotations

from typing import Protocol

from constructs import Construct


class ObjectivesBinding(Protocol):
    """Recovery objectives a data layer accepts (``objectives=``), e.g.
    :class:`dr_constructs.RecoveryObjectives`."""

    def bind(self, layer: Construct, *stores: Construct) -> None:
        """Hold ``stores`` (the layer's Aurora clusters, DynamoDB tables, S3 buckets) to the
        objectives: checked when the app is synthesized, and listed in the posture report."""
        ...
