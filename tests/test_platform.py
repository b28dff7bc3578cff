"""DrPlatform: every line of the spec, pinned on one synthesized default stack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from dr_constructs import DrConfigurationError, DrPlatform

from . import cli_world
from .conftest import (
    RECOMMENDED_FLAGS,
    STATEFUL_TYPES,
    new_stack,
    normalised,
    only,
    resources_of,
)


def _build(**context: Any) -> tuple[DrPlatform, Template]:
    stack = new_stack(**context)
    platform = DrPlatform(stack, "Dr")
    return platform, Template.from_stack(stack)


@pytest.fixture(scope="module")
def default_built() -> tuple[DrPlatform, Template]:
    return _build()


@pytest.fixture(scope="module")
def flagged_built() -> tuple[DrPlatform, Template]:
    return _build(**RECOMMENDED_FLAGS)


@pytest.fixture(scope="module", params=["default_built", "flagged_built"])
def built(request: pytest.FixtureRequest) -> tuple[DrPlatform, Template]:
    """Every promise holds with CDK's defaults and with the feature flags `cdk init` writes."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def template(built: tuple[DrPlatform, Template]) -> Template:
    return built[1]


@pytest.fixture(scope="module")
def destroyed() -> Template:
    stack = new_stack()
    DrPlatform(stack, "Dr", environment_suffix="prod", removal_policy=RemovalPolicy.DESTROY)
    return Template.from_stack(stack)


def _logical_id(template: Template, type_: str) -> str:
    (logical_id,) = resources_of(template, type_)
    return logical_id


def test_snapshot(default_built: tuple[DrPlatform, Template], snapshot_json: Any) -> None:
    assert normalised(default_built[1]) == snapshot_json


def test_recommended_flags_reach_the_template(
    default_built: tuple[DrPlatform, Template], flagged_built: tuple[DrPlatform, Template]
) -> None:
    """The flagged variant really synthesizes under the flags: the secret's resource policy
    follows one of them (the attachment's policy becomes the secret's own)."""
    flag = "@aws-cdk/aws-secretsmanager:useAttachedSecretResourcePolicyForSecretTargetAttachments"
    assert RECOMMENDED_FLAGS[flag] is True
    policies = "AWS::SecretsManager::ResourcePolicy"
    (default_policy,) = resources_of(default_built[1], policies)
    (flagged_policy,) = resources_of(flagged_built[1], policies)
    assert "SecretAttachmentPolicy" in default_policy
    assert "SecretAttachmentPolicy" not in flagged_policy


def test_snapshot_destroy_opt_in(destroyed: Template, snapshot_json: Any) -> None:
    assert normalised(destroyed) == snapshot_json


# --- VPC: 3 AZs, public + private subnets, no NAT, S3/DynamoDB endpoints ------------------


def test_vpc_spans_three_pinned_azs_with_public_and_isolated_subnets(template: Template) -> None:
    subnets = resources_of(template, "AWS::EC2::Subnet").values()
    azs = sorted(s["Properties"]["AvailabilityZone"] for s in subnets)
    assert azs == sorted(["us-east-1a", "us-east-1b", "us-east-1c"] * 2)
    public = [s for s in subnets if _tag(s, "aws-cdk:subnet-type") == "Public"]
    isolated = [s for s in subnets if _tag(s, "aws-cdk:subnet-type") == "Isolated"]
    assert len(public) == 3 and len(isolated) == 3
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in public)


def test_no_nat_gateways(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)


def test_gateway_endpoints_for_s3_and_dynamodb_and_secrets_manager_interface(
    template: Template,
) -> None:
    endpoints = resources_of(template, "AWS::EC2::VPCEndpoint").values()
    by_type = {
        json.dumps(e["Properties"]["ServiceName"]): e["Properties"].get("VpcEndpointType")
        for e in endpoints
    }
    services = " ".join(by_type)
    assert ".s3" in services and ".dynamodb" in services and "secretsmanager" in services
    kinds = sorted(str(kind) for kind in by_type.values())
    assert kinds == ["Gateway", "Gateway", "Interface"]


def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"}
    )


# --- Aurora PostgreSQL Multi-AZ, KMS, backups, PITR ---------------------------------------


