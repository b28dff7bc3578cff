"""DrRestoreTesting: the plan, selections, validation Lambda (against moto), metrics, alarms."""

from __future__ import annotations

import fnmatch
import io
import itertools
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from botocore.stub import ANY, Stubber
from moto import mock_aws

from dr_constructs import DrConfigurationError, DrFunction, DrPlatform, DrRestoreTesting
from dr_constructs.health_check import HANDLER
from dr_constructs.health_check.runtime import handler as health_check
from dr_constructs.restore_testing import METRIC_NAMESPACE
from dr_constructs.restore_testing.runtime import handler as validation

from .alarm_evaluation import alarm_state
from .conftest import ACCOUNT, new_stack, normalised, only, ref_of, resources_of

PLAN = "dr_restore_tests_prod"
CANARY_ITEM = "health-check#dr-function-prod"
CANARY_OBJECT = "health-check/dr-function-prod.json"


@pytest.fixture(scope="module")
def built() -> tuple[DrPlatform, Template]:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", environment_suffix="prod")
    return platform, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(built: tuple[DrPlatform, Template]) -> Template:
    return built[1]


def _logical_id(template: Template, type_: str, contains: str = "") -> str:
    (found,) = [k for k in resources_of(template, type_) if contains in k]
    return found


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    body = normalised(template)["Resources"]
    assert {
        k: v
        for k, v in body.items()
        if (k.startswith("DrRestoreTesting") or "RestoreT" in k)
        and not k.startswith("DrRestoreTestingAuroraProof")  # test_restore_testing_aurora's
    } == snapshot_json


def test_on_by_default_and_opt_out() -> None:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", restore_tests=False)
    assert platform.restore_testing is None
    Template.from_stack(stack).resource_count_is("AWS::Backup::RestoreTestingPlan", 0)


def test_plan_restores_the_latest_point_of_the_week_from_the_stack_vault(
    template: Template,
) -> None:
    (plan,) = [p["Properties"] for p in
               resources_of(template, "AWS::Backup::RestoreTestingPlan").values()]  # fmt: skip
    assert plan["RestoreTestingPlanName"] == PLAN
    assert plan["ScheduleExpression"] == "cron(0 5 ? * SUN *)"
    assert plan["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert plan["StartWindowHours"] == 8
    selection = plan["RecoveryPointSelection"]
    assert selection["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection["RecoveryPointTypes"] == ["CONTINUOUS", "SNAPSHOT"]
    assert selection["SelectionWindowDays"] == 7
    assert [ref_of(v) for v in selection["IncludeVaults"]] == [
        _logical_id(template, "AWS::Backup::BackupVault")
    ]


def _selections(template: Template) -> dict[str, dict[str, Any]]:
    found = resources_of(template, "AWS::Backup::RestoreTestingSelection").values()
    return {s["Properties"]["ProtectedResourceType"]: s for s in found}


def test_one_selection_per_protected_type_restored_by_the_backup_role(
    template: Template,
) -> None:
    selections = _selections(template)
    assert sorted(selections) == ["Aurora", "DynamoDB", "S3"]
    plan_id = _logical_id(template, "AWS::Backup::RestoreTestingPlan")
    targets = {
        "Aurora": _logical_id(template, "AWS::RDS::DBCluster"),
        "DynamoDB": _logical_id(template, "AWS::DynamoDB::Table"),
        "S3": _logical_id(template, "AWS::S3::Bucket", "StorageBucket"),
    }
    for resource_type, selection in selections.items():
        properties = selection["Properties"]
        assert properties["RestoreTestingPlanName"] == PLAN
        assert plan_id in selection["DependsOn"]
        assert properties["ValidationWindowHours"] == 2
        assert ref_of(properties["IamRoleArn"]) == _logical_id(template, "AWS::IAM::Role", "Backup")
        (arn,) = properties["ProtectedResourceArns"]
        assert ref_of(arn) == targets[resource_type]


def test_restored_aurora_lands_in_the_stack_network_under_its_key(template: Template) -> None:
    overrides = _selections(template)["Aurora"]["Properties"]["RestoreMetadataOverrides"]
    assert ref_of(overrides["dbSubnetGroupName"]) == _logical_id(
        template, "AWS::RDS::DBSubnetGroup"
    )
    # a JSON list of the cluster's own security group, as restore metadata takes lists
    groups = overrides["vpcSecurityGroupIds"]["Fn::Join"][1]
    assert groups[0] == '["' and groups[-1] == '"]'
    assert ref_of(groups[1]) == _logical_id(template, "AWS::EC2::SecurityGroup", "ClusterSecurity")
    data_key = ref_of(overrides["kmsKeyId"])
    cluster = resources_of(template, "AWS::RDS::DBCluster")[
        _logical_id(template, "AWS::RDS::DBCluster")
    ]["Properties"]
    assert data_key == ref_of(cluster["KmsKeyId"])
    assert ref_of(overrides["dbClusterParameterGroupName"]) == ref_of(
        cluster["DBClusterParameterGroupName"]
    )
    assert overrides["enableIAMDatabaseAuthentication"] == "true"
    assert overrides["port"] == "5432"


def test_restored_table_and_bucket_use_the_data_key(template: Template) -> None:
    selections = _selections(template)
    table = selections["DynamoDB"]["Properties"]["RestoreMetadataOverrides"]
    bucket = selections["S3"]["Properties"]["RestoreMetadataOverrides"]
    key = _logical_id(template, "AWS::KMS::Key", "DataKey")
    assert table["encryptionType"] == "KMS" and ref_of(table["kmsMasterKeyArn"]) == key
    assert bucket["encryptionType"] == "SSE-KMS" and ref_of(bucket["kmsKey"]) == key


def test_backup_role_may_grant_the_key_to_aws_resources_only(template: Template) -> None:
    policy = resources_of(template, "AWS::IAM::ManagedPolicy")[
        _logical_id(template, "AWS::IAM::ManagedPolicy", "BackupKeyPolicy")
    ]["Properties"]["PolicyDocument"]["Statement"]
    grants = [s for s in policy if s["Action"] == "kms:CreateGrant"]
    assert grants and all(
        s["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}} for s in grants
    )


def test_validation_runs_on_each_final_restore_job_event(template: Template) -> None:
    rule = resources_of(template, "AWS::Events::Rule")[
        _logical_id(template, "AWS::Events::Rule", "RestoreTestingRestoreJobs")
    ]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.backup"],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": ["COMPLETED", "FAILED", "ABORTED"]},
    }
    assert ref_of(rule["Targets"][0]["Arn"]) == _logical_id(
        template, "AWS::Lambda::Function", "RestoreTestingFunction"
    )


def test_validation_function_reads_only_restored_copies(template: Template) -> None:
    statements = {
        s["Sid"]: s
        for s in resources_of(template, "AWS::IAM::ManagedPolicy")[
            _logical_id(template, "AWS::IAM::ManagedPolicy", "RestoreTestingPolicy")
        ]["Properties"]["PolicyDocument"]["Statement"]
    }
    assert statements["ReadRestoredCanaryItem"]["Action"] == "dynamodb:GetItem"
    assert statements["ReadRestoredCanaryItem"]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CANARY_ITEM]}
    }
    assert "table/awsbackup-restore-test-*" in json.dumps(
        statements["ReadRestoredCanaryItem"]["Resource"]
    )
    assert f"awsbackup-restore-test-*/{CANARY_OBJECT}" in json.dumps(
        statements["ReadRestoredCanaryObject"]["Resource"]
    )
    assert statements["PublishMeasurements"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}
    }
    writes = {a for s in statements.values() for a in _as_list(s["Action"])} - {
        "backup:PutRestoreValidationResult", "cloudwatch:PutMetricData", "logs:CreateLogStream",
        "logs:PutLogEvents", "sqs:SendMessage", "kms:GenerateDataKey",
        "states:StartExecution",  # Aurora's restore test: see test_restore_testing_aurora
    }  # fmt: skip
    assert all(a.split(":")[1].startswith(("Get", "Describe", "Decrypt")) for a in writes)


