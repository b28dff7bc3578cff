"""posture_check: DrPostureCheck, the recovery-posture check of any CDK app, as CDK runs it."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import (
    Acknowledgment,
    App,
    CfnResource,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    Tags,
    Validations,
)
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3

import dr_constructs
from dr_constructs import (
    DrConfigurationError,
    DrPlatform,
    DrPostureCheck,
    RecoveryObjectives,
    Target,
)
from dr_constructs.objectives import (
    AURORA_FAILOVER_SECONDS,
    AURORA_REBUILD_SECONDS,
    CONTINUOUS_LAG_SECONDS,
    RESTORE_BASELINE_SECONDS,
    FailureMode,
    Posture,
)

from .conftest import ACCOUNT, REGION, ROOT

AZ, CORRUPTION, DELETION = FailureMode.AZ_LOSS, FailureMode.CORRUPTION, FailureMode.STACK_DELETION
ENV = Environment(account=ACCOUNT, region=REGION)
HOUR = 3600


def _handwritten_module() -> Any:
    """examples/handwritten/app.py, imported as a user's own module."""
    path = ROOT / "examples" / "handwritten" / "app.py"
    spec = importlib.util.spec_from_file_location("handwritten_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HandWrittenDrStack = _handwritten_module().HandWrittenDrStack


@dataclass
class Run:
    """One synthesis with the check: the check, what synthesis raised, CDK's report."""

    app: App
    check: DrPostureCheck
    error: str | None
    report: dict[str, Any]

    @property
    def violations(self) -> list[dict[str, Any]]:
        return self.report["violations"]  # type: ignore[no-any-return]

    @property
    def suppressed(self) -> list[dict[str, Any]]:
        return self.report.get("suppressedViolations", [])  # type: ignore[no-any-return]

    def findings(self) -> list[tuple[str, str]]:
        """(store construct path, failure mode) of every unacknowledged finding."""
        return sorted(
            (c["constructPath"].removesuffix("/Resource"), v["ruleName"])
            for v in self.violations
            for c in v["violatingConstructs"]
        )

    def posture_file(self, stack: str) -> dict[str, Any]:
        return json.loads((Path(self.app.outdir) / f"{stack}.dr-posture.json").read_text())  # type: ignore[no-any-return]


def _app(tmp_path: Path) -> App:
    return App(outdir=str(tmp_path), analytics_reporting=False)


def _run(app: App, objectives: RecoveryObjectives | None = None) -> Run:
    check = DrPostureCheck(objectives=objectives)
    Validations.of(app).add_plugins(check)
    try:
        app.synth()
        error = None
    except RuntimeError as raised:  # CDK's ValidationFailed, through jsii
        error = str(raised)
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    # CDK lists a plugin only when it reported something (a violation, or an acknowledged one)
    mine = [r for r in report["pluginReports"] if r["pluginName"] == DrPostureCheck.NAME]
    return Run(app, check, error, mine[0] if mine else {"conclusion": "success", "violations": []})


def _by(postures: list[Posture]) -> dict[tuple[str, FailureMode], Posture]:
    return {(p.resource.rsplit("/", 1)[-1], p.failure): p for p in postures}


# --- The plugin form ---------------------------------------------------------------------------


def test_bad_objectives_name_the_prop() -> None:
    with pytest.raises(DrConfigurationError, match=r"DrPostureCheck: invalid objectives='str'"):
        DrPostureCheck(objectives="1h")  # type: ignore[arg-type]


def test_acknowledgement_ids_are_plugin_and_failure_mode() -> None:
    assert DrPostureCheck.rule_id(DELETION) == "DrPostureCheck::stack-deletion"
    check = DrPostureCheck()
    assert (check.name, check.version) == ("DrPostureCheck", dr_constructs.__version__)
    assert check.rule_ids == ["az-loss", "corruption", "stack-deletion"]


# --- A hand-written stack of the spec, L2 only, everything DESTROY ------------------------------


@pytest.fixture(scope="module")
def handwritten(tmp_path_factory: pytest.TempPathFactory) -> Run:
    app = _app(tmp_path_factory.mktemp("handwritten"))
    HandWrittenDrStack(app, "HandWrittenDr", env=ENV)
    return _run(app)


def test_a_python_class_serves_as_a_cdk_validation_plugin(handwritten: Run) -> None:
    assert handwritten.report["pluginVersion"] == dr_constructs.__version__
    assert handwritten.report["conclusion"] == "failure"
    assert handwritten.error is not None and "(DrPostureCheck)" in handwritten.error


def test_handwritten_every_store_is_assessed(handwritten: Run) -> None:
    postures = handwritten.check.postures["HandWrittenDr"]
    assert sorted({(p.resource, p.resource_type) for p in postures}) == [
        ("HandWrittenDr/Aurora", "AWS::RDS::DBCluster"),
        ("HandWrittenDr/Bucket", "AWS::S3::Bucket"),
        ("HandWrittenDr/Table", "AWS::DynamoDB::Table"),
    ]
    assert len(postures) == 9


def test_handwritten_stack_deletion_breach_is_a_finding(handwritten: Run) -> None:
    """aws-cdk-lib's BackupResource.from_construct selects the cluster and the table, not the
    bucket: deleting the stack deletes the bucket (DESTROY) with no copy anywhere."""
    assert handwritten.findings() == [("HandWrittenDr/Bucket", "stack-deletion")]
    (violation,) = handwritten.violations
    description = violation["description"]
    for part in (
        "accidental deletion of the stack of S3 bucket HandWrittenDr/Bucket",
        "='1 h'",
        "not recoverable",
        "DeletionPolicy Delete",
    ):
        assert part in description, description
    assert "removal_policy=RemovalPolicy.RETAIN" in violation["suggestedFix"]
    assert "Acknowledge with 'DrPostureCheck::stack-deletion'" in str(handwritten.error)


def test_handwritten_figures_match_drplatforms_for_the_same_settings(handwritten: Run) -> None:
    """Where the hand-written stack has DrPlatform's settings, the figures are DrPlatform's;
    where it differs, the difference is the setting."""
    mine = _by(handwritten.check.postures["HandWrittenDr"])
    platform = DrPlatform(Stack(App(), "P", env=ENV), "Dr", removal_policy=RemovalPolicy.DESTROY)
    theirs = _by(platform.postures)
    figures = {
        key: (p.rpo_seconds, p.rto_seconds)
        for key, p in mine.items()
        if key[0] in ("Aurora", "Table", "Bucket")
    }
    same = {
        ("Aurora", CORRUPTION): ("Cluster", CORRUPTION),  # 7-day automated backups
        ("Aurora", DELETION): ("Cluster", DELETION),  # DESTROY, the vault's continuous backup
        ("Table", AZ): ("Table", AZ),
        ("Table", CORRUPTION): ("Table", CORRUPTION),  # PITR
        ("Table", DELETION): ("Table", DELETION),  # DynamoDB's system backup of a PITR table
        ("Bucket", AZ): ("Bucket", AZ),
        ("Bucket", CORRUPTION): ("Bucket", CORRUPTION),  # versioning
    }
    for ours, platforms in same.items():
        p = theirs[platforms]
        assert figures[ours] == (p.rpo_seconds, p.rto_seconds), ours
    assert figures["Aurora", DELETION] == (CONTINUOUS_LAG_SECONDS, RESTORE_BASELINE_SECONDS)
    # different settings, different figures: instances left to RDS's choice of AZ ...
    assert (theirs["Cluster", AZ].rto_seconds, figures["Aurora", AZ][1]) == (
        AURORA_FAILOVER_SECONDS,
        AURORA_REBUILD_SECONDS,
    )
    assert "only known at deploy" in mine["Aurora", AZ].evidence
    # ... and a bucket no backup selects
    assert theirs["Bucket", DELETION].rpo_seconds == CONTINUOUS_LAG_SECONDS
    assert figures["Bucket", DELETION] == (None, None)


def test_handwritten_posture_report_is_written_beside_the_template(handwritten: Run) -> None:
    report = handwritten.posture_file("HandWrittenDr")
    assert report["stack"] == "HandWrittenDr"
    assert report["objectives"] == [RecoveryObjectives().to_dict()]
    assert [p["meets"] for p in report["postures"]].count(False) == 1
    markdown = (Path(handwritten.app.outdir) / "HandWrittenDr.dr-posture.md").read_text()
    assert "| HandWrittenDr/Bucket | stack-deletion | not recoverable |" in markdown


def test_acknowledged_finding_passes_with_its_reason_in_the_report(tmp_path: Path) -> None:
    app = _app(tmp_path)
    stack = HandWrittenDrStack(app, "HandWrittenDr", env=ENV)
    reason = "scratch exports, rebuilt nightly from the table; nothing to recover"
    Validations.of(stack.bucket).acknowledge(
        Acknowledgment(id=DrPostureCheck.rule_id(DELETION), reason=reason)
    )
    run = _run(app)
    assert run.error is None and run.violations == []
    assert run.report["conclusion"] == "success"
    (suppressed,) = run.suppressed
    assert (suppressed["ruleName"], suppressed["reason"]) == ("stack-deletion", reason)
    assert suppressed["acknowledgedAt"] == "HandWrittenDr/Bucket"
    assert suppressed["violatingConstructs"][0]["constructPath"] == "HandWrittenDr/Bucket/Resource"


# --- Stores that break the objectives, one way each -------------------------------------------


def _table(stack: Stack, *, pitr: bool, policy: RemovalPolicy) -> dynamodb.Table:
    return dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=pitr
        ),
        removal_policy=policy,
    )