def test_aurora_postgresql_current_major_encrypted_with_cmk(template: Template) -> None:
    cluster = only(template, "AWS::RDS::DBCluster")
    assert cluster["Engine"] == "aurora-postgresql"
    assert int(cluster["EngineVersion"].split(".")[0]) >= 16
    assert cluster["StorageEncrypted"] is True
    assert "Fn::GetAtt" in cluster["KmsKeyId"]
    assert cluster["EnableIAMDatabaseAuthentication"] is True
    assert cluster["EnableCloudwatchLogsExports"] == ["postgresql"]


def test_aurora_writer_and_reader_in_different_azs_on_graviton(template: Template) -> None:
    instances = [i["Properties"] for i in resources_of(template, "AWS::RDS::DBInstance").values()]
    assert len(instances) == 2
    assert {i["DBInstanceClass"] for i in instances} == {"db.t4g.medium"}
    assert len({i["AvailabilityZone"] for i in instances}) == 2
    assert all(i["PubliclyAccessible"] is False for i in instances)


def test_aurora_forces_tls(template: Template) -> None:
    params = only(template, "AWS::RDS::DBClusterParameterGroup")["Parameters"]
    assert params["rds.force_ssl"] == "1"


def test_aurora_pitr_window_equals_backup_plan_retention(template: Template) -> None:
    cluster = only(template, "AWS::RDS::DBCluster")
    rules = only(template, "AWS::Backup::BackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert cluster["BackupRetentionPeriod"] == 7
    assert [r["Lifecycle"]["DeleteAfterDays"] for r in rules] == [7, 7]


def test_aurora_secret_encrypted_with_cmk_and_rotated(template: Template) -> None:
    secret = only(template, "AWS::SecretsManager::Secret")
    assert "Fn::GetAtt" in secret["KmsKeyId"]
    template.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule",
        {"RotationRules": {"ScheduleExpression": "rate(30 days)"}},
    )


# --- DynamoDB: PITR, on-demand -----------------------------------------------------------


def test_dynamodb_on_demand_pitr_cmk(template: Template) -> None:
    table = only(template, "AWS::DynamoDB::Table")
    assert table["TableName"] == "dr-table-dev"
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEType"] == "KMS"
    assert "KMSMasterKeyId" in table["SSESpecification"]


# --- Lambda in the VPC with access to Aurora, DynamoDB and S3 -----------------------------


def test_lambda_in_isolated_subnets_with_minimal_memory(template: Template) -> None:
    fn = _health_check(template)
    assert fn["FunctionName"] == "dr-function-dev"
    assert fn["MemorySize"] == 128
    assert len(fn["VpcConfig"]["SubnetIds"]) == 3
    assert set(fn["Environment"]["Variables"]) >= {"DB_SECRET_ARN", "TABLE_NAME", "BUCKET_NAME"}
    assert "DeadLetterConfig" in fn and fn["ReservedConcurrentExecutions"] == 2


def test_lambda_may_reach_aurora_port_only_from_its_security_group(template: Template) -> None:
    ingress = [
        r["Properties"] for r in resources_of(template, "AWS::EC2::SecurityGroupIngress").values()
    ]
    to_db = [r for r in ingress if r["FromPort"] == 5432]
    assert to_db and all("SourceSecurityGroupId" in r for r in to_db)
    assert not [r for r in ingress if r.get("CidrIp") == "0.0.0.0/0"]


def test_lambda_role_is_least_privilege(template: Template) -> None:
    statements = _role_statements(template, "DrFunctionRole")
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert "dynamodb:PutItem" in actions and "dynamodb:GetItem" in actions
    assert "s3:PutObject" in actions and "s3:GetObject" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert not [a for a in actions if a.endswith("*") or a == "*"]
    s3_statement = next(s for s in statements if "s3:PutObject" in _as_list(s["Action"]))
    assert "/health-check/dr-function-dev.json" in json.dumps(s3_statement["Resource"])
    managed = [
        r["Properties"].get("ManagedPolicyArns")
        for k, r in resources_of(template, "AWS::IAM::Role").items()
        if k.startswith("DrFunctionRole")
    ]
    assert managed == [None]


# --- S3: versioned, KMS, lifecycle --------------------------------------------------------


