"""DrRestoreTesting: the plan, selections, validation Lambda (against moto), metrics, alarms."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from botocore.stub import ANY, Stubber
from moto import mock_aws

from dr_constructs import DrConfigurationError, DrPlatform, DrRestoreTesting
from dr_constructs.restore_testing import METRIC_NAMESPACE
from dr_constructs.restore_testing.runtime import handler as validation

from .conftest import new_stack, normalised, ref_of, resources_of

PLAN = "dr_restore_tests_prod"
PLAN_ARN = f"arn:aws:backup:us-east-1:123456789012:restore-testing-plan:{PLAN}"
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
        k: v for k, v in body.items() if k.startswith("DrRestoreTesting") or "RestoreT" in k
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
    assert {s["Metric"]["MetricName"] for s in stats} == {metric}
    assert {s["Metric"]["Namespace"] for s in stats} == {METRIC_NAMESPACE}
    assert sorted(s["Metric"]["Dimensions"][0]["Value"] for s in stats) == [
        "Aurora", "DynamoDB", "S3",
    ]  # fmt: skip
    assert {s["Stat"] for s in stats} == {statistic} and {s["Period"] for s in stats} == {86400}
    assert alarm["AlarmActions"] and alarm["OKActions"]


# --- the validation Lambda, against moto ----------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "RESTORE_TESTING_PLAN_NAME": PLAN,
        "METRIC_NAMESPACE": METRIC_NAMESPACE,
        "CANARY_ITEM_KEY": json.dumps({"pk": {"S": CANARY_ITEM}}),
        "CANARY_OBJECT_KEY": CANARY_OBJECT,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients = {n: boto3.client(n) for n in ("dynamodb", "s3", "rds", "cloudwatch")}
        # moto has no restore jobs: the real service model, stubbed
        clients["backup"] = boto3.client("backup")
        yield clients


RECOVERY_POINT_TIME = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _job(resource_type: str, created: str, *, status: str = "COMPLETED",
         minutes: int = 12) -> dict[str, Any]:  # fmt: skip
    start = RECOVERY_POINT_TIME + timedelta(hours=1)
    return {
        "RestoreJobId": "JOB-1", "Status": status, "ResourceType": resource_type,
        "CreatedResourceArn": created, "CreationDate": start,
        "CompletionDate": start + timedelta(minutes=minutes),
        "RecoveryPointCreationDate": RECOVERY_POINT_TIME,
        "CreatedBy": {"RestoreTestingPlanArn": PLAN_ARN},
    }  # fmt: skip


def _run(aws: dict[str, Any], job: dict[str, Any], validation_status: str | None) -> Any:
    """Run the handler on the documented event shape; assert the validation it reports."""
    event = {"detail-type": "Restore Job State Change", "source": "aws.backup",
             "detail": {"restoreJobId": "JOB-1", "status": job["Status"]}}  # fmt: skip
    with Stubber(aws["backup"]) as stub:
        stub.add_response("describe_restore_job", job, {"RestoreJobId": "JOB-1"})
        if validation_status is not None:
            stub.add_response(
                "put_restore_validation_result", {},
                {"RestoreJobId": "JOB-1", "ValidationStatus": validation_status,
                 "ValidationStatusMessage": ANY},
            )  # fmt: skip
        result = validation.handler(event, clients=aws.__getitem__)
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


def _restored_table(aws: dict[str, Any], name: str, canary_at: datetime | None) -> str:
    table = aws["dynamodb"].create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )["TableDescription"]  # fmt: skip
    if canary_at is not None:  # the item as the health check writes it
        aws["dynamodb"].put_item(TableName=name, Item={
            "pk": {"S": CANARY_ITEM}, "checked_at": {"S": canary_at.isoformat()},
            "nonce": {"S": "n"}, "expires_at": {"N": "1"},
        })  # fmt: skip
    return str(table["TableArn"])


def test_restored_table_with_the_canary_passes_and_measures_rto_and_rpo(aws: Any) -> None:
    arn = _restored_table(aws, "awsbackup-restore-test-abc", RECOVERY_POINT_TIME
                          - timedelta(seconds=50))  # fmt: skip
    result = _run(aws, _job("DynamoDB", arn), "SUCCESSFUL")
    assert result["validation"] == "SUCCESSFUL", result
    assert "holds the canary item" in result["message"]
    assert _metrics(aws, "DynamoDB") == {
        "RestoreTime": 720.0, "DataAge": 50.0, "ValidationFailed": 0.0,
    }  # fmt: skip


def test_restored_table_without_the_canary_fails(aws: Any) -> None:
    arn = _restored_table(aws, "awsbackup-restore-test-empty", None)
    result = _run(aws, _job("DynamoDB", arn), "FAILED")
    assert result["validation"] == "FAILED"
    assert "has no canary item" in result["message"]
    assert _metrics(aws, "DynamoDB")["ValidationFailed"] == 1.0


def test_an_error_reports_failed_with_the_reason(aws: Any) -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/awsbackup-restore-test-gone"
    result = _run(aws, _job("DynamoDB", arn), "FAILED")
    assert result["validation"] == "FAILED"
    assert "ResourceNotFoundException" in result["message"]


def _restored_bucket(aws: dict[str, Any], name: str, canary_at: datetime | None) -> str:
    aws["s3"].create_bucket(Bucket=name)
    if canary_at is not None:
        body = json.dumps({"checked_at": canary_at.isoformat(), "nonce": "n"}).encode()
        aws["s3"].upload_fileobj(io.BytesIO(body), name, CANARY_OBJECT)
    return f"arn:aws:s3:::{name}"


def test_restored_bucket_with_and_without_the_canary(aws: Any) -> None:
    good = _restored_bucket(aws, "awsbackup-restore-test-good", RECOVERY_POINT_TIME
                            - timedelta(minutes=3))  # fmt: skip
    result = _run(aws, _job("S3", good, minutes=30), "SUCCESSFUL")
    assert result["validation"] == "SUCCESSFUL"
    assert _metrics(aws, "S3") == {"RestoreTime": 1800.0, "DataAge": 180.0,
                                   "ValidationFailed": 0.0}  # fmt: skip
    empty = _restored_bucket(aws, "awsbackup-restore-test-empty", None)
    result = _run(aws, _job("S3", empty), "FAILED")
    assert "has no canary object" in result["message"]


def test_restored_cluster_must_be_available(aws: Any) -> None:
    cluster = aws["rds"].create_db_cluster(
        DBClusterIdentifier="awsbackup-restore-test-aurora", Engine="aurora-postgresql",
        MasterUsername="dradmin", MasterUserPassword="not-a-real-password-1",
    )["DBCluster"]  # fmt: skip
    result = _run(aws, _job("Aurora", cluster["DBClusterArn"]), "SUCCESSFUL")
    assert result["validation"] == "SUCCESSFUL", result
    assert "is available" in result["message"]
    assert "DataAge" not in _metrics(aws, "Aurora")  # not queried: no data age claimed


def test_a_failed_restore_job_is_counted_but_not_reported(aws: Any) -> None:
    job = _job("DynamoDB", "", status="FAILED")
    job["StatusMessage"] = "Access denied to the KMS key"
    result = _run(aws, job, None)  # AWS Backup takes results for completed jobs only
    assert result["validation"] == "FAILED" and "Access denied" in result["message"]
    assert _metrics(aws, "DynamoDB")["ValidationFailed"] == 1.0


def test_jobs_of_other_plans_are_left_alone(aws: Any) -> None:
    job = _job("DynamoDB", "arn:aws:dynamodb:us-east-1:1:table/x")
    job["CreatedBy"] = {"RestoreTestingPlanArn": PLAN_ARN.replace(PLAN, "someone_elses")}
    with Stubber(aws["backup"]) as stub:
        stub.add_response("describe_restore_job", job, {"RestoreJobId": "JOB-1"})
        result = validation.handler({"detail": {"restoreJobId": "JOB-1"}},
                                    clients=aws.__getitem__)  # fmt: skip
    assert "skipped" in result
    assert _metrics(aws, "DynamoDB") == {}


@pytest.mark.parametrize(("rto_minutes", "alarm"), [(30, "ALARM"), (60, "OK")])
def test_restore_time_alarm_fires_when_a_restore_exceeds_the_rto(
    aws: Any, rto_minutes: int, alarm: str
) -> None:
    """A 45-minute restore measured by the handler (into moto's CloudWatch), evaluated as
    the synthesized alarm defines it: MAX over the resource types > the RTO threshold."""
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", environment_suffix="prod", restore_tests=False)
    DrRestoreTesting(
        stack, "Tests", vault=platform.backup, database=platform.database,
        function=platform.function, observability=platform.observability,
        rto=Duration.minutes(rto_minutes), environment_suffix="prod",
    )  # fmt: skip
    definition = _alarm(Template.from_stack(stack), "RestoreTimeAboveRto")
    assert definition["Threshold"] == rto_minutes * 60  # derived from the objective

    arn = _restored_table(aws, "awsbackup-restore-test-slow", RECOVERY_POINT_TIME)
    _run(aws, _job("DynamoDB", arn, minutes=45), "SUCCESSFUL")
    values = []
    for stat in (m["MetricStat"] for m in definition["Metrics"] if "MetricStat" in m):
        points = aws["cloudwatch"].get_metric_statistics(
            Namespace=stat["Metric"]["Namespace"], MetricName=stat["Metric"]["MetricName"],
            Dimensions=stat["Metric"]["Dimensions"], Period=stat["Period"],
            StartTime=datetime.now(UTC) - timedelta(seconds=stat["Period"]),
            EndTime=datetime.now(UTC) + timedelta(minutes=1), Statistics=[stat["Stat"]],
        )["Datapoints"]  # fmt: skip
        values += [p[stat["Stat"]] for p in points]
    assert definition["ComparisonOperator"] == "GreaterThanThreshold"
    state = "ALARM" if max(values) > definition["Threshold"] else "OK"
    assert state == alarm


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