def _plan(stack: Stack, *resources: backup.BackupResource, continuous: bool = True) -> None:
    plan = backup.BackupPlan(
        stack,
        "Plan",
        backup_plan_rules=[
            backup.BackupPlanRule(
                rule_name="Hourly",
                schedule_expression=events.Schedule.cron(minute="0"),
                start_window=Duration.hours(1),
                completion_window=Duration.hours(2),
                delete_after=Duration.days(7),
                enable_continuous_backup=continuous,
            )
        ],
    )
    plan.add_selection("Selection", resources=list(resources))


def _no_pitr(app: App) -> None:
    _table(Stack(app, "S", env=ENV), pitr=False, policy=RemovalPolicy.RETAIN)


def _versioning_off(app: App) -> None:
    s3.Bucket(Stack(app, "S", env=ENV), "Bucket", removal_policy=RemovalPolicy.RETAIN)


def _no_backup_plan(app: App) -> None:
    stack = Stack(app, "S", env=ENV)
    cluster = rds.CfnDBCluster(
        stack, "Cluster", engine="aurora-postgresql", deletion_protection=False
    )
    cluster.apply_removal_policy(RemovalPolicy.DESTROY)


def _selection_by_tag_that_misses(app: App) -> None:
    stack = Stack(app, "S", env=ENV)
    table = _table(stack, pitr=False, policy=RemovalPolicy.RETAIN)
    Tags.of(table).add("backup", "weekly")
    _plan(stack, backup.BackupResource.from_tag("backup", "daily"))


