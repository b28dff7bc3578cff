"""Recovery objectives as code: declare RPO/RTO, compute what the synthesized configuration
achieves per data store and failure mode, fail synth on a breach, report the posture.

An assurance module: the core layers never import it; they receive a
:class:`RecoveryObjectives` (``objectives=``) and call its ``bind``. Every figure is computed
from the CloudFormation properties of the resources actually built (read through their L1
constructs), never from copies of the layers' defaults. The figures and their sources are in
``docs/objectives.md``.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import CfnResource, Duration, Stack, Stage
from constructs import Construct, IConstruct, IValidation

from .contract import AZ_LOSS, CORRUPTION, SPEC_RPO_SECONDS, SPEC_RTO_SECONDS, STACK_DELETION
from .errors import DrConfigurationError, check_duration
from .schedules import schedule_interval_seconds
from .templates import STORE_TYPES, RefTo, Resource, StackTemplate, Unknown, selection
from .templates import App as TemplateApp

#: The spec's objectives: RPO 1 hour, RTO 4 hours.
DEFAULT_RPO = Duration.hours(SPEC_RPO_SECONDS // 3600)
DEFAULT_RTO = Duration.hours(SPEC_RTO_SECONDS // 3600)
_MAX_TARGET = 35 * 24 * 3600  # the longest recovery window AWS offers (35 days)

# --- Documented figures (sources in docs/objectives.md) ------------------------------------
#: Aurora failover to a replica in another AZ: "typically under 60 seconds, often under 30".
AURORA_FAILOVER_SECONDS = 60
#: Aurora without a replica in another AZ: a new instance is created, up to ~10 minutes.
AURORA_REBUILD_SECONDS = 600
#: With RDS Proxy in front: client connections are kept and failover is "up to 66%" shorter.
PROXY_FAILOVER_SECONDS = 20
#: RDS Multi-AZ DB instance deployment (one standby): "Failover times are typically 60-120
#: seconds".
RDS_MULTI_AZ_FAILOVER_SECONDS = 120
#: RDS Multi-AZ DB cluster (two readable standbys): "Failover times are typically under 35
#: seconds".
MULTI_AZ_CLUSTER_FAILOVER_SECONDS = 35
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
_CONTINUOUS_TYPES = frozenset({"AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::S3::Bucket"})
_RETAINED = ("Retain", "RetainExceptOnCreate")


class FailureMode(StrEnum):
    """The failure modes a single-region Multi-AZ design covers."""

    AZ_LOSS = "az-loss"
    CORRUPTION = "corruption"
    STACK_DELETION = "stack-deletion"

    @property
    def key(self) -> str:
        """The mode as the template's metadata and the operator command name it
        (:data:`~dr_constructs.contract.FAILURE_MODES`)."""
        return {"az-loss": AZ_LOSS, "corruption": CORRUPTION, "stack-deletion": STACK_DELETION}[
            self.value
        ]

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
        #: Target (rpo_seconds, rto_seconds) per failure mode (as Durations: :meth:`rpo`,
        #: :meth:`rto`).
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

    def rpo(self, mode: FailureMode) -> Duration:
        """The RPO target of the failure ``mode`` (its override, else the overall ``rpo``)."""
        return Duration.seconds(self.targets[mode][0])

    def rto(self, mode: FailureMode) -> Duration:
        """The RTO target of the failure ``mode`` (its override, else the overall ``rto``)."""
        return Duration.seconds(self.targets[mode][1])

    def bind(self, layer: Construct, *stores: Construct) -> None:
        """Hold ``stores`` to these objectives: checked when the app is synthesized (a breach
        fails synthesis) and listed in the stack's posture report. Data layers call this when
        given ``objectives=``; :class:`DrPlatform` checks at once instead (:meth:`check`)."""
        PostureReport.of(layer).add(self, stores, check_at_synth=True)

    def check(
        self, stores: Iterable[Construct], *, templates: Templates | None = None
    ) -> list[Posture]:
        """The postures of ``stores``; raises :class:`DrConfigurationError` on the first breach.
        ``templates`` keeps the stacks' templates rendered for later calls (see :func:`assess`)."""
        postures = assess(self, stores, templates=templates)
        for posture in postures:
            breach = posture.breach()
            if breach is not None:
                raise breach
        return postures

    def describe(self) -> str:
        """One line, e.g. ``RPO 1 h, RTO 4 h (az-loss: RTO 1 min)``."""
        return _describe(self.to_dict())

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

    ``rpo_seconds``/``rto_seconds`` of None mean "not recoverable". ``not_counted`` lists the
    ways back the templates show but the figures leave out, each with the reason (unknown at
    synth, e.g. a plan outside the app, or known not to work)."""

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
    not_counted: tuple[str, ...] = ()
    kind: str = ""

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
                kind = self.kind or _KINDS[self.resource_type]
                accepted = (
                    "none: it is not recoverable"
                    if achieved is None
                    else f"{_human(achieved)} or more"
                )
                unknown = (
                    "; not counted: " + "; ".join(self.not_counted) if self.not_counted else ""
                )
                return DrConfigurationError(
                    "RecoveryObjectives",
                    f"{name} for {self.failure.label} of {kind} {self.resource}",
                    _human(target),
                    f"{accepted}, what the synthesized configuration achieves "
                    f"({self.evidence}); to change it: {remedy}{unknown}",
                )
        return None

    @property
    def remedy(self) -> str:
        """The setting to change for the first figure that misses its target, else ""."""
        if self.rpo_seconds is None or self.rpo_seconds > self.target_rpo_seconds:
            return self.rpo_remedy
        if self.rto_seconds is None or self.rto_seconds > self.target_rto_seconds:
            return self.rto_remedy
        return ""

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
            "not_counted": list(self.not_counted),
        }


_KINDS = {
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "RDS DB instance",
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


#: Stack templates already rendered, by stack path: pass the same one to several calls that
#: read the tree as it stands at one moment, and each stack is rendered once for all of them.
Templates = dict[str, StackTemplate]


def assess(
    objectives: RecoveryObjectives,
    stores: Iterable[Construct],
    *,
    templates: Templates | None = None,
) -> list[Posture]:
    """Postures of each store (an RDS DB cluster or standalone DB instance, DynamoDB table or S3
    bucket; L2, L1 or a plain ``CfnResource``) for each failure mode, computed from its stack's
    template as the constructs stand now (:meth:`StackTemplate.of`), or as rendered into
    ``templates`` already."""
    return [
        p
        for app, store in _in_templates(stores, templates)
        for p in _postures(objectives, app, store)
    ]


def _in_templates(
    stores: Iterable[Construct], templates: Templates | None = None
) -> list[tuple[TemplateApp, Resource]]:
    """Each store as a resource of its stack's template (rendered once per stack, and kept in
    ``templates`` when given)."""
    templates = {} if templates is None else templates
    found = []
    for store in stores:
        cfn = _cfn_of(store)
        stack = Stack.of(cfn)
        template = templates.get(stack.node.path) or StackTemplate.of(stack)
        templates[stack.node.path] = template
        found.append((TemplateApp([template]), Resource(template, stack.get_logical_id(cfn))))
    return found


def assess_templates(
    objectives: RecoveryObjectives, stacks: Sequence[StackTemplate]
) -> list[tuple[Resource, list[Posture]]]:
    """Every data store of ``stacks`` (the templates of one app, e.g. synthesized) with its
    postures; AWS Backup selections and cross-stack references are followed across them."""
    app = TemplateApp(stacks)
    return [(store, _postures(objectives, app, store)) for store in stores_of(app)]


def stores_of(app: TemplateApp) -> list[Resource]:
    """The data stores of the app's templates (:data:`~dr_constructs.templates.STORE_TYPES`)."""
    return [
        store
        for store in app.resources(*STORE_TYPES)
        if not (store.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in store.props)
    ]


