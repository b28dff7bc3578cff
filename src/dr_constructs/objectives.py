"""Recovery objectives as code: declare RPO/RTO, compute what the synthesized configuration
achieves per data store and failure mode, fail synth on a breach, report the posture.

An assurance module: the core layers never import it; they receive a
:class:`RecoveryObjectives` (``objectives=``) and call its ``bind``. Every figure is computed
from the CloudFormation properties of the resources actually built (read through their L1
constructs), never from copies of the layers' defaults. The figures and their sources are in
``docs/objectives.md``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Aws, CfnDeletionPolicy, CfnResource, Duration, Stack, Stage
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_rds as rds
from aws_cdk import aws_resiliencehub as resiliencehub
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct, IValidation

from .backup import schedule_interval_seconds
from .errors import DrConfigurationError, check_choice, check_duration
from .regions import require

#: The spec's objectives: RPO 1 hour, RTO 4 hours.
DEFAULT_RPO = Duration.hours(1)
DEFAULT_RTO = Duration.hours(4)
_MAX_TARGET = 35 * 24 * 3600  # the longest recovery window AWS offers (35 days)

# --- Documented figures (sources in docs/objectives.md) ------------------------------------
#: Aurora failover to a replica in another AZ: "typically under 60 seconds, often under 30".
AURORA_FAILOVER_SECONDS = 60
#: Aurora without a replica in another AZ: a new instance is created, up to ~10 minutes.
AURORA_REBUILD_SECONDS = 600
#: With RDS Proxy in front: client connections are kept and failover is "up to 66%" shorter.
PROXY_FAILOVER_SECONDS = 20
#: Latest restorable time of Aurora automated backups, AWS Backup continuous backup and
#: DynamoDB PITR: typically ~5 minutes behind.
CONTINUOUS_LAG_SECONDS = 300
#: Restore time assumed when the user gives no estimate: a small data set. Restore time grows
#: with data size, which no template shows: measure it (restore testing), pass ``restore_time``.
RESTORE_BASELINE_SECONDS = 3600
#: AWS Backup's defaults when a rule leaves its windows out (8 hours, 7 days).
DEFAULT_START_WINDOW_MINUTES = 8 * 60
DEFAULT_COMPLETION_WINDOW_MINUTES = 7 * 24 * 60
#: Resource types whose AWS Backup continuous backup is a point-in-time restore path.
_CONTINUOUS_TYPES = frozenset({"AWS::RDS::DBCluster", "AWS::S3::Bucket"})
_RETAINED = (CfnDeletionPolicy.RETAIN, CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE)


class FailureMode(StrEnum):
    """The failure modes a single-region Multi-AZ design covers."""

    AZ_LOSS = "az-loss"
    CORRUPTION = "corruption"
    STACK_DELETION = "stack-deletion"

    @property
    def label(self) -> str:
        return {
            "az-loss": "loss of one availability zone",
            "corruption": "logical corruption or deletion of data",
            "stack-deletion": "accidental deletion of the stack",
        }[self.value]


@dataclass(frozen=True)
class Target:
    """An override of the objectives for one failure mode; what it leaves out (None) is the
    overall ``rpo`` / ``rto``.

    ``RecoveryObjectives(rto=Duration.hours(1), az_loss=Target(rto=Duration.minutes(1)))``
    """

    rpo: Duration | None = None
    rto: Duration | None = None


class RecoveryObjectives:
    """The declared recovery point and time objectives, per failure mode.

    Args:
        rpo: most data (as time) a failure may lose. Default - 1 hour (the spec).
        rto: longest time to recover. Default - 4 hours (the spec).
        az_loss: override for the loss of one AZ. Default - ``rpo``/``rto``.
        corruption: override for logical corruption or deletion. Default - ``rpo``/``rto``.
        stack_deletion: override for accidental deletion of the stack. Default - ``rpo``/``rto``.
        region_loss: not accepted: a single-region design cannot meet any region-loss objective.
        restore_time: your estimate (better: a measurement) of how long restoring the largest
            data store takes; used wherever a restore is the way back. Default - 1 hour, the
            library's assumption for a small data set (the report says so).
    """

    def __init__(
        self,
        *,
        rpo: Duration = DEFAULT_RPO,
        rto: Duration = DEFAULT_RTO,
        az_loss: Target | None = None,
        corruption: Target | None = None,
        stack_deletion: Target | None = None,
        region_loss: Target | None = None,
        restore_time: Duration | None = None,
    ) -> None:
        if region_loss is not None:
            raise DrConfigurationError(
                "RecoveryObjectives",
                "region_loss",
                _target_text(region_loss),
                "None: dr-constructs builds a single-region design, which cannot meet any "
                "region-loss objective (the cluster, table, bucket and backup vault are all in "
                "the one region); that needs a second region (cross-region backup copies, "
                "Aurora Global Database, DynamoDB global tables), outside this library",
            )
        self.rpo_seconds = check_duration("RecoveryObjectives", "rpo", rpo, 0, _MAX_TARGET)
        self.rto_seconds = check_duration("RecoveryObjectives", "rto", rto, 0, _MAX_TARGET)
        #: Target (rpo_seconds, rto_seconds) per failure mode.
        self.targets: dict[FailureMode, tuple[int, int]] = {}
        for mode, override in (
            (FailureMode.AZ_LOSS, az_loss),
            (FailureMode.CORRUPTION, corruption),
            (FailureMode.STACK_DELETION, stack_deletion),
        ):
            prop = mode.name.lower()
            if override is not None and not isinstance(override, Target):
                raise DrConfigurationError(
                    "RecoveryObjectives", prop, type(override).__name__,
                    "a Target(rpo=..., rto=...), or None for the overall rpo/rto",
                )  # fmt: skip
            over = override or Target()
            self.targets[mode] = (
                self.rpo_seconds
                if over.rpo is None
                else check_duration("RecoveryObjectives", f"{prop}.rpo", over.rpo, 0, _MAX_TARGET),
                self.rto_seconds
                if over.rto is None
                else check_duration("RecoveryObjectives", f"{prop}.rto", over.rto, 0, _MAX_TARGET),
            )
        #: The restore time in seconds the user estimated, or None (the baseline is used).
        self.restore_time_seconds = (
            None
            if restore_time is None
            else check_duration("RecoveryObjectives", "restore_time", restore_time, 1, _MAX_TARGET)
        )

    def bind(self, layer: Construct, *stores: Construct) -> None:
        """Hold ``stores`` to these objectives: checked when the app is synthesized (a breach
        fails synthesis) and listed in the stack's posture report. Data layers call this when
        given ``objectives=``; :class:`DrPlatform` checks at once instead (:meth:`check`)."""
        PostureReport.of(layer).add(self, stores, check_at_synth=True)

    def check(self, stores: Iterable[Construct]) -> list[Posture]:
        """The postures of ``stores``; raises :class:`DrConfigurationError` on the first breach."""
        postures = assess(self, stores)
        for posture in postures:
            breach = posture.breach()
            if breach is not None:
                raise breach
        return postures

    def describe(self) -> str:
        """One line, e.g. ``RPO 1 h, RTO 4 h (az-loss: RTO 1 min)``."""
        overrides = [
            f"{mode.value}: RPO {_human(rpo)}, RTO {_human(rto)}"
            for mode, (rpo, rto) in self.targets.items()
            if (rpo, rto) != (self.rpo_seconds, self.rto_seconds)
        ]
        text = f"RPO {_human(self.rpo_seconds)}, RTO {_human(self.rto_seconds)}"
        return text + (f" ({'; '.join(overrides)})" if overrides else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rpo_seconds": self.rpo_seconds,
            "rto_seconds": self.rto_seconds,
            "per_failure": {
                mode.value: {"rpo_seconds": rpo, "rto_seconds": rto}
                for mode, (rpo, rto) in self.targets.items()
            },
            "restore_time_seconds": self.restore_time_seconds,
        }


@dataclass(frozen=True)
class Posture:
    """What one data store achieves for one failure mode, against its target.

    ``rpo_seconds``/``rto_seconds`` of None mean "not recoverable"."""

    resource: str
    resource_type: str
    failure: FailureMode
    rpo_seconds: int | None
    rto_seconds: int | None
    target_rpo_seconds: int
    target_rto_seconds: int
    evidence: str
    rpo_remedy: str = ""
    rto_remedy: str = ""

    @property
    def meets(self) -> bool:
        return self.breach() is None

    def breach(self) -> DrConfigurationError | None:
        """The error naming store, failure, target, achievable value and setting, or None."""
        for name, achieved, target, remedy in (
            ("rpo", self.rpo_seconds, self.target_rpo_seconds, self.rpo_remedy),
            ("rto", self.rto_seconds, self.target_rto_seconds, self.rto_remedy),
        ):
            if achieved is None or achieved > target:
                return DrConfigurationError(
                    "RecoveryObjectives",
                    f"{name} for {self.failure.label} of {_KINDS[self.resource_type]} "
                    f"{self.resource}",
                    _human(target),
                    f"{_human(achieved)} or more, what the synthesized configuration achieves "
                    f"({self.evidence}); to change it: {remedy}",
                )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "failure": self.failure.value,
            "rpo_seconds": self.rpo_seconds,
            "rto_seconds": self.rto_seconds,
            "target_rpo_seconds": self.target_rpo_seconds,
            "target_rto_seconds": self.target_rto_seconds,
            "evidence": self.evidence,
            "resource_type": self.resource_type,
            "meets": self.meets,
        }


_KINDS = {
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::S3::Bucket": "S3 bucket",
}


# --- The computation -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    """One way back: its RPO, its RTO, why, and what to change to do better."""

    rpo: int | None
    rto: int | None
    evidence: str
    rpo_remedy: str = ""
    rto_remedy: str = ""


def assess(objectives: RecoveryObjectives, stores: Iterable[Construct]) -> list[Posture]:
    """Postures of each store (an Aurora cluster, DynamoDB table or S3 bucket, L2 or L1) for
    each failure mode, computed from the resources' CloudFormation properties."""
    postures: list[Posture] = []
    for store in stores:
        cfn = _cfn_of(store)
        paths = _paths(cfn, objectives)
        for mode, path in paths.items():
            target_rpo, target_rto = objectives.targets[mode]
            postures.append(
                Posture(
                    resource=_path_of(cfn),
                    resource_type=cfn.cfn_resource_type,
                    failure=mode,
                    rpo_seconds=path.rpo,
                    rto_seconds=path.rto,
                    target_rpo_seconds=target_rpo,
                    target_rto_seconds=target_rto,
                    evidence=path.evidence,
                    rpo_remedy=path.rpo_remedy,
                    rto_remedy=path.rto_remedy,
                )
            )
    return postures