def test_bucket_versioned_kms_private_tls_lifecycle(template: Template) -> None:
    buckets = resources_of(template, "AWS::S3::Bucket")
    data = next(b["Properties"] for k, b in buckets.items() if k.startswith("DrStorageBucket"))
    assert data["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = data["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert data["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = data["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert data["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
    assert "LoggingConfiguration" in data
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


# --- AWS Backup: hourly, 7 days, continuous ----------------------------------------------


def test_backup_plan_hourly_seven_days_continuous(template: Template) -> None:
    """The spec's hourly rule with continuous backup, and daily snapshots beside it (AWS
    recommends both; a continuous rule makes no snapshot of Aurora or S3)."""
    continuous, snapshots = only(template, "AWS::Backup::BackupPlan")["BackupPlan"][
        "BackupPlanRule"
    ]
    assert continuous["RuleName"] == "HourlyWithContinuous"
    assert continuous["ScheduleExpression"] == "cron(0 * * * ? *)"
    assert continuous["Lifecycle"] == {"DeleteAfterDays": 7}
    assert continuous["EnableContinuousBackup"] is True
    assert continuous["StartWindowMinutes"] == 60
    assert snapshots["RuleName"] == "DailySnapshots"
    assert snapshots["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert snapshots["Lifecycle"] == {"DeleteAfterDays": 7}
    assert "EnableContinuousBackup" not in snapshots
    assert (snapshots["StartWindowMinutes"], snapshots["CompletionWindowMinutes"]) == (60, 480)


def test_backup_vault_encrypted_with_cmk(template: Template) -> None:
    vault = only(template, "AWS::Backup::BackupVault")
    assert "Fn::GetAtt" in vault["EncryptionKeyArn"]
    assert vault["BackupVaultName"] == "dr-vault-dev"


def test_backup_selection_covers_every_stateful_data_store(template: Template) -> None:
    selection = json.dumps(only(template, "AWS::Backup::BackupSelection"))
    for type_ in ("AWS::RDS::DBCluster", "AWS::DynamoDB::Table"):
        assert _logical_id(template, type_) in selection
    data_bucket = next(
        k for k in resources_of(template, "AWS::S3::Bucket") if k.startswith("DrStorageBucket")
    )
    assert data_bucket in selection
    role = json.dumps(_role_of(template, "DrBackupRole"))
    assert "AWSBackupServiceRolePolicyForS3Backup" in role
    assert "AWSBackupServiceRolePolicyForS3Restore" in role


# --- KMS: customer-managed keys with rotation ---------------------------------------------


def test_every_key_rotates(template: Template) -> None:
    keys = resources_of(template, "AWS::KMS::Key").values()
    assert len(keys) >= 4
    assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys)


def test_every_key_lets_only_aws_services_create_grants(template: Template) -> None:
    """The statement AWS Control Tower CT.KMS.PR.3 requires, in every key policy."""
    deny_grants = {
        "Sid": "DenyGrantsExceptForAwsServices",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {
            "BoolIfExists": {
                "kms:GrantIsForAWSResource": "false",
                "aws:PrincipalIsAWSService": "false",
            }
        },
    }
    keys = resources_of(template, "AWS::KMS::Key")
    assert len(keys) >= 4
    for logical_id, key in keys.items():
        assert deny_grants in key["Properties"]["KeyPolicy"]["Statement"], logical_id


# --- CloudWatch dashboard and alarms, EventBridge, SNS ------------------------------------


def test_dashboard_named_for_the_suffix_with_spec_widgets(template: Template) -> None:
    dashboard = only(template, "AWS::CloudWatch::Dashboard")
    assert dashboard["DashboardName"] == "DR-Dashboard-dev"
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (
        "CPUUtilization",
        "DatabaseConnections",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "Invocations",
        "Errors",
        "Duration",
    ):
        assert metric in body, metric


@pytest.mark.parametrize(
    ("name", "threshold", "periods", "period"),
    [
        ("dr-dev-AuroraHighCpu", 80, 2, 300),  # CPU > 80% for 10 minutes
        ("dr-dev-DynamoDbThrottles", 10, 1, 300),  # throttle events > 10
        ("dr-dev-LambdaErrors", 5, 1, 300),  # errors > 5
    ],
)
def test_spec_alarms_notify_the_topic(
    template: Template, name: str, threshold: int, periods: int, period: int
) -> None:
    alarm = next(
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == name
    )
    assert alarm["Threshold"] == threshold
    assert alarm["EvaluationPeriods"] == periods
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    metric_periods = {alarm.get("Period")} | {
        m["MetricStat"]["Period"] for m in alarm.get("Metrics", []) if "MetricStat" in m
    }
    assert metric_periods - {None} == {period}
    topic = _logical_id(template, "AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_eventbridge_sends_backup_and_restore_job_changes_to_topic(template: Template) -> None:
    rules = [
        r["Properties"] for k, r in resources_of(template, "AWS::Events::Rule").items()
        if k.startswith("DrObservability")
    ]  # fmt: skip
    detail_types = {r["EventPattern"]["detail-type"][0] for r in rules}
    assert {"Backup Job State Change", "Restore Job State Change"} <= detail_types
    topic = _logical_id(template, "AWS::SNS::Topic")
    assert all(r["Targets"][0]["Arn"] == {"Ref": topic} for r in rules)
    assert all(r["EventPattern"]["source"] == ["aws.backup"] for r in rules)


def test_topic_key_lets_cloudwatch_and_eventbridge_publish(template: Template) -> None:
    topic = only(template, "AWS::SNS::Topic")
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    policy = json.dumps(resources_of(template, "AWS::KMS::Key")[key_id]["Properties"])
    assert "cloudwatch.amazonaws.com" in policy and "events.amazonaws.com" in policy
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Sid": "AllowPublishThroughSSLOnly"})]
                )
            }
        },
    )