def _postures(objectives: RecoveryObjectives, app: TemplateApp, store: Resource) -> list[Posture]:
    notes: list[str] = []
    paths = _paths(app, store, objectives, notes)
    postures = []
    for mode, path in paths.items():
        target_rpo, target_rto = objectives.targets[mode]
        postures.append(
            Posture(
                resource=store.path,
                resource_type=store.type,
                failure=mode,
                rpo_seconds=path.rpo,
                rto_seconds=path.rto,
                target_rpo_seconds=target_rpo,
                target_rto_seconds=target_rto,
                evidence=path.evidence,
                rpo_remedy=path.rpo_remedy,
                rto_remedy=path.rto_remedy,
                not_counted=tuple(dict.fromkeys(notes)),
                kind=_kind(app, store),
            )
        )
    return postures


def _cfn_of(store: IConstruct) -> CfnResource:
    cfn = store if isinstance(store, CfnResource) else store.node.default_child
    if not isinstance(cfn, CfnResource) or cfn.cfn_resource_type not in STORE_TYPES:
        raise DrConfigurationError(
            "RecoveryObjectives", "stores", type(store).__name__,
            "RDS DB clusters (Aurora, Multi-AZ) and DB instances, DynamoDB tables and S3 "
            "buckets (L2 or L1)",
        )  # fmt: skip
    return cfn