def _cfn_of(store: IConstruct) -> CfnResource:
    cfn = store if isinstance(store, CfnResource) else store.node.default_child
    if not isinstance(cfn, rds.CfnDBCluster | dynamodb.CfnTable | s3.CfnBucket):
        raise DrConfigurationError(
            "RecoveryObjectives", "stores", type(store).__name__,
            "Aurora clusters, DynamoDB tables and S3 buckets (L2 or L1)",
        )  # fmt: skip
    return cfn


def _paths(cfn: CfnResource, objectives: RecoveryObjectives) -> dict[FailureMode, _Path]:
    restore = _restore(objectives)
    if isinstance(cfn, rds.CfnDBCluster):
        return {
            FailureMode.AZ_LOSS: _aurora_az_loss(cfn),
            FailureMode.CORRUPTION: _best(_aurora_pitr(cfn, restore), *_backups(cfn, restore)),
            FailureMode.STACK_DELETION: _aurora_stack_deletion(cfn, restore),
        }
    if isinstance(cfn, dynamodb.CfnTable):
        return {
            FailureMode.AZ_LOSS: _Path(
                0, 0, "DynamoDB is regional: every table is stored across 3 AZs"
            ),
            FailureMode.CORRUPTION: _best(_table_pitr(cfn, restore), *_backups(cfn, restore)),
            FailureMode.STACK_DELETION: _table_stack_deletion(cfn, restore),
        }
    assert isinstance(cfn, s3.CfnBucket)
    return {
        FailureMode.AZ_LOSS: _Path(
            0, 0, "S3 is regional: objects are stored across at least 3 AZs"
        ),
        FailureMode.CORRUPTION: _best(_bucket_versions(cfn, restore), *_backups(cfn, restore)),
        FailureMode.STACK_DELETION: _bucket_stack_deletion(cfn, restore),
    }


