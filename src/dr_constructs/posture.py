"""The posture engine: what the synthesized configuration achieves per data store and failure
mode, computed from the CloudFormation properties of the resources actually built (read through
their L1 constructs or a synthesized template), never from copies of the layers' defaults. The
figures and their sources are in ``docs/objectives.md``.

:mod:`dr_constructs.objectives` declares the objectives and holds stores to them with this
engine; :mod:`dr_constructs.posture_report` writes what it finds beside the template.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from aws_cdk import CfnResource, Stack
from constructs import Construct, IConstruct

from .contract import AZ_LOSS, CORRUPTION, REGION_LOSS, STACK_DELETION
from .errors import DrConfigurationError
from .schedules import schedule_interval_seconds
from .templates import STORE_TYPES, RefTo, Resource, StackTemplate, Unknown, selection, shown
from .templates import App as TemplateApp

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
#: Time assumed for a copy of a recovery point to reach another region when the user gives no
#: estimate: it grows with the data (the first copy is full, later ones incremental where the
#: service supports it), which no template shows: measure it, pass ``copy_time``.
COPY_BASELINE_SECONDS = 3600
#: AWS Backup's defaults when a rule leaves its windows out (8 hours, 7 days).
DEFAULT_START_WINDOW_MINUTES = 8 * 60
DEFAULT_COMPLETION_WINDOW_MINUTES = 7 * 24 * 60
#: Resource types whose AWS Backup continuous backup is a point-in-time restore path.
_CONTINUOUS_TYPES = frozenset({"AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::S3::Bucket"})
_RETAINED = ("Retain", "RetainExceptOnCreate")


class FailureMode(StrEnum):
    """The failure modes a single-region Multi-AZ design covers, and the loss of the region
    (assessed only for objectives that state a ``region_loss`` target)."""

    AZ_LOSS = "az-loss"
    CORRUPTION = "corruption"
    STACK_DELETION = "stack-deletion"
    REGION_LOSS = "region-loss"

    @property
    def key(self) -> str:
        """The mode as the template's metadata and the operator command name it
        (:data:`~dr_constructs.contract.FAILURE_MODES`, :data:`~dr_constructs.contract.
        REGION_LOSS`)."""
        return {
            "az-loss": AZ_LOSS,
            "corruption": CORRUPTION,
            "stack-deletion": STACK_DELETION,
            "region-loss": REGION_LOSS,
        }[self.value]

    @property
    def label(self) -> str:
        return {
            "az-loss": "loss of one availability zone",
            "corruption": "logical corruption or deletion of data",
            "stack-deletion": "accidental deletion of the stack",
            "region-loss": "loss of the whole region",
        }[self.value]


class Objectives(Protocol):
    """What the engine reads of the declared objectives
    (:class:`~dr_constructs.objectives.RecoveryObjectives`)."""

    #: Target (rpo_seconds, rto_seconds) per failure mode.
    targets: dict[FailureMode, tuple[int, int]]
    #: The restore time in seconds the user estimated, or None (the baseline is used).
    restore_time_seconds: int | None
    #: The time in seconds a copy takes to reach another region, or None (the baseline).
    copy_time_seconds: int | None

    def describe(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


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
    objectives: Objectives,
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
    objectives: Objectives, stacks: Sequence[StackTemplate]
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


def _postures(objectives: Objectives, app: TemplateApp, store: Resource) -> list[Posture]:
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
    app: TemplateApp, store: Resource, objectives: Objectives, notes: list[str]
) -> dict[FailureMode, _Path]:
    paths = _single_region_paths(app, store, objectives, notes)
    if FailureMode.REGION_LOSS in objectives.targets:
        paths[FailureMode.REGION_LOSS] = _region_loss(app, store, objectives, notes)
    return paths


def _single_region_paths(
    app: TemplateApp, store: Resource, objectives: Objectives, notes: list[str]
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
class _Estimate:
    """A duration the template does not show (a restore, a copy): the user's or assumed."""

    seconds: int
    evidence: str


_Restore = _Estimate


def _estimate(given: int | None, baseline: int, name: str, prop: str, assumed: str) -> _Estimate:
    """``given`` (the user's estimate, prop ``prop``), else ``baseline`` and why it is
    assumed."""
    if given is not None:
        return _Estimate(given, f"{name} {_human(given)}: your estimate ({prop})")
    return _Estimate(baseline, f"{name} {_human(baseline)} assumed{assumed}")