def _alarm(template: Template, name: str) -> dict[str, Any]:
    return resources_of(template, "AWS::CloudWatch::Alarm")[
        _logical_id(template, "AWS::CloudWatch::Alarm", name)
    ]["Properties"]


@pytest.mark.parametrize(
    ("name", "metric", "statistic", "threshold"),
    [
        ("RestoreTestFailed", "ValidationFailed", "Sum", 0),
        ("RestoreTimeAboveRto", "RestoreTime", "Maximum", 4 * 3600),
        ("RestoredDataOlderThanRpo", "DataAge", "Maximum", 3600),
    ],
)
def test_alarms_hold_the_measurements_to_the_objectives(
    template: Template, name: str, metric: str, statistic: str, threshold: int
) -> None:
    alarm = _alarm(template, name)
    assert alarm["AlarmName"] == f"dr-prod-{name}"
    assert alarm["Threshold"] == threshold
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"  # no restore test that day
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    names = {s["Metric"]["Dimensions"][0]["Value"]: s["Metric"]["MetricName"] for s in stats}
    # Aurora's restore time is its time to usable: see test_restore_testing_aurora
    aurora = "TimeToUsable" if metric == "RestoreTime" else metric
    assert names == {"Aurora": aurora, "DynamoDB": metric, "S3": metric}
    assert {s["Metric"]["Namespace"] for s in stats} == {METRIC_NAMESPACE}
    assert sorted(s["Metric"]["Dimensions"][0]["Value"] for s in stats) == [
        "Aurora", "DynamoDB", "S3",
    ]  # fmt: skip
    assert {s["Stat"] for s in stats} == {statistic} and {s["Period"] for s in stats} == {86400}
    assert alarm["AlarmActions"] and alarm["OKActions"]


# --- AWS's documented forms, the fixtures of the validation Lambda's tests ----------------