@dataclass(frozen=True)
class _Restore:
    seconds: int
    evidence: str


def _restore(objectives: RecoveryObjectives) -> _Restore:
    if objectives.restore_time_seconds is not None:
        return _Restore(
            objectives.restore_time_seconds,
            f"restore time {_human(objectives.restore_time_seconds)}: your estimate (restore_time)",
        )
    return _Restore(
        RESTORE_BASELINE_SECONDS,
        f"restore time {_human(RESTORE_BASELINE_SECONDS)} assumed for a small data set: it "
        "grows with data size, which the template does not show; pass restore_time= or "
        "measure it with restore testing",
    )


_RESTORE_REMEDY = (
    "measure a restore of your data and pass restore_time=..., or raise the target; a restore "
    "creates a new resource, so its duration grows with the data size"
)
_PITR_FLOOR = (
    "nothing shorter exists in one region: the latest restorable time of point-in-time "
    "recovery is typically ~5 minutes behind; raise the target to 5 minutes or more"
)


def _best(*paths: _Path | None) -> _Path:
    """The path with the smallest RPO (then RTO); not recoverable if there is none."""
    found = [p for p in paths if p is not None]
    if not found:
        return _Path(
            None, None, "no point-in-time recovery, versioning or backup covers it",
            "turn on point-in-time recovery/versioning or protect it with DrBackupVault",
            "turn on point-in-time recovery/versioning or protect it with DrBackupVault",
        )  # fmt: skip
    return min(found, key=lambda p: (_inf(p.rpo), _inf(p.rto)))