# --- Stateful data kept unless opted in ---------------------------------------------------


def test_defaults_retain_every_stateful_resource(template: Template) -> None:
    for type_ in STATEFUL_TYPES:
        for logical_id, resource in resources_of(template, type_).items():
            expected = "Snapshot" if type_ == "AWS::RDS::DBCluster" else "Retain"
            assert resource.get("DeletionPolicy") == expected, (logical_id, type_)
    assert only(template, "AWS::RDS::DBCluster")["DeletionProtection"] is True
    assert only(template, "AWS::DynamoDB::Table")["DeletionProtectionEnabled"] is True


def test_destroy_opt_in_covers_every_stateful_resource(destroyed: Template) -> None:
    for type_ in STATEFUL_TYPES:
        for logical_id, resource in resources_of(destroyed, type_).items():
            assert resource.get("DeletionPolicy") == "Delete", (logical_id, type_)
    assert only(destroyed, "AWS::RDS::DBCluster")["DeletionProtection"] is False
    assert only(destroyed, "AWS::DynamoDB::Table")["DeletionProtectionEnabled"] is False
    # the data bucket is emptied by CDK's auto-delete, the access-log bucket deleted after it
    assert len(resources_of(destroyed, "Custom::S3AutoDeleteObjects")) == 1
    assert len(resources_of(destroyed, "Custom::DrBucketDeletion")) == 1


def test_suffix_names_every_named_resource(destroyed: Template) -> None:
    assert only(destroyed, "AWS::DynamoDB::Table")["TableName"] == "dr-table-prod"
    assert _health_check(destroyed)["FunctionName"] == "dr-function-prod"
    assert only(destroyed, "AWS::CloudWatch::Dashboard")["DashboardName"] == "DR-Dashboard-prod"


def test_public_attributes_reach_every_seed_resource(built: tuple[DrPlatform, Template]) -> None:
    platform, _ = built
    stack = Stack.of(platform)
    for attribute in (
        platform.vpc,
        platform.cluster,
        platform.table,
        platform.bucket,
        platform.lambda_function,
        platform.topic,
        platform.dashboard,
        platform.backup.vault,
        platform.backup.plan,
        platform.data_key,
        platform.logs_key,
    ):
        assert Stack.of(attribute) is stack


# --- helpers ------------------------------------------------------------------------------