#: Service Authorization Reference, AWS Backup, resource types: a restore testing plan is
#: arn:${Partition}:backup:${Region}:${Account}:restore-testing-plan:${Name}-${Id} (public code
#: shows ids such as 867cbaf4-a45d-464e-ba8b-6035bc96770b). What CloudFormation's
#: Fn::GetAtt RestoreTestingPlanArn hands the function, and what the job's CreatedBy holds.
PLAN_ARN = (
    f"arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:{PLAN}"
    "-867cbaf4-a45d-464e-ba8b-6035bc96770b"
)
#: The same name with another id: a plan of that name deleted and created again.
OTHER_PLAN_ARN = PLAN_ARN.replace("867cbaf4", "0d3b1c2e")
#: botocore backup model, DescribeRestoreJob RecoveryPointArn and BackupVaultArn examples.
RECOVERY_POINT_ARN = (
    f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45"
)
VAULT_ARN = f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:dr-vault-prod"
#: AWS Backup guide, EventBridge example events ("Backup Job State Change", RUNNING): the
#: createdBy of a backup made by a plan rule (tests/data/aws_backup_events.json).
BACKUP_PLAN_ID = "bde0f455-4e24-4668-aeaa-4932a97f5cc5"
BACKUP_PLAN_VERSION = "YTkzNmM0MmUtMWRhNS00Y2RkLThmZGUtNjA5NTc4NGM1YTc5"
BACKUP_RULE_ID = "1f97bafa-14d6-4f39-94fd-94b51bd6d0d5"
#: AWS Backup guide, "Restore testing inferred metadata": restored copies get "a random value
#: starting with" awsbackup-restore-test- (DynamoDB targetTableName, S3
#: destinationBucketName) and awsbackup-restore-test (RDS/Aurora dbClusterIdentifier, no
#: hyphen written: both readings are accepted). Their ARNs: Service Authorization Reference,
#: DynamoDB table/${TableName}, S3 arn:${Partition}:s3:::${BucketName}, RDS
#: cluster:${DbClusterInstanceName}.
RESTORED = {
    "DynamoDB": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/awsbackup-restore-test-8f2c61d0",
    "S3": "arn:aws:s3:::awsbackup-restore-test-3b9e07a4",
    "Aurora": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:awsbackup-restore-test5c1d9e72",
    "Aurora (hyphen)": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:awsbackup-restore-test-5c1d9e72",
}
#: The documented "Restore Job State Change" COMPLETED event (AWS Backup guide, EventBridge).
RESTORE_EVENT = json.loads((Path(__file__).parent / "data" / "aws_backup_events.json").read_text())[
    "events"
]["restore job COMPLETED"]
JOB_ID = RESTORE_EVENT["detail"]["restoreJobId"]


def test_validation_acts_on_the_plan_arn_cloudformation_gives(template: Template) -> None:
    env = _validation_environment(template)
    plan_id = _logical_id(template, "AWS::Backup::RestoreTestingPlan")
    assert env["RESTORE_TESTING_PLAN_ARN"] == {"Fn::GetAtt": [plan_id, "RestoreTestingPlanArn"]}
    assert "RESTORE_TESTING_PLAN_NAME" not in env


@pytest.mark.parametrize("restored", sorted(RESTORED))
def test_validation_may_read_every_documented_restored_copy(
    template: Template, restored: str
) -> None:
    """The IAM resource patterns match AWS's documented names of restored copies (the
    Aurora cluster identifier starts with awsbackup-restore-test, no hyphen guaranteed)."""
    if restored.startswith("Aurora"):  # the state machine's role acts on restored clusters
        statements = {
            s["Sid"]: s for k, p in resources_of(template, "AWS::IAM::ManagedPolicy").items()
            if k.startswith("DrRestoreTestingAuroraProofPolicy")
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        }  # fmt: skip
        (pattern,) = _patterns(statements["DescribeRestoredCluster"])
        assert fnmatch.fnmatchcase(RESTORED[restored], pattern), (restored, pattern)
        return
    statement = {"DynamoDB": "ReadRestoredCanaryItem",
                 "S3": "ReadRestoredCanaryObject"}[restored]  # fmt: skip
    (pattern,) = _patterns(_validation_statements(template)[statement])
    arn = RESTORED[restored] + (f"/{CANARY_OBJECT}" if restored == "S3" else "")
    assert fnmatch.fnmatchcase(arn, pattern), (arn, pattern)


def test_validation_may_tell_continuous_from_snapshot_points_and_nothing_more(
    template: Template,
) -> None:
    statements = _validation_statements(template)
    describe = statements["TellContinuousFromSnapshotPoints"]
    assert describe["Action"] == "backup:DescribeRecoveryPoint"
    patterns = _patterns(describe)
    # botocore backup model example; DynamoDB API reference, BackupArn (table/{name}/backup/{id})
    table_backup = "table/dr-table-prod/backup/01489173575360-b308cd7d"
    for point in (RECOVERY_POINT_ARN, f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:{table_backup}"):
        assert any(fnmatch.fnmatchcase(point, p) for p in patterns), point
    rules = statements["ReadBackupRules"]
    assert rules["Action"] == "backup:GetBackupPlan"
    assert ref_of(rules["Resource"]) == _logical_id(template, "AWS::Backup::BackupPlan")


def _validation_environment(template: Template) -> dict[str, Any]:
    function = resources_of(template, "AWS::Lambda::Function")[
        _logical_id(template, "AWS::Lambda::Function", "RestoreTestingFunction")
    ]
    return function["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def _validation_statements(template: Template) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s
        for s in resources_of(template, "AWS::IAM::ManagedPolicy")[
            _logical_id(template, "AWS::IAM::ManagedPolicy", "RestoreTestingPolicy")
        ]["Properties"]["PolicyDocument"]["Statement"]
    }


def _patterns(statement: dict[str, Any]) -> list[str]:
    """The statement's resources as glob patterns, in us-east-1 of the test account."""
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}
    found = []
    for resource in _as_list(statement["Resource"]):
        if isinstance(resource, dict):
            resource = "".join(
                part if isinstance(part, str) else pseudo[part["Ref"]]
                for part in resource["Fn::Join"][1]
            )
        found.append(resource)
    return found