def _aurora_az_loss(cfn: rds.CfnDBCluster) -> _Path:
    stack = Stack.of(cfn)
    ref = json.dumps({"Ref": stack.get_logical_id(cfn)})
    instances = [
        i
        for i in _l1s(stack, rds.CfnDBInstance).values()
        if json.dumps(_props(i).get("dbClusterIdentifier")) == ref
    ]
    azs = {json.dumps(_props(i).get("availabilityZone"), sort_keys=True) for i in instances}
    pinned = all(_props(i).get("availabilityZone") is not None for i in instances)
    storage = "RPO 0: the cluster volume keeps 6 copies across 3 AZs"
    if len(instances) >= 2 and pinned and len(azs) >= 2:
        proxy = _proxy_of(cfn)
        placement = f"{len(instances)} instances in {len(azs)} AZs (DBInstance AvailabilityZone)"
        if proxy is not None:
            return _Path(
                0,
                PROXY_FAILOVER_SECONDS,
                f"{storage}; {placement}: failover to a replica in another AZ, behind RDS Proxy "
                f"{proxy.node.path} (clients keep their connections; failover up to 66% "
                "shorter than ~60 s)",
                rto_remedy="nothing shorter in the library: ~20 s is failover behind RDS Proxy",
            )
        return _Path(
            0,
            AURORA_FAILOVER_SECONDS,
            f"{storage}; {placement}: failover to a replica in another AZ, typically under 60 s",
            rto_remedy="put RDS Proxy in front (DrDatabase proxy=True): ~20 s client-visible",
        )
    return _Path(
        0,
        AURORA_REBUILD_SECONDS,
        f"{storage}; {len(instances)} instance(s) in {len(azs)} pinned AZ(s): no replica in "
        "another AZ, so Aurora creates a new instance, up to ~10 min",
        rto_remedy="keep a reader in another AZ (DrDatabase readers=1 or more, instances "
        "pinned to different AvailabilityZone values)",
    )


def _proxy_of(cfn: rds.CfnDBCluster) -> rds.CfnDBProxy | None:
    """The TLS-only RDS Proxy whose target group holds this cluster, if any."""
    stack = Stack.of(cfn)
    ref = json.dumps({"Ref": stack.get_logical_id(cfn)})
    proxies: dict[str, rds.CfnDBProxy] = _l1s(stack, rds.CfnDBProxy)
    for group in _l1s(stack, rds.CfnDBProxyTargetGroup).values():
        props = _props(group)
        if ref not in [json.dumps(c) for c in props.get("dbClusterIdentifiers") or []]:
            continue
        name = props.get("dbProxyName")
        for logical_id, proxy in proxies.items():
            if name == {"Ref": logical_id} and _props(proxy).get("requireTls") is True:
                return proxy
    return None


def _aurora_pitr(cfn: rds.CfnDBCluster, restore: _Restore) -> _Path | None:
    days = _props(cfn).get("backupRetentionPeriod", 1)  # Aurora: 1 day when left out
    if not isinstance(days, int) or days < 1:
        return None
    return _Path(
        CONTINUOUS_LAG_SECONDS,
        restore.seconds,
        f"Aurora automated backups (BackupRetentionPeriod {days} days): restore to any second "
        f"of the window, latest restorable time typically ~5 min behind; {restore.evidence}",
        _PITR_FLOOR,
        _RESTORE_REMEDY,
    )


def _table_pitr(cfn: dynamodb.CfnTable, restore: _Restore) -> _Path | None:
    spec = _props(cfn).get("pointInTimeRecoverySpecification") or {}
    if spec.get("pointInTimeRecoveryEnabled") is not True:
        return None
    days = spec.get("recoveryPeriodInDays", 35)
    return _Path(
        CONTINUOUS_LAG_SECONDS,
        restore.seconds,
        f"DynamoDB PITR (PointInTimeRecoveryEnabled, {days} days): LatestRestorableDateTime "
        f"typically ~5 min behind; {restore.evidence}",
        _PITR_FLOOR,
        _RESTORE_REMEDY,
    )