def _single_az_cluster(app: App) -> None:
    stack = Stack(app, "S", env=ENV)
    cluster = rds.CfnDBCluster(stack, "Cluster", engine="aurora-postgresql")
    rds.CfnDBInstance(
        stack, "Writer", db_cluster_identifier=cluster.ref, engine="aurora-postgresql",
        db_instance_class="db.t4g.medium", availability_zone="us-east-1a",
    )  # fmt: skip


def _plan_outside_the_app(app: App) -> None:
    stack = Stack(app, "S", env=ENV)
    bucket = s3.Bucket(stack, "Bucket", versioned=True, removal_policy=RemovalPolicy.DESTROY)
    organisation = backup.BackupPlan.from_backup_plan_id(stack, "Org", "8f0d3a52-org-plan")
    backup.BackupSelection(
        stack, "Selection", backup_plan=organisation,
        resources=[backup.BackupResource.from_arn(bucket.bucket_arn)],
    )  # fmt: skip


BREAKING = {
    "no PITR": (_no_pitr, ("S/Table", "corruption"), "no point-in-time recovery, versioning"),
    "versioning off": (_versioning_off, ("S/Bucket", "corruption"), "no point-in-time"),
    "no backup plan": (
        _no_backup_plan,
        ("S/Cluster", "stack-deletion"),
        "DeletionPolicy Delete, no deletion protection, and no backup outside it",
    ),
    "selection by tag that misses": (
        _selection_by_tag_that_misses,
        ("S/Table", "corruption"),
        "not counted: AWS Backup selection S/Plan/Selection selects by tags (backup=daily)",
    ),
    "single-AZ cluster": (
        _single_az_cluster,
        ("S/Cluster", "az-loss"),
        "1 instance(s) in 1 pinned AZ(s): no replica in another AZ",
    ),
    "plan outside the app": (
        _plan_outside_the_app,
        ("S/Bucket", "stack-deletion"),
        "not counted: AWS Backup selection S/Selection selects it, but its plan is not in this "
        "app (plan '8f0d3a52-org-plan'): its rules are unknown",
    ),
}


