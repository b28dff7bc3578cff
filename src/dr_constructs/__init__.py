"""dr-constructs: AWS CDK v2 constructs for a single-region, Multi-AZ disaster-recovery stack.

Layers, one module each, composed by :class:`DrPlatform`:

* :class:`DrNetwork` - VPC, subnets, endpoints, flow logs (``network``)
* :class:`DrDatabase` - Aurora PostgreSQL and DynamoDB (``database``)
* :class:`DrBucket` - the versioned S3 bucket (``storage``)
* :class:`DrFunction` - the VPC Lambda health check (``function``)
* :class:`DrBackupVault` - AWS Backup (``backup``)
* :class:`DrObservability` - SNS, alarms, dashboard, EventBridge (``observability``)

Assurance, built on the layers:

* :class:`RecoveryObjectives` - declared RPO/RTO, checked against the synthesized
  configuration, reported beside the template (``objectives``)
* :class:`DrRestoreTesting` - scheduled, validated restore tests (``restore_testing``)
* :class:`DrDrills` - AWS FIS drills for the loss of an AZ (``drills``)
"""

__version__ = "0.1.0"

from .backup import DrBackupVault
from .database import DrDatabase
from .drills import DrDrills
from .errors import DrConfigurationError
from .function import DrFunction
from .network import DrNetwork
from .objectives import RecoveryObjectives, Target
from .observability import DrObservability
from .platform import DrPlatform
from .restore_testing import DrRestoreTesting
from .storage import DrBucket

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
    "DrRestoreTesting",
    "RecoveryObjectives",
    "Target",
    "__version__",
]