def _bucket_versions(cfn: s3.CfnBucket, restore: _Restore) -> _Path | None:
    props = _props(cfn)
    if (props.get("versioningConfiguration") or {}).get("status") != "Enabled":
        return None
    kept = [
        r["noncurrentVersionExpiration"]["noncurrentDays"]
        for r in (props.get("lifecycleConfiguration") or {}).get("rules", [])
        if r.get("status") == "Enabled" and "noncurrentVersionExpiration" in r
    ]
    window = f"kept {min(kept)} days (NoncurrentVersionExpiration)" if kept else "kept forever"
    return _Path(
        0,
        restore.seconds,
        f"S3 versioning (VersioningConfiguration Enabled): every overwritten or deleted version "
        f"is {window}; {restore.evidence}",
        "",
        _RESTORE_REMEDY,
    )


def _backups(cfn: CfnResource, restore: _Restore) -> list[_Path]:
    """The AWS Backup paths for ``cfn``: continuous backup (Aurora, S3) and snapshots."""
    paths: list[_Path] = []
    for rule, vault in _backup_rules(cfn):
        where = f"AWS Backup plan rule {rule.get('ruleName')} to vault {vault}"
        continuous = rule.get("enableContinuousBackup") is True
        if continuous and cfn.cfn_resource_type in _CONTINUOUS_TYPES:
            paths.append(
                _Path(
                    CONTINUOUS_LAG_SECONDS,
                    restore.seconds,
                    f"{where}: continuous backup (EnableContinuousBackup), restore to any "
                    f"second of the window, typically ~5 min behind; {restore.evidence}",
                    _PITR_FLOOR,
                    _RESTORE_REMEDY,
                )
            )
        interval = schedule_interval_seconds(str(rule.get("scheduleExpression", "")))
        if interval is None:
            continue
        start = int(rule.get("startWindowMinutes", DEFAULT_START_WINDOW_MINUTES))
        completion = int(rule.get("completionWindowMinutes", DEFAULT_COMPLETION_WINDOW_MINUTES))
        paths.append(
            _Path(
                interval + 60 * (start + completion),
                restore.seconds,
                f"{where}: snapshots every {_human(interval)} "
                f"({rule.get('scheduleExpression')}) + start window {_human(60 * start)} + "
                f"completion window {_human(60 * completion)}; {restore.evidence}",
                "turn on continuous backup (Aurora, S3) or point-in-time recovery, or shorten "
                "the schedule and the start/completion windows of the backup rule",
                _RESTORE_REMEDY,
            )
        )
    return paths


def _backup_rules(cfn: CfnResource) -> list[tuple[dict[str, Any], str]]:
    """(rule, vault path) of every backup plan rule whose plan selects ``cfn``."""
    stack = Stack.of(cfn)
    logical_id = json.dumps(stack.get_logical_id(cfn))
    plans = _l1s(stack, backup.CfnBackupPlan)
    vaults = _l1s(stack, backup.CfnBackupVault)
    found: list[tuple[dict[str, Any], str]] = []
    for selection in _l1s(stack, backup.CfnBackupSelection).values():
        props = _props(selection)
        if logical_id not in json.dumps(props.get("backupSelection", {}).get("resources", [])):
            continue
        plan_id = props.get("backupPlanId")
        if not (isinstance(plan_id, dict) and "Fn::GetAtt" in plan_id):
            continue
        plan = plans.get(plan_id["Fn::GetAtt"][0])
        if plan is None:
            continue
        for rule in _props(plan).get("backupPlan", {}).get("backupPlanRule", []):
            target = rule.get("targetBackupVault")
            vault_id = target.get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
            vault = vaults.get(vault_id) if vault_id else None
            found.append((rule, vault.node.path if vault is not None else str(target)))
    return found


def _aurora_stack_deletion(cfn: rds.CfnDBCluster, restore: _Restore) -> _Path:
    props = _props(cfn)
    policy = cfn.cfn_options.deletion_policy
    if props.get("deletionProtection") is True:
        return _Path(
            0, 0, "DeletionProtection true: CloudFormation cannot delete the cluster, the stack "
            "deletion fails and the cluster keeps serving"
            + (" (DeletionPolicy Snapshot if protection is turned off first)"
               if policy == CfnDeletionPolicy.SNAPSHOT else ""),
        )  # fmt: skip
    if policy == CfnDeletionPolicy.RETAIN:
        return _Path(0, 0, "DeletionPolicy Retain: the cluster is kept with its data")
    if policy == CfnDeletionPolicy.SNAPSHOT:
        return _Path(
            0, restore.seconds,
            f"DeletionPolicy Snapshot: a final snapshot on deletion; {restore.evidence}",
            "", _RESTORE_REMEDY,
        )  # fmt: skip
    return _deleted(_backups(cfn, restore), "DeletionPolicy Delete, no deletion protection")


