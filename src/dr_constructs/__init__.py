"""dr-constructs: AWS CDK v2 constructs for a single-region, Multi-AZ disaster-recovery stack.

Layers, one module each, composed by :class:`DrPlatform`:

* :class:`DrNetwork` - VPC, subnets, endpoints, flow logs (``network``)
* :class:`DrDatabase` - Aurora PostgreSQL and DynamoDB (``database``)
* :class:`DrBucket` - the versioned S3 bucket (``storage``)
* :class:`DrFunction` - the VPC Lambda health check (``function``)
* :class:`DrBackupVault` - AWS Backup (``backup``)
* :class:`DrObservability` - SNS, alarms, dashboard, EventBridge (``observability``)
* :class:`DrRecoveryRegion` - the vault copies go to in a second region, and what a restore
  there needs (``recovery``)

Assurance, built on the layers:

* :class:`RecoveryObjectives` - declared RPO/RTO, checked against the synthesized
  configuration, reported beside the template (``objectives``)
* :class:`DrRestoreTesting` - scheduled, validated restore tests (``restore_testing``)
* :class:`DrDrills` - AWS FIS drills for the loss of an AZ (``drills``)
* :class:`DrPostureCheck` - the same recovery-objectives check for any CDK app, as a policy
  validation plugin (``posture_check``)
* ``ResilienceHubApp`` - the objectives handed to AWS Resilience Hub (``resilience_hub``)
* ``DrBackupAudit`` - AWS Backup Audit Manager evidence (``audit``)
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .backup import DrBackupVault
    from .database import DrDatabase
    from .drills import DrDrills
    from .errors import DrConfigurationError
    from .function import DrFunction
    from .network import DrNetwork
    from .objectives import RecoveryObjectives, Target
    from .observability import DrObservability
    from .platform import DrPlatform
    from .posture_check import DrPostureCheck
    from .recovery import DrRecoveryRegion
    from .restore_testing import DrRestoreTesting
    from .storage import DrBucket

#: Public name -> module. Imported on first use, so that ``dr_constructs.cli`` (the operator
#: command) starts without loading aws-cdk-lib and its node runtime.
_EXPORTS = {
    "DrBackupVault": "backup",
    "DrBucket": "storage",
    "DrConfigurationError": "errors",
    "DrDatabase": "database",
    "DrDrills": "drills",
    "DrFunction": "function",
    "DrNetwork": "network",
    "DrObservability": "observability",
    "DrPlatform": "platform",
    "DrPostureCheck": "posture_check",
    "DrRecoveryRegion": "recovery",
    "DrRestoreTesting": "restore_testing",
    "RecoveryObjectives": "objectives",
    "Target": "objectives",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "DrBackupVault",
    "DrBucket",
    "DrConfigurationError",
    "DrDatabase",
    "DrDrills",
    "DrFunction",
    "DrNetwork",
    "DrObservability",
    "DrPlatform",
    "DrPostureCheck",
    "DrRecoveryRegion",
    "DrRestoreTesting",
    "RecoveryObjectives",
    "Target",
    "__version__",
]