@pytest.mark.parametrize("way", list(BREAKING))
def test_each_way_of_breaking_the_objectives_gives_its_finding(tmp_path: Path, way: str) -> None:
    build, finding, text = BREAKING[way]
    app = _app(tmp_path)
    build(app)
    # the single-AZ cluster misses a 1-minute AZ-loss RTO; the others the spec's 1 h / 4 h
    strict = way == "single-AZ cluster"
    run = _run(app, RecoveryObjectives(az_loss=Target(rto=Duration.minutes(1))) if strict else None)
    assert run.findings() == [finding]
    (violation,) = run.violations
    assert text in violation["description"], violation["description"]


def test_a_selection_by_tag_that_matches_counts(tmp_path: Path) -> None:
    """The same plan, the tag the selection asks for (added with CDK's Tags.of): covered."""
    app = _app(tmp_path)
    stack = Stack(app, "S", env=ENV)
    table = _table(stack, pitr=False, policy=RemovalPolicy.DESTROY)
    Tags.of(table).add("backup", "daily")
    _plan(stack, backup.BackupResource.from_tag("backup", "daily"))
    run = _run(app, RecoveryObjectives(rpo=Duration.hours(5)))
    assert run.findings() == []
    postures = _by(run.check.postures["S"])
    # DynamoDB: snapshots only, every hour + 1 h start + 2 h completion window
    assert postures["Table", DELETION].rpo_seconds == 4 * HOUR
    assert "AWS Backup plan rule Hourly" in postures["Table", DELETION].evidence


def test_a_plan_in_another_stack_is_followed_through_cross_stack_references(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path)
    data = Stack(app, "Data", env=ENV)
    bucket = s3.Bucket(data, "Bucket", versioned=True, removal_policy=RemovalPolicy.DESTROY)
    protection = Stack(app, "Protection", env=ENV)
    _plan(protection, backup.BackupResource.from_arn(bucket.bucket_arn))
    run = _run(app)
    assert run.findings() == []
    template = json.loads((Path(app.outdir) / "Protection.template.json").read_text())
    assert "Fn::ImportValue" in json.dumps(template)  # the selection names the bucket by import
    deletion = _by(run.check.postures["Data"])["Bucket", DELETION]
    assert deletion.rpo_seconds == CONTINUOUS_LAG_SECONDS
    assert "AWS Backup plan rule Hourly to vault Protection/Plan/Vault" in deletion.evidence
    assert run.posture_file("Protection")["postures"] == []  # a report for every stack


# --- Stores built by other libraries -----------------------------------------------------------