def _table_stack_deletion(cfn: dynamodb.CfnTable, restore: _Restore) -> _Path:
    props = _props(cfn)
    if props.get("deletionProtectionEnabled") is True:
        return _Path(0, 0, "DeletionProtectionEnabled true: CloudFormation cannot delete the table")
    if cfn.cfn_options.deletion_policy in _RETAINED:
        return _Path(0, 0, "DeletionPolicy Retain: the table is kept with its data")
    pitr = (props.get("pointInTimeRecoverySpecification") or {}).get("pointInTimeRecoveryEnabled")
    if pitr is True:
        return _Path(
            0, restore.seconds,
            "DeletionPolicy Delete, but PITR is on: DynamoDB keeps a system backup of a deleted "
            f"PITR table for 35 days; {restore.evidence}",
            "", _RESTORE_REMEDY,
        )  # fmt: skip
    return _deleted(_backups(cfn, restore), "DeletionPolicy Delete, no deletion protection")


def _bucket_stack_deletion(cfn: s3.CfnBucket, restore: _Restore) -> _Path:
    if cfn.cfn_options.deletion_policy in _RETAINED:
        return _Path(0, 0, "DeletionPolicy Retain: the bucket is kept with every object version")
    return _deleted(
        _backups(cfn, restore), "DeletionPolicy Delete: the bucket and its versions are deleted"
    )


def _deleted(backups: list[_Path], how: str) -> _Path:
    if not backups:
        return _Path(
            None, None, f"{how}, and no backup outside it",
            "removal_policy=RemovalPolicy.RETAIN, or protect it with DrBackupVault",
            "removal_policy=RemovalPolicy.RETAIN, or protect it with DrBackupVault",
        )  # fmt: skip
    best = _best(*backups)
    return _Path(
        best.rpo,
        best.rto,
        f"{how}: recovered from the backup vault, which keeps its recovery points (AWS refuses "
        f"to delete a vault that holds any) - {best.evidence}",
        best.rpo_remedy or "removal_policy=RemovalPolicy.RETAIN",
        best.rto_remedy,
    )


def backup_alarm_window_seconds(objectives: RecoveryObjectives, stores: Iterable[Construct]) -> int:
    """How long "no backup job completed" may last before it means the RPO is slipping: the
    corruption RPO target, but never less than the longest schedule interval of the backup
    rules that select the stores (a slower schedule is the plan's choice, and the objective
    is then met through continuous backup or PITR), and at least 5 minutes (AWS Backup
    publishes its metrics every 5 minutes)."""
    intervals = [
        schedule_interval_seconds(str(rule.get("scheduleExpression", ""))) or 0
        for store in stores
        for rule, _ in _backup_rules(_cfn_of(store))
    ]
    target = objectives.targets[FailureMode.CORRUPTION][0]
    return max(300, target, *intervals)


# --- The posture report ----------------------------------------------------------------------


@jsii.implements(IValidation)
class _Validation:
    def __init__(self, report: PostureReport) -> None:
        self._report = report

    def validate(self) -> list[str]:
        return self._report._validate()