def _paths(
    app: TemplateApp, store: Resource, objectives: RecoveryObjectives, notes: list[str]
) -> dict[FailureMode, _Path]:
    restore = _restore(objectives)
    backups = _backups(app, store, restore, notes)
    if store.type == "AWS::RDS::DBCluster":
        return {
            FailureMode.AZ_LOSS: _cluster_az_loss(app, store),
            FailureMode.CORRUPTION: _best(_rds_pitr(app, store, restore), *backups),
            FailureMode.STACK_DELETION: _rds_stack_deletion(store, restore, backups),
        }
    if store.type == "AWS::RDS::DBInstance":
        pitr = _rds_pitr(app, store, restore)
        return {
            FailureMode.AZ_LOSS: _instance_az_loss(store, _best(pitr, *backups)),
            FailureMode.CORRUPTION: _best(pitr, *backups),
            FailureMode.STACK_DELETION: _rds_stack_deletion(store, restore, backups),
        }
    if store.type == "AWS::DynamoDB::Table":
        return {
            FailureMode.AZ_LOSS: _Path(
                0, 0, "DynamoDB is regional: every table is stored across 3 AZs"
            ),
            FailureMode.CORRUPTION: _best(_table_pitr(store, restore), *backups),
            FailureMode.STACK_DELETION: _table_stack_deletion(store, restore, backups),
        }
    return {
        FailureMode.AZ_LOSS: _Path(
            0, 0, "S3 is regional: objects are stored across at least 3 AZs"
        ),
        FailureMode.CORRUPTION: _best(_bucket_versions(store, restore), *backups),
        FailureMode.STACK_DELETION: _bucket_stack_deletion(store, backups),
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


def _kind(app: TemplateApp, store: Resource) -> str:
    if store.type == "AWS::RDS::DBCluster" and not _aurora(app, store):
        return "Multi-AZ DB cluster"
    return _KINDS[store.type]


def _aurora(app: TemplateApp, cluster: Resource) -> bool:
    """Aurora (``Engine`` aurora-*), else a Multi-AZ DB cluster (``mysql``, ``postgres``)."""
    engine = app.text(cluster.stack, cluster.props.get("Engine"))
    return engine is None or engine.lower().startswith("aurora")


def _cluster_az_loss(app: TemplateApp, cluster: Resource) -> _Path:
    storage = "RPO 0: the cluster volume keeps 6 copies across 3 AZs"
    if not _aurora(app, cluster):
        return _Path(
            0,
            MULTI_AZ_CLUSTER_FAILOVER_SECONDS,
            "Multi-AZ DB cluster: a writer and two readable standbys in three AZs, a change "
            "committed once a standby has it; failover typically under 35 s",
            rto_remedy="nothing shorter in one region: failover of a Multi-AZ DB cluster is "
            "typically under 35 s",
        )
    instances = _instances_of(app, cluster)
    azs = {json.dumps(i.props.get("AvailabilityZone"), sort_keys=True) for i in instances}
    pinned = all(i.props.get("AvailabilityZone") is not None for i in instances)
    if len(instances) >= 2 and not pinned:
        return _Path(
            0,
            AURORA_REBUILD_SECONDS,
            f"{storage}; {len(instances)} instances, AvailabilityZone left to RDS on some: "
            "whether a replica is in another AZ is only known at deploy, so not counted: Aurora "
            "creates a new instance, up to ~10 min",
            rto_remedy="pin the instances to different AvailabilityZone values (a reader in "
            "another AZ fails over in typically under 60 s)",
        )
    if len(instances) >= 2 and pinned and len(azs) >= 2:
        proxy = _proxy_of(app, cluster)
        placement = f"{len(instances)} instances in {len(azs)} AZs (DBInstance AvailabilityZone)"
        if proxy is not None:
            return _Path(
                0,
                PROXY_FAILOVER_SECONDS,
                f"{storage}; {placement}: failover to a replica in another AZ, behind RDS Proxy "
                f"{proxy.l1_path} (clients keep their connections; failover up to 66% "
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


def _instances_of(app: TemplateApp, cluster: Resource) -> list[Resource]:
    """The DB instances of the cluster: ``DBClusterIdentifier`` names it (``Ref``, or its
    literal identifier)."""
    name = app.text(cluster.stack, cluster.props.get("DBClusterIdentifier"))
    found = []
    for instance in app.resources("AWS::RDS::DBInstance"):
        value = app.value(instance.stack, instance.props.get("DBClusterIdentifier"))
        by_ref = isinstance(value, RefTo) and value.resource.is_(cluster)
        by_name = isinstance(value, str) and name is not None and value.lower() == name.lower()
        if by_ref or by_name:
            found.append(instance)
    return found


def _proxy_of(app: TemplateApp, cluster: Resource) -> Resource | None:
    """The TLS-only RDS Proxy whose target group holds this cluster, if any."""
    for group in app.resources("AWS::RDS::DBProxyTargetGroup"):
        targets = [app.value(group.stack, c) for c in group.props.get("DBClusterIdentifiers") or []]
        if not any(isinstance(t, RefTo) and t.resource.is_(cluster) for t in targets):
            continue
        proxy = app.resource(group.stack, group.props.get("DBProxyName"), "AWS::RDS::DBProxy")
        if isinstance(proxy, Resource) and _true(proxy.props.get("RequireTLS")):
            return proxy
    return None


def _instance_az_loss(instance: Resource, restored: _Path) -> _Path:
    if _true(instance.props.get("MultiAZ")):
        return _Path(
            0,
            RDS_MULTI_AZ_FAILOVER_SECONDS,
            "MultiAZ true: a synchronous standby in another AZ takes over, failover typically "
            "60-120 s",
            rto_remedy="a Multi-AZ DB cluster (two readable standbys, failover typically under "
            "35 s) or Aurora with a reader in another AZ",
        )
    single = "MultiAZ false: one instance, its storage in one AZ, restored in another AZ"
    multi_az = "MultiAZ: true (a synchronous standby in another AZ, failover typically 60-120 s)"
    return _Path(
        restored.rpo,
        restored.rto,
        f"{single} - {restored.evidence}",
        multi_az if restored.rpo is None else restored.rpo_remedy or multi_az,
        multi_az,
    )


def _rds_pitr(app: TemplateApp, store: Resource, restore: _Restore) -> _Path | None:
    days = _int(store.props.get("BackupRetentionPeriod"), 1)  # CloudFormation's default: 1 day
    if days is None or days < 1:
        return None
    aurora = store.type == "AWS::RDS::DBCluster" and _aurora(app, store)
    what = "Aurora automated backups" if aurora else "RDS automated backups"
    return _Path(
        CONTINUOUS_LAG_SECONDS,
        restore.seconds,
        f"{what} (BackupRetentionPeriod {days} days): restore to any second "
        f"of the window, latest restorable time typically ~5 min behind; {restore.evidence}",
        _PITR_FLOOR,
        _RESTORE_REMEDY,
    )


def _table_pitr(table: Resource, restore: _Restore) -> _Path | None:
    spec = table.props.get("PointInTimeRecoverySpecification") or {}
    if not _true(spec.get("PointInTimeRecoveryEnabled")):
        return None
    days = _int(spec.get("RecoveryPeriodInDays"), 35)
    return _Path(
        CONTINUOUS_LAG_SECONDS,
        restore.seconds,
        f"DynamoDB PITR (PointInTimeRecoveryEnabled, {days} days): LatestRestorableDateTime "
        f"typically ~5 min behind; {restore.evidence}",
        _PITR_FLOOR,
        _RESTORE_REMEDY,
    )


def _versioned(bucket: Resource) -> bool:
    return (bucket.props.get("VersioningConfiguration") or {}).get("Status") == "Enabled"


def _bucket_versions(bucket: Resource, restore: _Restore) -> _Path | None:
    if not _versioned(bucket):
        return None
    kept = [
        _int(rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays"), None)
        or _int(rule.get("NoncurrentVersionExpirationInDays"), None)
        for rule in (bucket.props.get("LifecycleConfiguration") or {}).get("Rules", [])
        if rule.get("Status") == "Enabled"
    ]
    days = [k for k in kept if k is not None]
    window = f"kept {min(days)} days (NoncurrentVersionExpiration)" if days else "kept forever"
    return _Path(
        0,
        restore.seconds,
        f"S3 versioning (VersioningConfiguration Enabled): every overwritten or deleted version "
        f"is {window}; {restore.evidence}",
        "",
        _RESTORE_REMEDY,
    )


@dataclass(frozen=True)
class RecoveryPoints:
    """The recovery points one AWS Backup plan rule makes of a store.

    ``kind`` is ``CONTINUOUS`` or ``SNAPSHOT`` (AWS Backup's recovery point types). A rule with
    ``EnableContinuousBackup`` makes one continuous point of Aurora, RDS and S3 and no snapshot
    of them ("False (or not specified) causes AWS Backup to create snapshot backups"; a
    continuous rule's schedule is "for maintenance and syncing purposes"); of a store AWS Backup
    cannot back up continuously (DynamoDB, Multi-AZ DB clusters) it makes snapshots ("Automatic
    fallback to snapshots")."""

    kind: str
    rule: str
    vault: str
    schedule: str
    #: Snapshots: the longest gap between two scheduled runs (None: schedule not readable).
    interval_seconds: int | None = None
    #: Snapshots: the rule's start and completion windows.
    start_seconds: int = 0
    completion_seconds: int = 0

    @property
    def latest_seconds(self) -> int | None:
        """Snapshots: how long after the previous snapshot the next one may complete, at most
        (interval + start window + completion window)."""
        if self.kind == "CONTINUOUS" or self.interval_seconds is None:
            return None
        return self.interval_seconds + self.start_seconds + self.completion_seconds

    def describe(self) -> str:
        if self.kind == "CONTINUOUS":
            return f"one continuous recovery point (rule {self.rule})"
        every = _human(self.interval_seconds) if self.interval_seconds else self.schedule
        return f"snapshots every {every} (rule {self.rule})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "rule": self.rule,
            "vault": self.vault,
            "schedule": self.schedule,
            "interval_seconds": self.interval_seconds,
        }


def recovery_points(store: Construct) -> list[RecoveryPoints]:
    """The AWS Backup recovery points the plan rules selecting ``store`` make of it."""
    return [p for app, resource in _in_templates([store]) for p in _points(app, resource, [])]


def _points(app: TemplateApp, store: Resource, notes: list[str]) -> list[RecoveryPoints]:
    """The recovery points of ``store``, one entry per plan rule selecting it; a bucket without
    versioning gets none (AWS Backup's S3 backups need S3 Versioning), noted in ``notes``."""
    rules = _backup_rules(app, store, notes)
    if rules and store.type == "AWS::S3::Bucket" and not _versioned(store):
        notes.append(
            "AWS Backup selects it, but backing up S3 needs S3 Versioning (VersioningConfiguration "
            "Enabled): without it the backup jobs fail, so no recovery point is counted"
        )
        return []
    # AWS Backup's continuous backup covers Aurora, RDS instances and S3, not Multi-AZ DB clusters
    continuous_types = _CONTINUOUS_TYPES - (set() if _aurora(app, store) else {store.type})
    found: list[RecoveryPoints] = []
    for rule, vault in rules:
        name, expression = str(rule.get("RuleName")), str(rule.get("ScheduleExpression", ""))
        if _true(rule.get("EnableContinuousBackup")) and store.type in continuous_types:
            found.append(RecoveryPoints("CONTINUOUS", name, vault, expression))
            continue
        start = _int(rule.get("StartWindowMinutes"), None) or DEFAULT_START_WINDOW_MINUTES
        completion = (
            _int(rule.get("CompletionWindowMinutes"), None) or DEFAULT_COMPLETION_WINDOW_MINUTES
        )
        found.append(
            RecoveryPoints(
                "SNAPSHOT", name, vault, expression, schedule_interval_seconds(expression),
                60 * start, 60 * completion,
            )
        )  # fmt: skip
    return found


def _backups(app: TemplateApp, store: Resource, restore: _Restore, notes: list[str]) -> list[_Path]:
    """The AWS Backup paths for ``store``: its continuous point (Aurora, RDS, S3) and snapshots."""
    paths: list[_Path] = []
    for points in _points(app, store, notes):
        where = f"AWS Backup plan rule {points.rule} to vault {points.vault}"
        if points.kind == "CONTINUOUS":
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
        elif points.latest_seconds is not None:
            paths.append(
                _Path(
                    points.latest_seconds,
                    restore.seconds,
                    f"{where}: snapshots every {_human(points.interval_seconds)} "
                    f"({points.schedule}) + start window {_human(points.start_seconds)} + "
                    f"completion window {_human(points.completion_seconds)}; {restore.evidence}",
                    "turn on continuous backup (Aurora, S3) or point-in-time recovery, or "
                    "shorten the schedule and the start/completion windows of the backup rule",
                    _RESTORE_REMEDY,
                )
            )
    return paths


def _backup_rules(
    app: TemplateApp, store: Resource, notes: list[str]
) -> list[tuple[Mapping[str, Any], str]]:
    """(rule, vault) of every backup plan rule whose plan selects ``store``; what cannot be
    decided from the templates goes to ``notes`` and is not counted."""
    found: list[tuple[Mapping[str, Any], str]] = []
    for resource in app.resources("AWS::Backup::BackupSelection"):
        chosen = selection(app, resource, store)
        if chosen.note is not None:
            notes.append(chosen.note)
        if chosen.selects is not True:
            continue
        plan_id = resource.props.get("BackupPlanId")
        plan = app.resource(resource.stack, plan_id, "AWS::Backup::BackupPlan")
        if not isinstance(plan, Resource):
            reason = plan.reason if isinstance(plan, Unknown) else f"plan {plan!r}"
            notes.append(
                f"AWS Backup selection {resource.path} selects it, but its plan is not in this "
                f"app ({reason}): its rules are unknown"
            )
            continue
        for rule in (plan.props.get("BackupPlan") or {}).get("BackupPlanRule", []):
            target = rule.get("TargetBackupVault")
            vault = app.resource(plan.stack, target, "AWS::Backup::BackupVault")
            found.append((rule, vault.l1_path if isinstance(vault, Resource) else str(target)))
    return found


def _rds_stack_deletion(store: Resource, restore: _Restore, backups: list[_Path]) -> _Path:
    kind = "cluster" if store.type == "AWS::RDS::DBCluster" else "instance"
    policy = store.deletion_policy
    named = f"DeletionPolicy {policy}"
    if policy is None:  # CloudFormation's default for DB clusters and standalone DB instances
        policy, named = "Snapshot", "DeletionPolicy Snapshot (CloudFormation's default here)"
    if _true(store.props.get("DeletionProtection")):
        return _Path(
            0, 0, f"DeletionProtection true: CloudFormation cannot delete the {kind}, the stack "
            f"deletion fails and the {kind} keeps serving"
            + (f" ({named} if protection is turned off first)" if policy == "Snapshot" else ""),
        )  # fmt: skip
    if policy in _RETAINED:
        return _Path(0, 0, f"{named}: the {kind} is kept with its data")
    if policy == "Snapshot":
        return _Path(
            0, restore.seconds,
            f"{named}: a final snapshot on deletion; {restore.evidence}",
            "", _RESTORE_REMEDY,
        )  # fmt: skip
    return _deleted(backups, f"{named}, no deletion protection")


def _table_stack_deletion(table: Resource, restore: _Restore, backups: list[_Path]) -> _Path:
    if _true(table.props.get("DeletionProtectionEnabled")):
        return _Path(0, 0, "DeletionProtectionEnabled true: CloudFormation cannot delete the table")
    if table.deletion_policy in _RETAINED:
        return _Path(0, 0, "DeletionPolicy Retain: the table is kept with its data")
    pitr = (table.props.get("PointInTimeRecoverySpecification") or {}).get(
        "PointInTimeRecoveryEnabled"
    )
    if _true(pitr):
        return _Path(
            0, restore.seconds,
            "DeletionPolicy Delete, but PITR is on: DynamoDB keeps a system backup of a deleted "
            f"PITR table for 35 days; {restore.evidence}",
            "", _RESTORE_REMEDY,
        )  # fmt: skip
    return _deleted(backups, "DeletionPolicy Delete, no deletion protection")


def _bucket_stack_deletion(bucket: Resource, backups: list[_Path]) -> _Path:
    if bucket.deletion_policy in _RETAINED:
        return _Path(0, 0, "DeletionPolicy Retain: the bucket is kept with every object version")
    return _deleted(backups, "DeletionPolicy Delete: the bucket and its versions are deleted")


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


#: AWS Backup's ``ResourceType`` (its metrics' dimension) of each store type.
BACKUP_RESOURCE_TYPE = {
    "AWS::RDS::DBCluster": "Aurora",
    "AWS::DynamoDB::Table": "DynamoDB",
    "AWS::S3::Bucket": "S3",
}


def backup_alarm_windows(
    objectives: RecoveryObjectives,
    stores: Iterable[Construct],
    *,
    templates: Templates | None = None,
) -> dict[str, int]:
    """Per AWS Backup resource type, how long "no backup job completed" may last before it
    means backups stopped: the longest a snapshot may legitimately take to follow the previous
    one (interval + start + completion windows of the most frequent snapshot rule), never less
    than the corruption RPO target nor 5 minutes (AWS Backup publishes every 5 minutes).

    Only snapshots count: a continuous rule "creates one continuous recovery point and updates
    that recovery point whenever the job runs" (AWS Backup guide, "Continuous backups and
    point-in-time recovery"), and AWS documents no completed job per period for it. A type
    with continuous points only has no window (and no such alarm)."""
    target = objectives.targets[FailureMode.CORRUPTION][0]
    windows: dict[str, int] = {}
    for app, store in _in_templates(stores, templates):
        gaps = [p.latest_seconds for p in _points(app, store, []) if p.latest_seconds is not None]
        resource_type = BACKUP_RESOURCE_TYPE.get(store.type)
        if gaps and resource_type is not None:
            window = max(300, target, min(gaps))
            windows[resource_type] = max(window, windows.get(resource_type, 0))
    return windows


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
        return self._postures({})

    def _postures(self, templates: Templates) -> list[Posture]:
        seen: set[str] = set()
        postures: list[Posture] = []
        for objectives, stores, _ in self._entries:
            for posture in assess(objectives, stores, templates=templates):
                key = f"{posture.resource}|{posture.failure}"
                if key not in seen:
                    seen.add(key)
                    postures.append(posture)
        return postures

    @property
    def file_stem(self) -> str:
        """``{artifact}`` of ``{artifact}.template.json``: the posture files sit beside it."""
        return Stack.of(self).template_file.removesuffix(".template.json")

    @property
    def recovery_points(self) -> dict[str, list[RecoveryPoints]]:
        """Per store (construct path), the AWS Backup recovery points its plan rules make."""
        return self._recovery_points({})

    def _recovery_points(self, templates: Templates) -> dict[str, list[RecoveryPoints]]:
        found: dict[str, list[RecoveryPoints]] = {}
        stores = [store for _, entry, _ in self._entries for store in entry]
        for app, store in _in_templates(stores, templates):
            found.setdefault(store.path, _points(app, store, []))
        return found

    def to_dict(self) -> dict[str, Any]:
        return self._to_dict({})

    def _to_dict(self, templates: Templates) -> dict[str, Any]:
        return {
            "stack": Stack.of(self).stack_name,
            "objectives": [o.to_dict() for o in _unique(o for o, _, _ in self._entries)],
            "postures": [p.to_dict() for p in self._postures(templates)],
            "recovery_points": {
                store: [p.to_dict() for p in points]
                for store, points in self._recovery_points(templates).items()
            },
            "assurance": list(self._assurance),
        }

    def to_markdown(self) -> str:
        return posture_markdown(self.to_dict())

    def _validate(self) -> list[str]:
        """Write the report and check the stores bound ``check_at_synth``, from one rendering of
        each stack's template."""
        templates: Templates = {}
        out = Path(Stage.of(self).outdir)  # type: ignore[union-attr]
        write_posture_report(out, self.file_stem, self._to_dict(templates))
        errors: list[str] = []
        for objectives, stores, check_at_synth in self._entries:
            if check_at_synth:
                postures = assess(objectives, stores, templates=templates)
                errors += [str(b) for p in postures if (b := p.breach())]
        return errors


def posture_markdown(report: Mapping[str, Any]) -> str:
    """The markdown of a posture report (``PostureReport.to_dict()``'s form)."""
    objectives = "; ".join(_describe(o) for o in report["objectives"]) or "none"
    lines = [
        f"# DR posture of {report['stack']}",
        "",
        f"Declared objectives: {objectives}.",
        "",
        posture_table(report["postures"]) if report["postures"] else "No data store.",
    ]
    if "recovery_points" in report:
        lines += ["", "## AWS Backup recovery points", ""]
        lines += [
            f"- {store}: "
            + ("; ".join(_describe_points(p) for p in points) or "none (no backup plan selects it)")
            for store, points in report["recovery_points"].items()
        ]
    if report.get("assurance"):
        lines += ["", "## Assurance features", "", "| construct | feature | built | why |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        lines += [
            f"| {a['construct']} | {a['feature']} | {'yes' if a['enabled'] else 'no'} | "
            f"{a['reason']} |"
            for a in report["assurance"]
        ]
    return "\n".join(lines) + "\n"


def _describe_points(points: Mapping[str, Any]) -> str:
    """:meth:`RecoveryPoints.describe` of a ``to_dict()`` row."""
    return RecoveryPoints(
        points["type"], points["rule"], points["vault"], points["schedule"],
        points["interval_seconds"],
    ).describe()  # fmt: skip


def write_posture_report(directory: Path, stem: str, report: Mapping[str, Any]) -> None:
    """Write ``{stem}.dr-posture.json`` and ``.md`` (``report`` in ``to_dict()``'s form)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.dr-posture.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    path.with_suffix(".md").write_text(posture_markdown(report))


def posture_table(postures: Iterable[Posture | Mapping[str, Any]]) -> str:
    """A markdown table of postures (or their ``to_dict()`` rows)."""
    lines = [
        "| resource | failure | RPO | RTO | target RPO | target RTO | evidence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for posture in postures:
        row = posture.to_dict() if isinstance(posture, Posture) else posture
        evidence = row["evidence"] + "".join(
            f"; not counted: {note}" for note in row.get("not_counted") or []
        )
        lines.append(
            f"| {row['resource']} | {row['failure']} | {_human(row['rpo_seconds'])} | "
            f"{_human(row['rto_seconds'])} | {_human(row['target_rpo_seconds'])} | "
            f"{_human(row['target_rto_seconds'])} | {evidence} |"
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


# --- Helpers ---------------------------------------------------------------------------------


def _true(value: Any) -> bool:
    """A template boolean: ``true``, or the string CloudFormation accepts for it."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _int(value: Any, default: int | None) -> int | None:
    """A template integer (or its string); ``default`` when absent, None when not a number."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


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


def _describe(objectives: Mapping[str, Any]) -> str:
    """:meth:`RecoveryObjectives.describe` of its ``to_dict()``."""
    rpo, rto = objectives["rpo_seconds"], objectives["rto_seconds"]
    overrides = [
        f"{mode}: RPO {_human(t['rpo_seconds'])}, RTO {_human(t['rto_seconds'])}"
        for mode, t in objectives["per_failure"].items()
        if (t["rpo_seconds"], t["rto_seconds"]) != (rpo, rto)
    ]
    text = f"RPO {_human(rpo)}, RTO {_human(rto)}"
    return text + (f" ({'; '.join(overrides)})" if overrides else "")


def _target_text(target: Any) -> str:
    if isinstance(target, Target):
        parts = [
            f"{name}={value.to_human_string()}"
            for name, value in (("rpo", target.rpo), ("rto", target.rto))
            if value is not None
        ]
        return f"Target({', '.join(parts)})"
    return type(target).__name__


#: Moved to :mod:`dr_constructs.resilience_hub`; still importable from here (loaded on first use:
#: that module builds on this one).
_MOVED = {
    "ResilienceHubApp": "resilience_hub",
    "RESILIENCE_HUB_INVOKER_POLICY": "resilience_hub",
    "RESILIENCE_HUB_TIERS": "resilience_hub",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_RPO",
    "DEFAULT_RTO",
    "FailureMode",
    "Posture",
    "PostureReport",
    "RecoveryObjectives",
    "RecoveryPoints",
    "ResilienceHubApp",  # noqa: F822 - moved, served by __getattr__
    "Target",
    "assess",
    "assess_templates",
    "backup_alarm_windows",
    "posture_markdown",
    "posture_table",
    "recovery_points",
    "schedule_interval_seconds",
    "stores_of",
    "summary_markdown",
    "write_posture_report",
]