def _tag(resource: dict[str, Any], key: str) -> str | None:
    return next(
        (t["Value"] for t in resource["Properties"].get("Tags", []) if t["Key"] == key), None
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _health_check(template: Template) -> dict[str, Any]:
    functions = resources_of(template, "AWS::Lambda::Function")
    return next(f["Properties"] for k, f in functions.items() if k.startswith("DrFunction"))


def _role_of(template: Template, prefix: str) -> dict[str, Any]:
    roles = resources_of(template, "AWS::IAM::Role")
    return next(r["Properties"] for k, r in roles.items() if k.startswith(prefix))


def _role_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement attached to the role: inline and customer-managed policies alike."""
    role_id = next(k for k in resources_of(template, "AWS::IAM::Role") if k.startswith(role_prefix))
    policies = {
        **resources_of(template, "AWS::IAM::Policy"),
        **resources_of(template, "AWS::IAM::ManagedPolicy"),
    }
    return [
        statement
        for policy in policies.values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_template_states_its_objectives_for_the_operator_command(template: Template) -> None:
    from dr_constructs.cli.discovery import FAILURE_MODES, METADATA_KEY

    declared = template.to_json()["Metadata"][METADATA_KEY]["objectives"]
    # exactly what the operator command reads (and its tests' stand-in stack declares)
    assert sorted(declared) == sorted(FAILURE_MODES) == sorted(cli_world.OBJECTIVES)
    assert declared == {
        mode: {"rpo_seconds": 3600, "rto_seconds": 4 * 3600} for mode in FAILURE_MODES
    }


def test_air_gapped_copies_are_an_explicit_opt_in() -> None:
    stack = new_stack()
    DrPlatform(stack, "Dr", air_gapped_retention=Duration.days(14))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Backup::LogicallyAirGappedBackupVault", 1)
    rules = only(template, "AWS::Backup::BackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert [r["CopyActions"][0]["Lifecycle"] for r in rules] == [{"DeleteAfterDays": 14}] * 2


# --- the team's own Lambda code: the health check stays on as the canary writer -----------

TEAM_CODE = {
    "function_code": lambda_.Code.from_inline("def handler(event, context):\n    return {}"),
    "function_handler": "index.handler",
}


@pytest.fixture(scope="module")
def own_code() -> tuple[DrPlatform, Template]:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", environment_suffix="team", **TEAM_CODE)
    return platform, Template.from_stack(stack)


def _functions(template: Template) -> dict[str, dict[str, Any]]:
    return {
        f["Properties"].get("FunctionName"): {"id": k, **f["Properties"]}
        for k, f in resources_of(template, "AWS::Lambda::Function").items()
    }


def test_own_code_runs_beside_a_canary_writer_in_the_same_network(
    own_code: tuple[DrPlatform, Template],
) -> None:
    platform, template = own_code
    functions = _functions(template)
    team, canary = functions["dr-function-team"], functions["dr-canary-team"]
    assert team["Handler"] == "index.handler" and "ZipFile" in team["Code"]
    assert canary["Handler"] == "handler.handler" and "S3Key" in canary["Code"]
    assert canary["VpcConfig"]["SubnetIds"] == team["VpcConfig"]["SubnetIds"]
    assert canary["Environment"]["Variables"]["TABLE_PARTITION_KEY"] == "pk"
    assert platform.canary is not None and platform.restore_testing is not None
    assert platform.canary.canary_item_key == "health-check#dr-canary-team"
    # the canary reaches Aurora like the health check (one ingress rule per client group)
    groups = [
        r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for r in resources_of(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("FromPort") == 5432
    ]
    assert any(g.startswith("DrCanarySecurityGroup") for g in groups), groups


def test_own_code_is_not_run_on_the_canary_schedule(own_code: tuple[DrPlatform, Template]) -> None:
    """Restore tests schedule the canary writer every minute, not the team's function."""
    _, template = own_code
    functions = _functions(template)
    scheduled = {
        target["Arn"]["Fn::GetAtt"][0]
        for rule in resources_of(template, "AWS::Events::Rule").values()
        if "ScheduleExpression" in rule["Properties"]
        for target in rule["Properties"]["Targets"]
    }
    assert functions["dr-canary-team"]["id"] in scheduled
    assert functions["dr-function-team"]["id"] not in scheduled


def test_no_canary_writer_where_none_is_needed(built: tuple[DrPlatform, Template]) -> None:
    platform, template = built
    assert platform.canary is None  # the packaged health check writes the canary itself
    assert "dr-canary-dev" not in _functions(template)
    stack = new_stack()
    assert DrPlatform(stack, "Dr", restore_tests=False, **TEAM_CODE).canary is None
    assert "dr-canary-dev" not in _functions(Template.from_stack(stack))


def test_a_non_string_partition_key_needs_restore_tests_off() -> None:
    number = dynamodb.Attribute(name="id", type=dynamodb.AttributeType.NUMBER)
    with pytest.raises(
        DrConfigurationError,
        match=r"partition_key='id \(NUMBER\)'; accepted: a STRING attribute while restore tests"
        r".*or restore_tests=False",
    ):
        DrPlatform(new_stack(), "Dr", partition_key=number, **TEAM_CODE)
    DrPlatform(new_stack(), "Dr", partition_key=number, restore_tests=False, **TEAM_CODE)