class PostureReport(Construct):
    """The stack's posture: every store held to objectives, written beside the template as
    ``{stack}.dr-posture.json`` and ``.md`` when the app is synthesized.

    One per stack (:meth:`of`). The files are written into the stage's assembly directory
    during synthesis (after the tree is complete, so they describe the resources as
    synthesized); stores bound with ``check_at_synth`` fail synthesis on a breach.
    """

    ID = "DrPostureReport"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._entries: list[tuple[RecoveryObjectives, tuple[Construct, ...], bool]] = []
        self._assurance: list[dict[str, Any]] = []
        self.node.add_validation(_Validation(self))

    @classmethod
    def of(cls, scope: IConstruct) -> PostureReport:
        stack = Stack.of(scope)
        found = stack.node.try_find_child(cls.ID)
        return found if isinstance(found, PostureReport) else cls(stack, cls.ID)

    def add(
        self,
        objectives: RecoveryObjectives,
        stores: Sequence[Construct],
        *,
        check_at_synth: bool,
    ) -> None:
        self._entries.append((objectives, tuple(stores), check_at_synth))

    def add_assurance(self, construct: str, feature: str, enabled: bool, reason: str) -> None:
        """Record whether an assurance feature (restore tests, drills, ...) of ``construct``
        (a construct path) is built, and why: the report says what proves the posture."""
        self._assurance.append(
            {"construct": construct, "feature": feature, "enabled": enabled, "reason": reason}
        )

    @property
    def postures(self) -> list[Posture]:
        seen: set[str] = set()
        postures: list[Posture] = []
        for objectives, stores, _ in self._entries:
            for posture in assess(objectives, stores):
                key = f"{posture.resource}|{posture.failure}"
                if key not in seen:
                    seen.add(key)
                    postures.append(posture)
        return postures

    @property
    def file_stem(self) -> str:
        """``{artifact}`` of ``{artifact}.template.json``: the posture files sit beside it."""
        return Stack.of(self).template_file.removesuffix(".template.json")

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": Stack.of(self).stack_name,
            "objectives": [o.to_dict() for o in _unique(o for o, _, _ in self._entries)],
            "postures": [p.to_dict() for p in self.postures],
            "assurance": list(self._assurance),
        }

    def to_markdown(self) -> str:
        objectives = "; ".join(o.describe() for o in _unique(o for o, _, _ in self._entries))
        lines = [
            f"# DR posture of {Stack.of(self).stack_name}",
            "",
            f"Declared objectives: {objectives}.",
            "",
            posture_table(self.postures),
        ]
        if self._assurance:
            lines += ["", "## Assurance features", "", "| construct | feature | built | why |",
                      "| --- | --- | --- | --- |"]  # fmt: skip
            lines += [
                f"| {a['construct']} | {a['feature']} | {'yes' if a['enabled'] else 'no'} | "
                f"{a['reason']} |"
                for a in self._assurance
            ]
        return "\n".join(lines) + "\n"

    def _validate(self) -> list[str]:
        out = Path(Stage.of(self).outdir)  # type: ignore[union-attr]
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{self.file_stem}.dr-posture.json").write_text(
            json.dumps(self.to_dict(), indent=2) + "\n"
        )
        (out / f"{self.file_stem}.dr-posture.md").write_text(self.to_markdown())
        errors: list[str] = []
        for objectives, stores, check_at_synth in self._entries:
            if check_at_synth:
                errors += [str(b) for p in assess(objectives, stores) if (b := p.breach())]
        return errors