def test_stores_built_by_another_library_are_assessed(tmp_path: Path) -> None:
    """aws-solutions-constructs 2.105.0 pins aws-cdk-lib==2.273.0 and cannot install beside
    2.275: other libraries' stores are L1s, typed or plain ``CfnResource``, as here."""
    app = _app(tmp_path)
    stack = Stack(app, "S", env=ENV)
    CfnResource(
        stack, "Orders", type="AWS::DynamoDB::Table",
        properties={
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )  # fmt: skip
    rds.CfnDBInstance(
        stack, "Legacy", engine="postgres", db_instance_class="db.t4g.micro",
        allocated_storage="20", backup_retention_period=0, multi_az=False,
    )  # fmt: skip
    run = _run(app)
    postures = _by(run.check.postures["S"])
    assert {(p.resource, p.resource_type) for p in postures.values()} == {
        ("S/Orders", "AWS::DynamoDB::Table"),
        ("S/Legacy", "AWS::RDS::DBInstance"),
    }
    assert run.findings() == [
        ("S/Legacy", "az-loss"),
        ("S/Legacy", "corruption"),
        ("S/Orders", "corruption"),
        ("S/Orders", "stack-deletion"),
    ]
    # an RDS instance without DeletionPolicy gets CloudFormation's default: Snapshot
    assert postures["Legacy", DELETION].rpo_seconds == 0
    assert "MultiAZ: true" in postures["Legacy", AZ].rto_remedy


def _stores_app(tmp_path: Path, **context: Any) -> App:
    app = App(outdir=str(tmp_path), analytics_reporting=False, context=context or None)
    stack = Stack(app, "S", env=ENV)
    _table(stack, pitr=True, policy=RemovalPolicy.RETAIN)
    s3.Bucket(stack, "Bucket", versioned=True, removal_policy=RemovalPolicy.RETAIN)
    return app


def test_the_construct_paths_come_from_the_cloud_assembly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check names each store by its construct path from the assembly's logical-id
    metadata, without walking the construct tree through jsii; with that metadata turned off
    (``aws:cdk:disable-logicalId-metadata``), from the tree, alike."""
    from dr_constructs import posture_check

    walked: list[str] = []
    walk = posture_check.construct_paths

    def counted(stack: Stack) -> dict[str, str]:
        walked.append(stack.node.path)
        return walk(stack)

    monkeypatch.setattr(posture_check, "construct_paths", counted)
    from_assembly = _run(_stores_app(tmp_path / "assembly"))
    assert walked == []
    from_tree = _run(_stores_app(tmp_path / "tree", **{"aws:cdk:disable-logicalId-metadata": True}))
    assert walked == ["S"]
    rows = [[p.to_dict() for p in run.check.postures["S"]] for run in (from_assembly, from_tree)]
    assert rows[0] == rows[1]
    assert {row["resource"] for row in rows[0]} == {"S/Table", "S/Bucket"}


# --- A consumer's app with DrPlatform and the check ---------------------------------------------


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> tuple[DrPlatform, Run]:
    app = _app(tmp_path_factory.mktemp("consumer"))
    platform = DrPlatform(Stack(app, "DrStack", env=ENV), "Dr")
    return platform, _run(app)


def test_consumer_app_with_drplatform_has_no_finding(consumer: tuple[DrPlatform, Run]) -> None:
    _, run = consumer
    assert run.error is None
    assert run.violations == [] and run.report["conclusion"] == "success"


def test_drplatform_and_the_check_compute_the_same_postures(
    consumer: tuple[DrPlatform, Run],
) -> None:
    """One engine: DrPlatform's check (its constructs, in its constructor) and DrPostureCheck
    (the synthesized template) give equal postures for the same stores."""
    platform, run = consumer
    mine = {(p.resource, p.failure): p for p in platform.postures}
    theirs = {(p.resource, p.failure): p for p in run.check.postures["DrStack"]}
    assert len(mine) == 9
    assert {key: theirs[key] for key in mine} == mine
    # the check also finds the store DrPlatform does not hold to objectives: the access logs
    assert set(theirs) - set(mine) == {
        ("DrStack/Dr/Storage/AccessLogs", mode) for mode in platform.objectives.targets
    }


def test_consumer_posture_report_is_drplatforms(consumer: tuple[DrPlatform, Run]) -> None:
    """The plugin leaves the report DrPlatform wrote: CDK forbids plugins to change the
    assembly's files (App(confirm_validation_plugins_do_not_mutate=True) enforces it)."""
    report = consumer[1].posture_file("DrStack")
    assert [p["resource"] for p in report["postures"]] == [p.resource for p in consumer[0].postures]


def test_the_check_never_changes_a_file_of_the_assembly(tmp_path: Path) -> None:
    app = App(
        outdir=str(tmp_path),
        analytics_reporting=False,
        confirm_validation_plugins_do_not_mutate=True,
    )
    DrPlatform(Stack(app, "DrStack", env=ENV), "Dr", restore_tests=False)
    run = _run(app)  # CDK raises IllegalPluginOperation if a plugin changed a file
    assert run.error is None and run.violations == []