# --- the validation Lambda, against moto ----------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "RESTORE_TESTING_PLAN_ARN": PLAN_ARN,
        "METRIC_NAMESPACE": METRIC_NAMESPACE,
        "CANARY_ITEM_KEY": json.dumps({"pk": {"S": CANARY_ITEM}}),
        "CANARY_OBJECT_KEY": CANARY_OBJECT,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients = {n: boto3.client(n) for n in ("dynamodb", "s3", "stepfunctions", "cloudwatch")}
        # Aurora's restore test, which the validator starts (moto records the executions)
        machine = clients["stepfunctions"].create_state_machine(
            name="dr-restore-test-aurora-prod", definition=json.dumps(
                {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/dr-restore-test-aurora-prod",
        )["stateMachineArn"]  # fmt: skip
        monkeypatch.setenv("AURORA_STATE_MACHINE_ARN", machine)
        # moto has no restore jobs: the real service model, stubbed
        clients["backup"] = boto3.client("backup")
        yield clients


#: When the restore test starts (the restore job's CreationDate).
RESTORE_STARTED = datetime(2026, 11, 29, 5, 12, tzinfo=UTC)
#: A snapshot taken an hour before; a continuous point whose backup began five days before.
SNAPSHOT_TIME = RESTORE_STARTED - timedelta(hours=1)
CONTINUOUS_SINCE = RESTORE_STARTED - timedelta(days=5)


def _job(resource_type: str, *, point: str = "SNAPSHOT", status: str = "COMPLETED",
         minutes: int = 12, created: str | None = None) -> dict[str, Any]:  # fmt: skip
    """DescribeRestoreJob's answer (botocore backup model shape) for a restore test."""
    return {
        "AccountId": ACCOUNT, "RestoreJobId": JOB_ID, "Status": status,
        "RecoveryPointArn": RECOVERY_POINT_ARN, "BackupVaultArn": VAULT_ARN,
        "ResourceType": resource_type,
        "CreatedResourceArn": RESTORED[resource_type] if created is None else created,
        "CreationDate": RESTORE_STARTED,
        "CompletionDate": RESTORE_STARTED + timedelta(minutes=minutes),
        "RecoveryPointCreationDate": SNAPSHOT_TIME if point == "SNAPSHOT" else CONTINUOUS_SINCE,
        "CreatedBy": {"RestoreTestingPlanArn": PLAN_ARN},
        "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dr-backup-prod",
    }  # fmt: skip


def _run(aws: dict[str, Any], job: dict[str, Any], validation_status: str | None,
         point: str | None = None) -> Any:  # fmt: skip
    """Run the handler on AWS's documented event, AWS Backup stubbed with the service model:
    the job, then (``point``: CONTINUOUS, SNAPSHOT or ON_DEMAND) the recovery point and the
    rule that made it, then the validation result it must report."""
    with Stubber(aws["backup"]) as stub:
        stub.add_response("describe_restore_job", job, {"RestoreJobId": JOB_ID})
        if point is not None:
            creator = {} if point == "ON_DEMAND" else {"CreatedBy": {
                "BackupPlanId": BACKUP_PLAN_ID, "BackupPlanVersion": BACKUP_PLAN_VERSION,
                "BackupPlanArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-plan:{BACKUP_PLAN_ID}",
                "BackupRuleId": BACKUP_RULE_ID,
            }}  # fmt: skip
            stub.add_response(
                "describe_recovery_point",
                {"RecoveryPointArn": RECOVERY_POINT_ARN, "BackupVaultArn": VAULT_ARN,
                 "BackupVaultName": "dr-vault-prod", "Status": "AVAILABLE", **creator},
                {"BackupVaultName": "dr-vault-prod", "RecoveryPointArn": RECOVERY_POINT_ARN},
            )  # fmt: skip
            if creator:
                stub.add_response(
                    "get_backup_plan",
                    {"BackupPlanId": BACKUP_PLAN_ID, "VersionId": BACKUP_PLAN_VERSION,
                     "BackupPlan": {"BackupPlanName": "dr-plan-prod", "Rules": [
                         {"RuleName": "Other", "TargetBackupVaultName": "dr-vault-prod",
                          "RuleId": "0f0e0d0c-0b0a-0908-0706-050403020100",
                          "EnableContinuousBackup": point != "CONTINUOUS"},
                         {"RuleName": "HourlyWithContinuous",
                          "TargetBackupVaultName": "dr-vault-prod", "RuleId": BACKUP_RULE_ID,
                          "ScheduleExpression": "cron(0 * ? * * *)",
                          "EnableContinuousBackup": point == "CONTINUOUS"},
                     ]}},
                    {"BackupPlanId": BACKUP_PLAN_ID, "VersionId": BACKUP_PLAN_VERSION},
                )  # fmt: skip
        if validation_status is not None:
            stub.add_response(
                "put_restore_validation_result", {},
                {"RestoreJobId": JOB_ID, "ValidationStatus": validation_status,
                 "ValidationStatusMessage": ANY},
            )  # fmt: skip
        result = validation.handler(RESTORE_EVENT, clients=aws.__getitem__)
        stub.assert_no_pending_responses()
    return result


def _metrics(aws: dict[str, Any], resource_type: str) -> dict[str, float]:
    found = {}
    for name in ("RestoreTime", "DataAge", "ValidationFailed"):
        points = aws["cloudwatch"].get_metric_statistics(
            Namespace=METRIC_NAMESPACE, MetricName=name,
            Dimensions=[{"Name": "ResourceType", "Value": resource_type}],
            StartTime=datetime.now(UTC) - timedelta(hours=1),
            EndTime=datetime.now(UTC) + timedelta(hours=1), Period=86400,
            Statistics=["Maximum"],
        )["Datapoints"]  # fmt: skip
        if points:
            found[name] = points[0]["Maximum"]
    return found


def _name(arn: str) -> str:
    return re.split(r"[:/]", arn)[-1]


def _restored_table(aws: dict[str, Any], canary_at: datetime | None,
                    arn: str = RESTORED["DynamoDB"]) -> str:  # fmt: skip
    aws["dynamodb"].create_table(
        TableName=_name(arn), BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )  # fmt: skip
    if canary_at is not None:  # the item as the health check writes it
        aws["dynamodb"].put_item(TableName=_name(arn), Item={
            "pk": {"S": CANARY_ITEM}, "checked_at": {"S": canary_at.isoformat()},
            "nonce": {"S": "n"}, "expires_at": {"N": "1"},
        })  # fmt: skip
    return arn


def _restored_bucket(aws: dict[str, Any], canary_at: datetime | None,
                     arn: str = RESTORED["S3"]) -> str:  # fmt: skip
    aws["s3"].create_bucket(Bucket=_name(arn))
    if canary_at is not None:
        body = json.dumps({"checked_at": canary_at.isoformat(), "nonce": "n"}).encode()
        aws["s3"].upload_fileobj(io.BytesIO(body), _name(arn), CANARY_OBJECT)
    return arn


def test_a_snapshot_copy_with_the_canary_passes_and_measures_rto_and_rpo(aws: Any) -> None:
    _restored_table(aws, SNAPSHOT_TIME - timedelta(seconds=50))
    result = _run(aws, _job("DynamoDB"), "SUCCESSFUL", point="SNAPSHOT")
    assert result["validation"] == "SUCCESSFUL", result
    assert "holds the canary item" in result["message"]
    # the snapshot's time, not the restore's start (3,650 s later) nor the job's duration
    assert result["restored_point_in_time"] == SNAPSHOT_TIME.isoformat()
    assert _metrics(aws, "DynamoDB") == {
        "RestoreTime": 720.0, "DataAge": 50.0, "ValidationFailed": 0.0,
    }  # fmt: skip


def test_a_continuous_copy_is_aged_from_the_time_aws_restores_it_to(aws: Any) -> None:
    """A continuous point's RecoveryPointCreationDate is when continuous backup began (five
    days ago): the data age is measured from the restore's start, the latest restorable time
    AWS restores to, so a canary two hours old shows as two hours."""
    _restored_bucket(aws, RESTORE_STARTED - timedelta(hours=2))
    result = _run(aws, _job("S3", point="CONTINUOUS", minutes=30), "SUCCESSFUL",
                  point="CONTINUOUS")  # fmt: skip
    assert result["validation"] == "SUCCESSFUL", result
    assert result["restored_point_in_time"] == RESTORE_STARTED.isoformat()
    assert "continuous" in result["data_age_clock"]
    assert _metrics(aws, "S3") == {"RestoreTime": 1800.0, "DataAge": 7200.0,
                                   "ValidationFailed": 0.0}  # fmt: skip


def test_an_on_demand_point_is_a_snapshot(aws: Any) -> None:
    _restored_table(aws, SNAPSHOT_TIME - timedelta(seconds=5))
    result = _run(aws, _job("DynamoDB"), "SUCCESSFUL", point="ON_DEMAND")
    assert _metrics(aws, "DynamoDB")["DataAge"] == 5.0, result


def test_an_unreadable_point_type_ages_the_copy_from_the_restore_start(aws: Any) -> None:
    """Without DescribeRecoveryPoint (AccessDenied), the restore's start is never earlier
    than the point restored: the age is overstated, never hidden, and the result says why."""
    _restored_table(aws, SNAPSHOT_TIME - timedelta(seconds=50))
    with Stubber(aws["backup"]) as stub:
        stub.add_response("describe_restore_job", _job("DynamoDB"), {"RestoreJobId": JOB_ID})
        stub.add_client_error(
            "describe_recovery_point", "AccessDeniedException", http_status_code=403
        )
        stub.add_response("put_restore_validation_result", {},
                          {"RestoreJobId": JOB_ID, "ValidationStatus": "SUCCESSFUL",
                           "ValidationStatusMessage": ANY})  # fmt: skip
        result = validation.handler(RESTORE_EVENT, clients=aws.__getitem__)
    assert result["validation"] == "SUCCESSFUL"
    assert "AccessDeniedException" in result["data_age_clock"]
    assert _metrics(aws, "DynamoDB")["DataAge"] == 3650.0


def test_restored_table_without_the_canary_fails(aws: Any) -> None:
    _restored_table(aws, None)
    result = _run(aws, _job("DynamoDB"), "FAILED")
    assert result["validation"] == "FAILED"
    assert "has no canary item" in result["message"]
    assert _metrics(aws, "DynamoDB")["ValidationFailed"] == 1.0


def test_an_error_reports_failed_with_the_reason(aws: Any) -> None:
    result = _run(aws, _job("DynamoDB"), "FAILED")  # the restored table is gone
    assert result["validation"] == "FAILED"
    assert "ResourceNotFoundException" in result["message"]


def test_restored_bucket_without_the_canary_fails(aws: Any) -> None:
    _restored_bucket(aws, None)
    result = _run(aws, _job("S3"), "FAILED")
    assert "has no canary object" in result["message"]


def _executions(aws: dict[str, Any]) -> list[dict[str, Any]]:
    sfn = aws["stepfunctions"]
    arn = os.environ["AURORA_STATE_MACHINE_ARN"]
    return [
        sfn.describe_execution(executionArn=e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=arn)["executions"]
    ]


@pytest.mark.parametrize("restored", ["Aurora", "Aurora (hyphen)"])
def test_a_restored_cluster_is_handed_to_the_state_machine(aws: Any, restored: str) -> None:
    """A restored cluster has no instance to query: the validator starts Aurora's restore test
    with what ASL cannot compute (the instance's name, the point in time restored, the job's
    start), named after the job, and neither reports nor publishes itself."""
    job = _job("Aurora", created=RESTORED[restored], point="CONTINUOUS")
    result = _run(aws, job, None, point="CONTINUOUS")
    (execution,) = _executions(aws)
    assert execution["name"] == JOB_ID and result["execution"] == execution["executionArn"]
    cluster = RESTORED[restored].rsplit(":", 1)[1]
    assert json.loads(execution["input"]) == {
        "restore_job_id": JOB_ID, "cluster_identifier": cluster,
        "instance_identifier": f"{cluster}-1",
        # a continuous point: restored to its latest restorable time, the job's start
        "restored_at": RESTORE_STARTED.isoformat(),
        "job_created_at": RESTORE_STARTED.isoformat(), "restore_time_seconds": 720.0,
    }  # fmt: skip
    assert _metrics(aws, "Aurora") == {}  # the state machine publishes them


def test_the_added_instance_fits_rds_identifiers() -> None:
    """RDS DB instance identifiers: 1-63 letters, digits or hyphens, no hyphen at the end and
    no two in a row (RDS API reference, CreateDBInstance DBInstanceIdentifier)."""
    longest = "awsbackup-restore-test" + "a" * 38 + "-b"  # a 62-character cluster identifier
    for cluster in ("awsbackup-restore-test5c1d9e72", longest, longest[:61] + "-"):
        name = validation.instance_name(cluster)
        assert len(name) <= 63 and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name), name
        assert "--" not in name


def test_a_cluster_that_cannot_be_handed_over_fails_validation(aws: Any) -> None:
    os.environ["AURORA_STATE_MACHINE_ARN"] += "-gone"
    result = _run(aws, _job("Aurora"), "FAILED", point="SNAPSHOT")
    assert result["validation"] == "FAILED" and "StateMachineDoesNotExist" in result["message"]
    assert _metrics(aws, "Aurora")["ValidationFailed"] == 1.0


def test_a_copy_outside_the_documented_names_fails_clearly(aws: Any) -> None:
    arn = _restored_table(
        aws, SNAPSHOT_TIME, arn=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/prod-copy"
    )
    result = _run(aws, _job("DynamoDB", created=arn), "FAILED")
    assert "does not start with 'awsbackup-restore-test-'" in result["message"], result


def test_a_failed_restore_job_is_counted_but_not_reported(aws: Any) -> None:
    job = _job("DynamoDB", status="FAILED", created="")
    job["StatusMessage"] = "Access denied to the KMS key"
    result = _run(aws, job, None)  # AWS Backup takes results for completed jobs only
    assert result["validation"] == "FAILED" and "Access denied" in result["message"]
    assert _metrics(aws, "DynamoDB")["ValidationFailed"] == 1.0


@pytest.mark.parametrize(
    "created_by",
    [{"RestoreTestingPlanArn": OTHER_PLAN_ARN}, {}],
    ids=["same name, another plan", "an on-demand restore"],
)
def test_jobs_of_other_plans_are_left_alone(aws: Any, created_by: dict[str, str]) -> None:
    job = _job("DynamoDB")
    job["CreatedBy"] = created_by
    with Stubber(aws["backup"]) as stub:
        stub.add_response("describe_restore_job", job, {"RestoreJobId": JOB_ID})
        result = validation.handler(RESTORE_EVENT, clients=aws.__getitem__)
    assert "skipped" in result
    assert _metrics(aws, "DynamoDB") == {}


@pytest.mark.parametrize(
    ("resource_type", "point", "measured"),
    [("DynamoDB", "SNAPSHOT", {"RestoreTime", "DataAge", "ValidationFailed"}),
     ("S3", "CONTINUOUS", {"RestoreTime", "DataAge", "ValidationFailed"})],
)  # fmt: skip
def test_documented_restore_jobs_are_validated_and_measured(
    aws: Any, resource_type: str, point: str | None, measured: set[str]
) -> None:
    """AWS's documented plan ARN, restored names and ARNs, both kinds of recovery point: a
    result reported to AWS Backup and the metrics published (Aurora's: see
    test_restore_testing_aurora)."""
    {"DynamoDB": lambda: _restored_table(aws, SNAPSHOT_TIME),
     "S3": lambda: _restored_bucket(aws, RESTORE_STARTED - timedelta(minutes=2))}[
        resource_type]()  # fmt: skip
    result = _run(aws, _job(resource_type, point=point or "SNAPSHOT"), "SUCCESSFUL", point=point)
    assert result["validation"] == "SUCCESSFUL", result
    assert set(_metrics(aws, resource_type)) == measured


# --- the alarms, evaluated as CloudWatch evaluates the synthesized definitions ------------


def _evaluated(template: Template, name: str, aws: dict[str, Any]) -> str:
    definition = _alarm(template, name)
    return alarm_state(definition, aws["cloudwatch"], datetime.now(UTC) + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("canary_age", "state"),
    [(timedelta(hours=2), "ALARM"), (timedelta(minutes=2), "OK")],
    ids=["older than the RPO", "within the RPO"],
)
def test_data_age_alarm_fires_for_a_continuous_copy_older_than_the_rpo(
    template: Template, aws: Any, canary_age: timedelta, state: str
) -> None:
    """The synthesized RestoredDataOlderThanRpo alarm (RPO 1 hour), over what the handler
    published for a continuous S3 point: the case in which it could never fire when the data
    age was measured from RecoveryPointCreationDate."""
    assert _evaluated(template, "RestoredDataOlderThanRpo", aws) == "OK"  # no test, no alarm
    _restored_bucket(aws, RESTORE_STARTED - canary_age)
    _run(aws, _job("S3", point="CONTINUOUS"), "SUCCESSFUL", point="CONTINUOUS")
    assert _evaluated(template, "RestoredDataOlderThanRpo", aws) == state


def test_data_age_alarm_stays_ok_for_a_fresh_snapshot(template: Template, aws: Any) -> None:
    _restored_table(aws, SNAPSHOT_TIME - timedelta(minutes=1))  # restored an hour later
    _run(aws, _job("DynamoDB"), "SUCCESSFUL", point="SNAPSHOT")
    assert _evaluated(template, "RestoredDataOlderThanRpo", aws) == "OK"


def test_validation_failed_alarm_fires_on_a_failed_validation(template: Template, aws: Any) -> None:
    _restored_bucket(aws, None)
    _run(aws, _job("S3"), "FAILED")
    assert _evaluated(template, "RestoreTestFailed", aws) == "ALARM"


@pytest.mark.parametrize(("rto_minutes", "state"), [(30, "ALARM"), (60, "OK")])
def test_restore_time_alarm_fires_when_a_restore_exceeds_the_rto(
    aws: Any, rto_minutes: int, state: str
) -> None:
    """A 45-minute restore measured by the handler, against the alarm synthesized for the
    RTO objective."""
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", environment_suffix="prod", restore_tests=False)
    DrRestoreTesting(
        stack, "Tests", vault=platform.backup, database=platform.database,
        function=platform.function, observability=platform.observability,
        rto=Duration.minutes(rto_minutes), environment_suffix="prod",
    )  # fmt: skip
    template = Template.from_stack(stack)
    assert _alarm(template, "RestoreTimeAboveRto")["Threshold"] == rto_minutes * 60
    _restored_table(aws, SNAPSHOT_TIME)
    _run(aws, _job("DynamoDB", minutes=45), "SUCCESSFUL", point="SNAPSHOT")
    assert _evaluated(template, "RestoreTimeAboveRto", aws) == state


# --- the canary: written whatever code the team's function runs (issue 18) --------------


@pytest.fixture(scope="module")
def own_code() -> Template:
    """The team's own Lambda code: the packaged health check runs beside it as the canary."""
    stack = new_stack()
    DrPlatform(
        stack, "Dr", environment_suffix="prod", function_handler="index.handler",
        function_code=lambda_.Code.from_inline("def handler(event, context):\n    return {}"),
    )  # fmt: skip
    return Template.from_stack(stack)


@pytest.mark.parametrize("variant", ["template", "own_code"])
def test_the_canary_the_validation_looks_for_is_the_one_a_health_check_writes(
    aws: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    """From the synthesized template: the function whose canary the validation Lambda looks
    for runs the packaged health check on a schedule; run that health check (its code, its
    environment) against DynamoDB and S3, restore what it wrote as AWS Backup names copies,
    and validate with the validation Lambda's environment: SUCCESSFUL, with the packaged
    health check as the Lambda and with the team's own code beside it."""
    template: Template = request.getfixturevalue(variant)
    env = _validation_environment(template)
    ((item_key, item),) = json.loads(env["CANARY_ITEM_KEY"]).items()
    functions = resources_of(template, "AWS::Lambda::Function")
    names = {k: f["Properties"].get("FunctionName") for k, f in functions.items()}
    (writer_id,) = [k for k, name in names.items() if item["S"] == f"health-check#{name}"]
    writer = functions[writer_id]["Properties"]
    assert writer["Handler"] == HANDLER and "S3Key" in writer["Code"]  # the packaged asset
    assert env["CANARY_OBJECT_KEY"] == f"health-check/{writer['FunctionName']}.json"
    rules = [r["Properties"] for r in resources_of(template, "AWS::Events::Rule").values()]
    assert [r["ScheduleExpression"] for r in rules
            if writer_id in json.dumps(r.get("Targets"))] == ["rate(1 minute)"]  # fmt: skip

    # the health check, as deployed (its environment; names CloudFormation would resolve)
    table = only(template, "AWS::DynamoDB::Table")["TableName"]
    aws["dynamodb"].create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": item_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": item_key, "AttributeType": "S"}],
    )  # fmt: skip
    aws["s3"].create_bucket(Bucket="dr-data-bucket")
    report = health_check.handler(
        {}, None,
        environ={"AWS_LAMBDA_FUNCTION_NAME": writer["FunctionName"], "TABLE_NAME": table,
                 "BUCKET_NAME": "dr-data-bucket",
                 "TABLE_PARTITION_KEY": writer["Environment"]["Variables"]["TABLE_PARTITION_KEY"],
                 "DB_SECRET_ARN": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:none"},
        clients={n: aws[n] if n in aws else boto3.client(n)
                 for n in ("secretsmanager", "dynamodb", "s3")},
    )  # fmt: skip
    assert report["checks"]["dynamodb"]["ok"] and report["checks"]["s3"]["ok"], report

    # AWS Backup restores the table and the bucket (copies of their data, AWS's names)
    _restored_table(aws, None)
    for row in aws["dynamodb"].scan(TableName=table)["Items"]:
        aws["dynamodb"].put_item(TableName=_name(RESTORED["DynamoDB"]), Item=row)
    _restored_bucket(aws, None)
    for listed in aws["s3"].list_objects_v2(Bucket="dr-data-bucket")["Contents"]:
        source = {"Bucket": "dr-data-bucket", "Key": listed["Key"]}
        aws["s3"].copy_object(Bucket=_name(RESTORED["S3"]), Key=listed["Key"], CopySource=source)

    for name in ("CANARY_ITEM_KEY", "CANARY_OBJECT_KEY"):
        monkeypatch.setenv(name, env[name])
    for resource_type, point in (("DynamoDB", "SNAPSHOT"), ("S3", "CONTINUOUS")):
        job = _job(resource_type, point=point)
        job["CreationDate"] = job["RecoveryPointCreationDate"] = datetime.now(UTC)
        result = _run(aws, job, "SUCCESSFUL", point=point)
        assert result["validation"] == "SUCCESSFUL", result


def test_restore_tests_refuse_a_function_that_writes_no_canary(
    platform_for_errors: DrPlatform,
) -> None:
    stack = Stack.of(platform_for_errors)
    team = DrFunction(
        stack, "TeamFunction", network=platform_for_errors.network,
        secret=platform_for_errors.database.secret, table=platform_for_errors.table,
        bucket=platform_for_errors.bucket, environment_suffix="team",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}"),
        handler="index.handler",
    )  # fmt: skip
    with pytest.raises(DrConfigurationError, match=r"function=.*TeamFunction \(code of your own\)"
                       r".*packaged health check"):  # fmt: skip
        DrRestoreTesting(
            platform_for_errors, "OwnCode", vault=platform_for_errors.backup,
            database=platform_for_errors.database, function=team,
            observability=platform_for_errors.observability, environment_suffix="own",
        )  # fmt: skip