def _restore(objectives: Objectives) -> _Restore:
    return _estimate(
        objectives.restore_time_seconds, RESTORE_BASELINE_SECONDS, "restore time",
        "restore_time", " for a small data set: it grows with data size, which the template "
        "does not show; pass restore_time= or measure it with restore testing",
    )  # fmt: skip


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
    for rule, vault, _ in rules:
        name, expression = str(rule.get("RuleName")), str(rule.get("ScheduleExpression", ""))
        if _true(rule.get("EnableContinuousBackup")) and store.type in continuous_types:
            found.append(RecoveryPoints("CONTINUOUS", name, vault, expression))
            continue
        start, completion = _windows(rule)
        found.append(
            RecoveryPoints(
                "SNAPSHOT", name, vault, expression, schedule_interval_seconds(expression),
                start, completion,
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


def _region_loss(
    app: TemplateApp, store: Resource, objectives: Objectives, notes: list[str]
) -> _Path:
    """The way back after the loss of the region: a copy in another region, restored there.

    A rule's copy action runs after each of its backups; a copy to another region of a
    continuous point "becomes a snapshot (periodic) backup" (AWS Backup guide, "Copy a
    backup"), so every copy counts as the rule's snapshots do: schedule interval + start
    window + completion window, plus the time the copy takes to arrive (``copy_time``)."""
    restore = _restore(objectives)
    copy = _copy_time(objectives)
    paths: list[_Path] = []
    unversioned = store.type == "AWS::S3::Bucket" and not _versioned(store)
    for rule, _, stack in [] if unversioned else _backup_rules(app, store, []):
        expression = str(rule.get("ScheduleExpression", ""))
        interval = schedule_interval_seconds(expression)
        start, completion = _windows(rule)
        for action in rule.get("CopyActions") or []:
            found = app.text(stack, action.get("DestinationBackupVaultArn"))
            region, target = _arn_region(found), shown(found or "")
            if region is None or stack.region is None:
                notes.append(
                    f"rule {rule.get('RuleName')} copies to {target or 'a vault'}, whose region "
                    "(or this stack's) is only known at deploy: not counted as another region"
                )
                continue
            if region == stack.region or interval is None:
                continue
            paths.append(
                _Path(
                    interval + start + completion + copy.seconds,
                    restore.seconds,
                    f"AWS Backup plan rule {rule.get('RuleName')} copies every backup to "
                    f"{target} ({region}): every {_human(interval)} ({expression}) + start "
                    f"window {_human(start)} + completion window {_human(completion)} + "
                    f"{copy.evidence}; restored in {region}: {restore.evidence}"
                    + (_DYNAMODB_COPIES if store.type == "AWS::DynamoDB::Table" else ""),
                    "shorten the backup rule's schedule and start/completion windows, measure "
                    "the copy time (copy_time=...), or raise the target; below about 1 hour "
                    "take Aurora Global Database / DynamoDB global tables "
                    "(docs/recovery-region.md)",
                    _RESTORE_REMEDY,
                )
            )
    if not paths:
        return _Path(
            None, None, "every recovery point stays in this region: no backup is copied to "
            "another region",
            _NO_COPY_REMEDY, _NO_COPY_REMEDY,
        )  # fmt: skip
    return _best(*paths)


_NO_COPY_REMEDY = (
    "a recovery region: DrPlatform(..., recovery_region=DrRecoveryRegion(...)) in a stack of "
    "the other region (docs/recovery-region.md), or copy actions to a vault in another region"
)
_DYNAMODB_COPIES = (
    "; DynamoDB copies need AWS Backup's advanced features for DynamoDB turned on in the "
    "account and region (a prerequisite: no CloudFormation resource sets it)"
)


def _copy_time(objectives: Objectives) -> _Estimate:
    return _estimate(
        objectives.copy_time_seconds, COPY_BASELINE_SECONDS, "copy time", "copy_time",
        ": it grows with the data, which the template does not show; pass copy_time= once "
        "measured",
    )  # fmt: skip


def _windows(rule: Mapping[str, Any]) -> tuple[int, int]:
    """A rule's start and completion windows in seconds (AWS Backup's defaults if absent)."""
    start = _int(rule.get("StartWindowMinutes"), None) or DEFAULT_START_WINDOW_MINUTES
    completion = _int(rule.get("CompletionWindowMinutes"), None) or (
        DEFAULT_COMPLETION_WINDOW_MINUTES
    )
    return 60 * start, 60 * completion


def _arn_region(arn: str | None) -> str | None:
    """The region of an ARN known at synth, else None."""
    parts = (arn or "").split(":")
    if len(parts) < 6 or not parts[3] or "\x01" in parts[3]:
        return None
    return parts[3]


def copy_arrival_window(
    objectives: Objectives, stores: Iterable[Construct], *, templates: Templates | None = None
) -> int | None:
    """How long "no copy arrived in the recovery vault" may last before it means copies
    stopped: the region-loss RPO target when the objectives state one, else the longest
    region-loss RPO the stores achieve; None when no store is copied to another region."""
    if FailureMode.REGION_LOSS in objectives.targets:
        return max(300, objectives.targets[FailureMode.REGION_LOSS][0])
    achieved = [
        _region_loss(app, store, objectives, []).rpo
        for app, store in _in_templates(stores, templates)
    ]
    known = [rpo for rpo in achieved if rpo is not None]
    return max(300, *known) if known else None


def _backup_rules(
    app: TemplateApp, store: Resource, notes: list[str]
) -> list[tuple[Mapping[str, Any], str, StackTemplate]]:
    """(rule, vault, the plan's stack) of every backup plan rule whose plan selects ``store``;
    what cannot be decided from the templates goes to ``notes`` and is not counted."""
    found: list[tuple[Mapping[str, Any], str, StackTemplate]] = []
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
            found.append(
                (rule, vault.l1_path if isinstance(vault, Resource) else str(target), plan.stack)
            )
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
    objectives: Objectives,
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