def posture_table(postures: Iterable[Posture | dict[str, Any]]) -> str:
    """A markdown table of postures (or their ``to_dict()`` rows)."""
    lines = [
        "| resource | failure | RPO | RTO | target RPO | target RTO | evidence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for posture in postures:
        row = posture.to_dict() if isinstance(posture, Posture) else posture
        lines.append(
            f"| {row['resource']} | {row['failure']} | {_human(row['rpo_seconds'])} | "
            f"{_human(row['rto_seconds'])} | {_human(row['target_rpo_seconds'])} | "
            f"{_human(row['target_rto_seconds'])} | {row['evidence']} |"
        )
    return "\n".join(lines)


def summary_markdown(objectives: RecoveryObjectives, postures: Sequence[Posture]) -> str:
    """The dashboard's text: declared objectives and, per failure mode, the worst store."""
    lines = [f"**Objectives** {objectives.describe()}. **Achievable** (worst store):"]
    for mode in FailureMode:
        rows = [p for p in postures if p.failure == mode]
        if not rows:
            continue
        rpo = max((p.rpo_seconds for p in rows), key=_inf)
        rto = max((p.rto_seconds for p in rows), key=_inf)
        lines.append(f"{mode.label}: RPO {_human(rpo)}, RTO {_human(rto)}.")
    return " ".join(lines)


# --- AWS Resilience Hub ----------------------------------------------------------------------

#: The app template of an application whose resources come from its CloudFormation stack.
_APP_TEMPLATE = {
    "resources": [],
    "appComponents": [
        {"name": "appcommon", "type": "AWS::ResilienceHub::AppCommonAppComponent",
         "resourceNames": []}
    ],
    "excludedResources": {},
    "version": 2.0,
}  # fmt: skip
RESILIENCE_HUB_TIERS = ("MissionCritical", "Critical", "Important", "CoreServices", "NonCritical")


class ResilienceHubApp(Construct):
    """The objectives handed to AWS Resilience Hub for its own assessment (L1 only).

    A resiliency policy (:attr:`policy`) from the same objectives: ``AZ`` and ``Hardware``
    take the AZ-loss targets, ``Software`` the corruption targets; no ``Region`` (a
    single-region design). An application (:attr:`app`) mapped to the deployed stack
    (``CfnStack``, the stack's ARN), assessed daily, that sends drift and failed scheduled
    assessments to ``topic`` (let ``resiliencehub.amazonaws.com`` publish to it, e.g.
    ``DrObservability.allow_service_to_publish``).

    Args:
        scope: parent construct.
        id: construct id.
        objectives: the :class:`RecoveryObjectives` to hand over.
        name: names the policy and the application (letters, digits, ``-``, ``_``).
        topic: the SNS topic for drift and assessment-failure notifications.
        tier: the policy's tier. Default - ``Critical``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        objectives: RecoveryObjectives,
        name: str,
        topic: sns.ITopic,
        tier: str = "Critical",
    ) -> None:
        super().__init__(scope, id)
        require(self, "ResilienceHubApp", "resilience_hub", True, "resilience_hub")
        check_choice("ResilienceHubApp", "tier", tier, RESILIENCE_HUB_TIERS)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{1,59}", name):
            raise DrConfigurationError(
                "ResilienceHubApp", "name", name, "2-60 letters, digits, '-' or '_'"
            )

        def failure(mode: FailureMode) -> resiliencehub.CfnResiliencyPolicy.FailurePolicyProperty:
            rpo, rto = objectives.targets[mode]
            return resiliencehub.CfnResiliencyPolicy.FailurePolicyProperty(
                rpo_in_secs=rpo, rto_in_secs=rto
            )

        self.policy = resiliencehub.CfnResiliencyPolicy(
            self, "Policy", policy_name=name, tier=tier,
            policy_description=f"dr-constructs objectives: {objectives.describe()}",
            policy={
                "AZ": failure(FailureMode.AZ_LOSS),
                "Hardware": failure(FailureMode.AZ_LOSS),
                "Software": failure(FailureMode.CORRUPTION),
            },
        )  # fmt: skip
        self.app = resiliencehub.CfnApp(
            self, "App", name=name,
            description="The DR stack, assessed against its declared recovery objectives",
            app_template_body=json.dumps(_APP_TEMPLATE, separators=(",", ":")),
            resiliency_policy_arn=self.policy.attr_policy_arn,
            resource_mappings=[
                resiliencehub.CfnApp.ResourceMappingProperty(
                    mapping_type="CfnStack",
                    physical_resource_id=resiliencehub.CfnApp.PhysicalResourceIdProperty(
                        identifier=Aws.STACK_ID, type="Arn"
                    ),
                )
            ],
            app_assessment_schedule="Daily",
            event_subscriptions=[
                resiliencehub.CfnApp.EventSubscriptionProperty(
                    event_type=event, name=f"{name}-{event}", sns_topic_arn=topic.topic_arn
                )
                for event in ("DriftDetected", "ScheduledAssessmentFailure")
            ],
        )  # fmt: skip


# --- Helpers ---------------------------------------------------------------------------------


def _props(cfn: CfnResource) -> dict[str, Any]:
    """The L1's properties, resolved (camelCase keys, intrinsic functions as JSON)."""
    resolved = Stack.of(cfn).resolve(cfn._cfn_properties)  # the L1's own property bag
    return resolved if isinstance(resolved, dict) else {}


def _l1s(stack: Stack, type_: type[CfnResource]) -> dict[str, Any]:
    """Every L1 of ``type_`` in ``stack``, by logical id."""
    return {stack.get_logical_id(c): c for c in stack.node.find_all() if isinstance(c, type_)}


def _path_of(cfn: CfnResource) -> str:
    """The store's construct path: its L2's (``Dr/Database/Table``) when it has one."""
    scope = cfn.node.scope
    if cfn.node.id == "Resource" and scope is not None:
        return scope.node.path
    return cfn.node.path


def _inf(value: int | None) -> float:
    return math.inf if value is None else value


def _unique(items: Iterable[RecoveryObjectives]) -> list[RecoveryObjectives]:
    out: list[RecoveryObjectives] = []
    for item in items:
        if all(item is not o for o in out):
            out.append(item)
    return out


def _human(seconds: int | None) -> str:
    if seconds is None:
        return "not recoverable"
    if seconds < 60 or seconds % 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48 or hours % 24:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{hours // 24} days"


def _target_text(target: Any) -> str:
    if isinstance(target, Target):
        parts = [
            f"{name}={value.to_human_string()}"
            for name, value in (("rpo", target.rpo), ("rto", target.rto))
            if value is not None
        ]
        return f"Target({', '.join(parts)})"
    return type(target).__name__


__all__ = [
    "DEFAULT_RPO",
    "DEFAULT_RTO",
    "FailureMode",
    "Posture",
    "PostureReport",
    "RecoveryObjectives",
    "ResilienceHubApp",
    "Target",
    "assess",
    "backup_alarm_window_seconds",
    "posture_table",
    "schedule_interval_seconds",
    "summary_markdown",
]