# --- bad configuration -------------------------------------------------------------------


_IDS = itertools.count()


@pytest.fixture(scope="module")
def platform_for_errors() -> DrPlatform:
    return DrPlatform(new_stack(), "Dr", restore_tests=False)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"schedule": events.Schedule.rate(Duration.days(7))}, r"schedule='rate\(7 days\)'"),
        ({"validation_window": Duration.minutes(30)}, r"validation_window"),
        ({"validation_window": Duration.hours(169)}, r"validation_window"),
        ({"start_window": Duration.minutes(90)}, r"start_window.*whole hours"),
        ({"selection_window": Duration.days(366)}, r"selection_window"),
        ({"rto": 3600}, r"rto"),
        ({"bucket": "my-bucket"}, r"bucket='my-bucket'"),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, r"removal_policy"),
    ],
)
def test_bad_restore_testing_configuration(
    platform_for_errors: DrPlatform, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(DrConfigurationError, match=message):
        DrRestoreTesting(
            platform_for_errors, f"Bad{next(_IDS)}",
            vault=platform_for_errors.backup, database=platform_for_errors.database,
            function=platform_for_errors.function,
            observability=platform_for_errors.observability, **props,
        )  # fmt: skip


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_same_suffix_twice_in_one_environment_is_reported(
    platform_for_errors: DrPlatform,
) -> None:
    def tests(id: str) -> DrRestoreTesting:
        return DrRestoreTesting(
            platform_for_errors, id, vault=platform_for_errors.backup,
            database=platform_for_errors.database, function=platform_for_errors.function,
            observability=platform_for_errors.observability, environment_suffix="twice",
        )  # fmt: skip

    tests("First")
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='twice'.*plan"):
        tests("Second")
