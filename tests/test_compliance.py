"""The compliance gates: cdk-nag (4 packs), the AWS Control Tower proactive controls, cfn-lint,
checkov and least privilege, on DrPlatform.

Three apps, each synthesized once per module:

* ``defaults``: ``DrPlatform(stack, "Dr")`` in us-east-1 with every default;
* ``example``: what the example app deploys (``environment_suffix="prod"``,
  ``removal_policy=RemovalPolicy.DESTROY``), which adds the S3 auto-delete provider;
* ``user_app``: DrPlatform wrapped in a user's own construct, in an environment-agnostic
  stack with other ids, to show that the library's acknowledgements travel with its
  constructs rather than with the paths of the test's stack; with every opt-in of the
  assurance layer on (RDS Proxy, AWS Resilience Hub).
* ``own_code``: the team's own Lambda code (``function_code``), which brings the packaged
  health check beside it as the restore tests' canary writer (``dr-canary-{suffix}``).

Each gate reads the same artifacts a user gets from ``cdk synth``: the template and
``validation-report.json`` of the cloud assembly, produced with
:func:`dr_constructs.compliance.apply_rule_packs`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack, Stage
from aws_cdk import aws_lambda as lambda_
from cfnlint.api import ManualArgs, lint
from constructs import Construct

from dr_constructs import DrPlatform, RecoveryObjectives, Target
from dr_constructs.compliance import (
    CONTROL_TOWER,
    RULE_PACKS,
    acknowledge,
    apply_rule_packs,
    rule_id,
)
from dr_constructs.recovery import DrRecoveryRegion

from .conftest import ACCOUNT, RECOMMENDED_FLAGS, REGION

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"
CHECKOV = "checkov==3.3.30"
VARIANTS = ("defaults", "example", "user_app", "own_code")
SUFFIXES = {"defaults": "dev", "example": "prod", "user_app": "staging", "own_code": "team"}

#: Every acknowledged cdk-nag finding, as (rule, construct path below the DrPlatform). Adding
#: one means a security review: the reason lives beside the resource in src/dr_constructs.
ACKNOWLEDGED: dict[str, set[tuple[str, str]]] = {
    "AwsSolutions": {
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "Backup/Role",
        ),
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForRestores]",
            "Backup/Role",
        ),
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AWSBackupServiceRolePolicyForS3Backup]",
            "Backup/Role",
        ),
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AWSBackupServiceRolePolicyForS3Restore]",
            "Backup/Role",
        ),
        ("AwsSolutions-IAM5[Resource::*]", "Function/Policy"),
        (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            "Function/Policy",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:RDSOSMetrics*]",
            "Database/MonitoringPolicy",
        ),
        (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:RDSOSMetrics:log-stream:*]",
            "Database/MonitoringPolicy",
        ),
    },
    **{
        pack: {
            *(
                (f"{pack}-VPCNoUnrestrictedRouteToIGW", f"Network/Vpc/PublicSubnet{i}")
                for i in (1, 2, 3)
            ),
            (f"{pack}-S3BucketReplicationEnabled", "Storage/Bucket"),
            (f"{pack}-S3BucketReplicationEnabled", "Storage/AccessLogs"),
            (f"{pack}-S3DefaultEncryptionKMS", "Storage/AccessLogs"),
            *([(f"{pack}-RDSInBackupPlan", "Database/Cluster")] if pack[0] != "P" else []),
        }
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    },
}
#: Acknowledged only where the caller opted in to RemovalPolicy.DESTROY.
ACKNOWLEDGED_WITH_DESTROY: dict[str, set[tuple[str, str]]] = {
    "AwsSolutions": {("AwsSolutions-RDS10", "Database/Cluster")},
    "HIPAA.Security": {("HIPAA.Security-RDSInstanceDeletionProtectionEnabled", "Database/Cluster")},
    "NIST.800.53.R5": {("NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled", "Database/Cluster")},
}


#: The database user the packaged health check connects as to restored Aurora copies.
RESTORED_COPIES = ":dbuser:cluster-*/dr_restore_validator"


def restore_testing_acknowledgements(name: str) -> set[tuple[str, str]]:
    """The validation Lambda's reads of restored copies (see restore_testing, on by default),
    with the team's own code the canary writer's ENI actions (a DrFunction's), and the packaged
    health check's reads of restored Aurora copies (the operator's restore)."""
    prefix = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:"
    writer = "canary" if name == "own_code" else "function"
    found = {
        (f"{prefix.rsplit('[', 1)[0]}[Resource::*]", "RestoreTesting/Policy"),
        *(
            (f"{prefix}{pattern}]", "RestoreTesting/Policy")
            for pattern in (
                "dynamodb:<AWS::Region>:<AWS::AccountId>:table/awsbackup-restore-test-*",
                "backup:<AWS::Region>:<AWS::AccountId>:recovery-point:*",
                "dynamodb:<AWS::Region>:<AWS::AccountId>:table/*/backup/*",
                f"s3:::awsbackup-restore-test-*/health-check/dr-{writer}-{SUFFIXES[name]}.json",
            )
        ),
    }
    # Aurora's restore test adds an instance to restored clusters (restore_testing/aurora.py)
    found |= {
        (f"{prefix.rsplit('[', 1)[0]}[Resource::*]", "RestoreTesting/AuroraProof/Policy"),
        *(
            (f"{prefix}rds:<AWS::Region>:<AWS::AccountId>:{pattern}]",
             "RestoreTesting/AuroraProof/Policy")
            for pattern in ("db:awsbackup-restore-test*", "cluster:awsbackup-restore-test*",
                            "pg:default.aurora-postgresql*", "og:default:aurora-postgresql*")
        ),
    }  # fmt: skip
    if name == "own_code":
        found |= {(rule, "Canary/Policy") for rule, path in ACKNOWLEDGED["AwsSolutions"]
                  if path == "Function/Policy"}  # fmt: skip
    # the packaged health check (the canary writer beside own code) reads restored copies
    found.add((
        f"{prefix}rds-db:<AWS::Region>:<AWS::AccountId>{RESTORED_COPIES}]",
        f"{writer.capitalize()}/Policy",
    ))  # fmt: skip
    return found


#: Acknowledged only where the caller turned AWS Resilience Hub on (user_app): the invoker role
#: carries the AWS-managed policy AWS's Resilience Hub guide names (see objectives.py).
ACKNOWLEDGED_WITH_RESILIENCE_HUB: dict[str, set[tuple[str, str]]] = {
    "AwsSolutions": {
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AWSResilienceHubAsssessmentExecutionPolicy]",
            "ResilienceHub/InvokerRole",
        )
    },
}
#: Acknowledged only where the caller turned the FIS drills on (the example does).
ACKNOWLEDGED_WITH_DRILLS: dict[str, set[tuple[str, str]]] = {
    "AwsSolutions": {
        ("AwsSolutions-IAM5[Resource::*]", "Drills/Policy"),
        (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-acl/*]",
            "Drills/Policy",
        ),
    },
}
#: Every acknowledged AWS Control Tower finding, as (control, construct path below the
#: DrPlatform, or "/..." below the stack for CDK's stack-level custom-resource providers).
ACKNOWLEDGED_CONTROL_TOWER = {
    ("CT.S3.PR.2", "Storage/AccessLogs"),
    ("CT.S3.PR.9", "Storage/AccessLogs"),
    ("CT.S3.PR.9", "Storage/Bucket"),
    ("CT.S3.PR.10", "Storage/AccessLogs"),
    ("CT.LAMBDA.PR.3", "/Custom::VpcRestrictDefaultSGCustomResourceProvider"),
    ("CT.LAMBDA.PR.3", "RestoreTesting/Function"),
}
#: Acknowledged only where the caller opted in to RemovalPolicy.DESTROY.
ACKNOWLEDGED_CONTROL_TOWER_WITH_DESTROY = {
    ("CT.RDS.PR.3", "Database/Cluster"),
    ("CT.LAMBDA.PR.3", "/Custom::S3AutoDeleteObjectsCustomResourceProvider"),
    ("CT.LAMBDA.PR.3", "/Custom::DrBucketDeletionCustomResourceProvider"),
    ("CT.LAMBDA.PR.3", "/Custom::DrVaultDeletionCustomResourceProvider"),
}

#: checkov skips declared in template Metadata, by a part of the resource's logical id.
CHECKOV_SKIPS = {
    "StorageAccessLogs": {"CKV_AWS_18"},
    "AuditReportsAccessLogs": {"CKV_AWS_18"},  # the audit's report DrBucket (user_app)
    "RestoreTestingFunction": {"CKV_AWS_117"},
    "CustomVpcRestrictDefaultSGCustomResourceProviderHandler": {
        "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117",
    },
    "CustomS3AutoDeleteObjectsCustomResourceProviderHandler": {
        "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117",
    },
    "CustomDrBucketDeletionCustomResourceProviderHandler": {
        "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117",
    },
    "CustomDrVaultDeletionCustomResourceProviderHandler": {
        "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117",
    },
}  # fmt: skip
#: cfn-lint checks ignored in template Metadata: pinned AZs, by resource type.
CFN_LINT_IGNORES = {"AWS::EC2::Subnet": ["W3010"], "AWS::RDS::DBInstance": ["W3010"]}

#: IAM statements allowed a wildcard resource, as (policy logical-id prefix, actions, pattern):
#: the actions support no resource-level permission ("*"), or the resource's name exists only
#: once AWS creates it (a Lambda ENI, an Enhanced Monitoring log stream).
WILDCARD_RESOURCES = {
    ("DrFunctionPolicy", ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"), "*"),
    ("DrFunctionPolicy", ("ec2:CreateNetworkInterface",), ":network-interface/*"),
    (
        "DrFunctionPolicy",
        (
            "ec2:AssignPrivateIpAddresses",
            "ec2:DeleteNetworkInterface",
            "ec2:UnassignPrivateIpAddresses",
        ),
        ":network-interface/*",
    ),
    (
        "DrDatabaseMonitoringPolicy",
        ("logs:CreateLogGroup", "logs:PutRetentionPolicy"),
        ":log-group:RDSOSMetrics*",
    ),
    (
        "DrDatabaseMonitoringPolicy",
        (
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
            "logs:PutLogEvents",
        ),
        ":log-group:RDSOSMetrics:log-stream:*",
    ),
}
#: Allowed only where the caller opted in to RemovalPolicy.DESTROY: the handler that deletes the
#: access-log bucket deletes its objects, whose names exist only once S3 delivers them.
WILDCARD_RESOURCES_WITH_DESTROY = {
    ("CustomDrBucketDeletionCustomResourceProviderRole", ("s3:DeleteObjectVersion",), "/*"),
    # ... and the one that empties the backup vault deletes its recovery points, whose ARNs
    # exist only once AWS Backup creates them (AWS Backup's own, Aurora snapshots, DynamoDB
    # backups), and lists backup jobs (no resource-level permission)
    ("CustomDrVaultDeletionCustomResourceProviderRole", ("backup:DeleteRecoveryPoint",),
     ":recovery-point:*"),
    ("CustomDrVaultDeletionCustomResourceProviderRole", ("backup:DeleteRecoveryPoint",),
     ":cluster-snapshot:awsbackup:*"),
    ("CustomDrVaultDeletionCustomResourceProviderRole", ("backup:DeleteRecoveryPoint",),
     ":table/*/backup/*"),
    ("CustomDrVaultDeletionCustomResourceProviderRole", ("backup:ListBackupJobs",), "*"),
}  # fmt: skip
#: The same, for the FIS drills' role (example only): reads and log set-up on "*", changes
#: only on ACLs FIS creates and tags (see drills.DESCRIBE_REASON).
WILDCARD_RESOURCES_WITH_DRILLS = {
    (
        "DrDrillsPolicy",
        (
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:GetManagedPrefixListEntries",
            "logs:CreateLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:PutResourcePolicy",
            "tag:GetResources",
        ),
        "*",
    ),
    ("DrDrillsPolicy", ("ec2:CreateNetworkAcl",), ":network-acl/*"),
    ("DrDrillsPolicy", ("ec2:CreateTags",), ":network-acl/*"),
    ("DrDrillsPolicy", ("ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"), ":network-acl/*"),
    ("DrDrillsPolicy", ("ec2:ReplaceNetworkAclAssociation",), ":network-acl/*"),
}
#: The restore-validation Lambda (on by default): reads on "*" where the actions take no
#: resource, and on the awsbackup-restore-test-* copies (see restore_testing).
WILDCARD_RESOURCES |= {
    (
        "DrRestoreTestingPolicy",
        ("backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"),
        "*",
    ),
    ("DrRestoreTestingPolicy", ("cloudwatch:PutMetricData",), "*"),
    ("DrRestoreTestingPolicy", ("dynamodb:GetItem",), ":table/awsbackup-restore-test-*"),
    ("DrRestoreTestingPolicy", ("backup:DescribeRecoveryPoint",), ":recovery-point:*"),
    ("DrRestoreTestingPolicy", ("backup:DescribeRecoveryPoint",), ":table/*/backup/*"),
    # Aurora's restore test (restore_testing/aurora.py): the instance it adds to a restored
    # cluster and that cluster, named by AWS Backup's prefix; the default parameter and option
    # groups the instance gets; reports, measurements, log delivery and traces on "*"
    *(
        ("DrRestoreTestingAuroraProofPolicy", ("rds:AddTagsToResource", "rds:CreateDBInstance"),
         pattern)
        for pattern in (":db:awsbackup-restore-test*", ":cluster:awsbackup-restore-test*",
                        ":pg:default.aurora-postgresql*", ":og:default:aurora-postgresql*")
    ),
    ("DrRestoreTestingAuroraProofPolicy", ("rds:DeleteDBInstance", "rds:DescribeDBInstances"),
     ":db:awsbackup-restore-test*"),
    ("DrRestoreTestingAuroraProofPolicy", ("rds:DescribeDBClusters",),
     ":cluster:awsbackup-restore-test*"),
    ("DrRestoreTestingAuroraProofPolicy", ("backup:PutRestoreValidationResult",), "*"),
    ("DrRestoreTestingAuroraProofPolicy", ("cloudwatch:PutMetricData",), "*"),
    ("DrRestoreTestingAuroraProofPolicy", tuple(sorted((
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"))), "*"),
    ("DrRestoreTestingAuroraProofPolicy", ("xray:GetSamplingRules", "xray:GetSamplingTargets",
                                           "xray:PutTelemetryRecords", "xray:PutTraceSegments"),
     "*"),
}  # fmt: skip
#: AWS-managed policies attached to roles, by role logical-id prefix.
AWS_MANAGED_POLICIES = {
    # AWS Backup's service-role policies (acknowledged AwsSolutions-IAM4, see backup.py).
    "BackupRole": {
        "service-role/AWSBackupServiceRolePolicyForBackup",
        "service-role/AWSBackupServiceRolePolicyForRestores",
        "AWSBackupServiceRolePolicyForS3Backup",
        "AWSBackupServiceRolePolicyForS3Restore",
    },
    # CDK's own custom-resource providers: CloudWatch Logs for their handler, nothing else.
    "CustomVpcRestrictDefaultSGCustomResourceProviderRole": {
        "service-role/AWSLambdaBasicExecutionRole"
    },
    "CustomS3AutoDeleteObjectsCustomResourceProviderRole": {
        "service-role/AWSLambdaBasicExecutionRole"
    },
    "CustomDrBucketDeletionCustomResourceProviderRole": {
        "service-role/AWSLambdaBasicExecutionRole"
    },
    # Resilience Hub's invoker role (user_app): the policy AWS's guide names, acknowledged
    "ResilienceHubInvokerRole": {"AWSResilienceHubAsssessmentExecutionPolicy"},
    "CustomDrVaultDeletionCustomResourceProviderRole": {"service-role/AWSLambdaBasicExecutionRole"},
}


@dataclass
class Synthesized:
    name: str
    platform_path: str  # construct path of the DrPlatform, e.g. "Test/Dr"
    template_path: Path
    template: dict[str, Any]
    report: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]  # type: ignore[no-any-return]

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == type_}


class UserPlatform(Construct):
    """A user's own construct around DrPlatform."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        DrPlatform(
            self, "Platform", environment_suffix="staging", proxy=True, resilience_hub=True,
            air_gapped_retention=Duration.days(30), audit_reports=True,
        )  # fmt: skip


def _synthesize(name: str, outdir: Path) -> Synthesized:
    # the example's configuration under the example's cdk.json (the flags `cdk init` writes);
    # the other variants under CDK's defaults: the gates hold either way
    context = RECOMMENDED_FLAGS if name == "example" else None
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    if name == "user_app":
        stack = Stack(app, "UserStack")  # environment-agnostic
        UserPlatform(stack, "Team")
        platform_path = "UserStack/Team/Platform"
    else:
        stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
        if name == "defaults":
            DrPlatform(stack, "Dr")
        elif name == "own_code":
            DrPlatform(
                stack, "Dr", environment_suffix="team", function_handler="index.handler",
                function_code=lambda_.Code.from_inline("def handler(event, context): pass"),
            )  # fmt: skip
        else:
            DrPlatform(
                stack, "Dr", environment_suffix="prod", removal_policy=RemovalPolicy.DESTROY,
                drills=True,
            )  # fmt: skip
        platform_path = "Test/Dr"
    apply_rule_packs(app)  # the documented one-liner
    assembly = app.synth()  # raises on unacknowledged errors
    artifact = assembly.get_stack_by_name(stack.stack_name)
    report = json.loads((outdir / "validation-report.json").read_text())
    return Synthesized(
        name, platform_path, Path(artifact.template_full_path), artifact.template, report
    )


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    return {name: _synthesize(name, tmp_path_factory.mktemp(name)) for name in VARIANTS}


@pytest.fixture(params=VARIANTS)
def synth(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized[request.param]


# --- cdk-nag -------------------------------------------------------------------------------


def test_every_rule_pack_ran_and_reports_no_unacknowledged_error_or_warning(
    synth: Synthesized,
) -> None:
    reports = {r["pluginName"]: r for r in synth.report["pluginReports"]}
    assert {*RULE_PACKS, CONTROL_TOWER} <= set(reports), sorted(reports)
    findings = [
        f"{name}: {v['severity']} {v['ruleName']} at "
        + ", ".join(c.get("constructPath", "?") for c in v["violatingConstructs"])
        for name, report in reports.items()
        for v in report.get("violations", [])
    ]
    assert findings == []
    assert all(reports[gate]["conclusion"] == "success" for gate in (*RULE_PACKS, CONTROL_TOWER))


def test_acknowledgements_are_exactly_the_reviewed_ones_each_with_a_reason(
    synth: Synthesized,
) -> None:
    prefix = synth.platform_path + "/"
    for pack in RULE_PACKS:
        (report,) = (r for r in synth.report["pluginReports"] if r["pluginName"] == pack)
        found = set()
        for suppressed in report.get("suppressedViolations", []):
            assert len(suppressed["reason"]) >= 80, suppressed["reason"]
            assert suppressed["acknowledgedAt"].startswith(prefix), suppressed["acknowledgedAt"]
            found.add((suppressed["ruleName"], suppressed["acknowledgedAt"][len(prefix) :]))
        expected = set(ACKNOWLEDGED[pack])
        if pack == "AwsSolutions":
            expected |= restore_testing_acknowledgements(synth.name)
        else:
            expected.add((f"{pack}-LambdaInsideVPC", "RestoreTesting/Function"))
        if synth.name == "example":
            expected |= ACKNOWLEDGED_WITH_DESTROY.get(pack, set())
            expected |= ACKNOWLEDGED_WITH_DRILLS.get(pack, set())
        if synth.name == "user_app":  # audit_reports: a DrBucket of its own for the reports
            expected |= _also_on_report_bucket(expected)
            expected |= ACKNOWLEDGED_WITH_RESILIENCE_HUB.get(pack, set())
        assert found == expected, pack


def test_control_tower_acknowledgements_are_exactly_the_reviewed_ones(synth: Synthesized) -> None:
    (report,) = (r for r in synth.report["pluginReports"] if r["pluginName"] == CONTROL_TOWER)
    stack_path = synth.platform_path.split("/")[0]
    found = set()
    for suppressed in report.get("suppressedViolations", []):
        assert len(suppressed["reason"]) >= 80, suppressed["reason"]
        control = re.match(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]", suppressed["description"])
        assert control, suppressed["description"]
        # compliance.rule_id names the cfn-guard rule that implements the control
        assert suppressed["acknowledgedId"] == rule_id(control[1])
        at = suppressed["acknowledgedAt"]
        if at.startswith(synth.platform_path + "/"):
            found.add((control[1], at[len(synth.platform_path) + 1 :]))
        else:
            assert at.startswith(stack_path + "/Custom::"), at
            found.add((control[1], at[len(stack_path) :]))
    expected = set(ACKNOWLEDGED_CONTROL_TOWER)
    if synth.name == "example":
        expected |= ACKNOWLEDGED_CONTROL_TOWER_WITH_DESTROY
    if synth.name == "user_app":
        expected |= _also_on_report_bucket(expected)
    assert found == expected


def _also_on_report_bucket(acknowledged: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The reviewed findings of Storage's buckets, again on the audit's report DrBucket."""
    return {
        (rule, path.replace("Storage/", "Audit/Reports/", 1))
        for rule, path in acknowledged
        if path.startswith("Storage/")
    }


def test_the_gate_fails_synthesis_on_a_finding(tmp_path: Path) -> None:
    """The packs are not vacuous: an unlogged, unencrypted bucket stops `cdk synth`."""
    from aws_cdk import aws_s3 as s3

    app = App(outdir=str(tmp_path), analytics_reporting=False)
    s3.Bucket(Stack(app, "Plain"), "Bucket")
    apply_rule_packs(app)
    with pytest.raises(RuntimeError, match=r"AwsSolutions-S1"):
        app.synth()


def test_the_control_tower_gate_fails_synthesis_on_a_finding(tmp_path: Path) -> None:
    """The Control Tower controls are not vacuous: a KMS key with CDK's default policy (no
    limit on who may create grants) stops `cdk synth`, and only that gate reports it."""
    from aws_cdk import aws_kms as kms

    app = App(outdir=str(tmp_path), analytics_reporting=False)
    kms.Key(Stack(app, "Plain"), "Key", enable_key_rotation=True)
    apply_rule_packs(app)
    with pytest.raises(RuntimeError, match=r"CT\.KMS\.PR\.3"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {
        (r["pluginName"], v["description"].split("]")[0] + "]")
        for r in report["pluginReports"]
        for v in r.get("violations", [])
    }
    assert failed == {(CONTROL_TOWER, "[CT.KMS.PR.3]")}


def test_own_vpc_in_the_app_passes_the_packs(tmp_path: Path) -> None:
    """Bring your own ec2.Vpc: the endpoint's ingress is the VPC's literal range, which the
    packs can verify (a CidrBlock attribute made them report "Rule threw an error")."""
    from aws_cdk import aws_ec2 as ec2

    app = App(outdir=str(tmp_path), analytics_reporting=False)
    stack = Stack(app, "Own", env=Environment(account=ACCOUNT, region=REGION))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, restrict_default_security_group=True,
                  subnet_configuration=[ec2.SubnetConfiguration(
                      name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])  # fmt: skip
    DrPlatform(stack, "Dr", vpc=vpc)
    # The user's own VPC brings CDK's default-SG provider Lambda, outside any VPC: the user
    # reviews it, as the library does for the VPCs it creates.
    acknowledge(
        stack.node.find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider"),
        "CDK's provider that empties the default security group runs at deployment only and "
        "calls the EC2 API, which the isolated subnets cannot reach: outside the VPC by design.",
        "CT.LAMBDA.PR.3",
    )
    apply_rule_packs(app)
    app.synth()  # raised ValidationFailed
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = [
        (r["pluginName"], v["ruleName"], [c.get("constructPath") for c in v["violatingConstructs"]])
        for r in report["pluginReports"]
        for v in r.get("violations", [])
    ]
    assert findings == []


# --- cfn-lint ------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing(synth: Synthesized) -> None:
    assert not list(ROOT.glob(".cfnlintrc*")), "no global cfn-lint configuration"
    matches = lint(synth.template_path.read_text(), config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_ignores_only_pinned_azs_per_resource(synth: Synthesized) -> None:
    for logical_id, resource in synth.resources.items():
        ignored = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {})
        if ignored:
            assert ignored == {"ignore_checks": CFN_LINT_IGNORES[resource["Type"]]}, logical_id
            assert not resource["Properties"]["AvailabilityZone"].startswith("dummy")
    if synth.name == "user_app":  # AZs from Fn::GetAZs: nothing to ignore
        assert not any("cfn-lint" in r.get("Metadata", {}) for r in synth.resources.values())


# --- checkov -------------------------------------------------------------------------------


def _templates(
    synthesized: dict[str, Synthesized], pairs: dict[str, RegionApp]
) -> dict[Path, dict[str, Any]]:
    """Every template the gates read: the variants' and both stacks of every region pair."""
    found = {s.template_path: s.template for s in synthesized.values()}
    for pair in pairs.values():
        found |= {path: template for path, template, _ in pair.stacks.values()}
    return found


@pytest.fixture(scope="module")
def checkov(
    synthesized: dict[str, Synthesized], pairs: dict[str, RegionApp]
) -> list[dict[str, Any]]:
    """One checkov run (CloudFormation framework) over every template (the variants' and the
    region pairs'), as an isolated tool: its pins conflict with the project's. If it cannot be
    installed, the gate fails."""
    files = [arg for path in _templates(synthesized, pairs) for arg in ("-f", str(path))]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [str(UV), "tool", "run", "--from", CHECKOV, "checkov", *files,
         "--framework", "cloudformation", "--skip-download", "--compact", "--output", "json"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    results = json.loads(proc.stdout)
    return results if isinstance(results, list) else [results]


def test_checkov_fails_no_check(
    checkov: list[dict[str, Any]],
    synthesized: dict[str, Synthesized],
    pairs: dict[str, RegionApp],
) -> None:
    (result,) = checkov  # one CloudFormation result for the three templates
    assert result["check_type"] == "cloudformation"
    assert result["summary"]["parsing_errors"] == 0
    failed = [
        (c["check_id"], c["resource"], c["file_path"]) for c in result["results"]["failed_checks"]
    ]
    assert failed == []
    scanned = {Path(c["file_path"]).parts[-2:] for c in result["results"]["passed_checks"]}
    assert scanned == {path.parts[-2:] for path in _templates(synthesized, pairs)}
    assert result["summary"]["passed"] > 3 * 100


def test_checkov_skips_are_declared_next_to_the_resource_with_a_reason(
    checkov: list[dict[str, Any]],
    synthesized: dict[str, Synthesized],
    pairs: dict[str, RegionApp],
) -> None:
    skipped = {
        (c["check_id"], c["resource"].split(".", 1)[1])
        for result in checkov
        for c in result["results"]["skipped_checks"]
    }
    declared = set()
    for template in _templates(synthesized, pairs).values():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) >= 80, (logical_id, skip)
                declared.add((skip["id"], logical_id))
                owner = next(p for p in CHECKOV_SKIPS if p in logical_id)
                assert skip["id"] in CHECKOV_SKIPS[owner]
    assert skipped == declared
    assert any(logical_id.startswith("CustomS3AutoDelete") for _, logical_id in declared)
    assert any(logical_id.startswith("CustomDrBucketDeletion") for _, logical_id in declared)


# --- least privilege -----------------------------------------------------------------------


def test_no_security_group_admits_the_internet(synth: Synthesized) -> None:
    rules = [
        rule
        for sg in synth.of_type("AWS::EC2::SecurityGroup").values()
        for rule in sg["Properties"].get("SecurityGroupIngress", [])
    ] + [r["Properties"] for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()]
    assert rules, "the endpoint and database ingress rules exist"
    assert not [r for r in rules if r.get("CidrIp") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0"]


def test_database_admits_only_the_security_groups_it_is_told_about(synth: Synthesized) -> None:
    (db_group,) = (
        k for k in synth.of_type("AWS::EC2::SecurityGroup") if "ClusterSecurityGroup" in k
    )
    assert "SecurityGroupIngress" not in synth.resources[db_group]["Properties"]
    ingress = [
        r["Properties"]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [db_group, "GroupId"]}
    ]
    sources = sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress)
    proxy = [s for s in sources if re.match(r".*ProxySecurityGroup", s)]  # the opt-in RDS Proxy
    assert len(proxy) == (1 if synth.name == "user_app" else 0)
    canary = [s for s in sources if re.match(r".*CanarySecurityGroup", s)]  # beside own code
    assert len(canary) == (1 if synth.name == "own_code" else 0)
    sources = [s for s in sources if s not in proxy + canary]
    assert len(sources) == 2
    assert re.match(r".*ClusterRotationSingleUserSecurityGroup", sources[0])  # secret rotation
    assert re.match(r".*FunctionSecurityGroup", sources[1])  # the DR Lambda
    assert all(
        (r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 5432, 5432) for r in ingress
    )


def _statements(synth: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM identity-policy statement: inline, customer-managed and role-embedded."""
    found = []
    for logical_id, resource in synth.resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        elif resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        else:
            continue
        found += [(logical_id, s) for d in documents for s in d["Statement"]]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_iam_wildcard_action_anywhere(synth: Synthesized) -> None:
    statements = _statements(synth)
    assert len(statements) > 10
    wild = [(k, s["Action"]) for k, s in statements if "*" in json.dumps(s.get("Action", ""))]
    assert wild == []
    assert all("NotAction" not in s and "NotResource" not in s for _, s in statements)


def test_wildcard_resources_are_only_the_justified_exceptions(synth: Synthesized) -> None:
    prefix = "Dr" if synth.name != "user_app" else "TeamPlatform"
    expected = WILDCARD_RESOURCES | (
        WILDCARD_RESOURCES_WITH_DRILLS if synth.name == "example" else set()
    )
    writer = "canary" if synth.name == "own_code" else "function"
    canary = f"health-check/dr-{writer}-{SUFFIXES[synth.name]}.json"
    expected.add(
        ("DrRestoreTestingPolicy", ("s3:GetObject",), f":s3:::awsbackup-restore-test-*/{canary}")
    )
    if synth.name == "own_code":  # the canary writer is a DrFunction: the same ENI grants
        expected |= {("DrCanaryPolicy", a, r) for p, a, r in expected if p == "DrFunctionPolicy"}
    # the packaged health check reads restored Aurora copies, whose cluster resource ids are
    # new, as its read-only database user (the operator's restore asks it to)
    expected.add((f"Dr{writer.capitalize()}Policy", ("rds-db:connect",), RESTORED_COPIES))
    allowed = {(p.replace("Dr", prefix, 1), a, r) for p, a, r in expected}
    if synth.name == "example":
        allowed |= WILDCARD_RESOURCES_WITH_DESTROY
    found = set()
    for logical_id, statement in _statements(synth):
        if statement["Effect"] != "Allow":
            continue
        for resource in _as_list(statement["Resource"]):
            flat = resource if isinstance(resource, str) else "".join(
                part if isinstance(part, str) else "<token>"
                for part in resource.get("Fn::Join", ["", []])[1]
            )  # fmt: skip
            if "*" not in flat:
                continue
            policy = next(
                p for p, _, _ in sorted(allowed, key=lambda a: -len(a[0]))
                if logical_id.startswith(p)
            )  # fmt: skip
            # the part after the account: arn:<partition>:ec2:<region>:<account>:...
            pattern = flat.rsplit("<token>", 1)[-1]
            found.add((policy, tuple(sorted(_as_list(statement["Action"]))), pattern))
    assert found == allowed


def test_aws_managed_policies_only_where_justified(synth: Synthesized) -> None:
    for logical_id, role in synth.of_type("AWS::IAM::Role").items():
        arns = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        names = set(re.findall(r":iam::aws:policy/([\w/-]+)", arns))
        if not names:
            continue
        owner = next(p for p in AWS_MANAGED_POLICIES if p in logical_id)
        assert names == AWS_MANAGED_POLICIES[owner], logical_id


def test_no_resource_policy_allows_anonymous_principals(synth: Synthesized) -> None:
    for logical_id, resource in synth.resources.items():
        properties = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy"):
            if key not in properties or resource["Type"].startswith("AWS::IAM::"):
                continue
            for statement in properties[key]["Statement"]:
                if statement["Effect"] == "Allow":
                    assert statement["Principal"] not in ("*", {"AWS": "*"}), logical_id


# --- The recovery region: both stacks of each real layout --------------------------------------


#: (primary, recovery) regions of each layout. "pipeline" is a CDK Pipelines-like app: two
#: stages (staging and prod), each with its own pair of stacks.
PAIRS = {
    "us": ("us-east-1", "us-west-2"),
    "eu": ("eu-west-1", "eu-central-1"),
    "gov": ("us-gov-west-1", "us-gov-east-1"),
    "cn": ("cn-north-1", "cn-northwest-1"),
    "pipeline": ("us-east-1", "us-west-2"),
}
#: The findings acknowledged on the recovery region's stack: CDK's provider that empties the
#: default security group (as on the primary's VPC), and under DESTROY the vault-emptying one.
ACKNOWLEDGED_RECOVERY = {("CT.LAMBDA.PR.3", "Custom::VpcRestrictDefaultSGCustomResourceProvider")}
ACKNOWLEDGED_RECOVERY_WITH_DESTROY = {
    ("CT.LAMBDA.PR.3", "Custom::DrVaultDeletionCustomResourceProvider")
}


@dataclass
class RegionApp:
    name: str
    report: dict[str, Any]
    #: stack name -> (template path, template, region)
    stacks: dict[str, tuple[Path, dict[str, Any], str]]


def _pair(scope: Construct, suffix: str, primary: str, recovery: str, **props: Any) -> None:
    rec = Stack(scope, f"DrRecovery-{suffix}", env=Environment(account=ACCOUNT, region=recovery))
    removal_policy = props.get("removal_policy", RemovalPolicy.RETAIN)
    region = DrRecoveryRegion(
        rec, "Recovery", environment_suffix=suffix, removal_policy=removal_policy
    )
    region_loss = Target(rpo=Duration.hours(6), rto=Duration.hours(8))
    DrPlatform(
        Stack(scope, f"DrStack-{suffix}", env=Environment(account=ACCOUNT, region=primary)),
        "Dr",
        environment_suffix=suffix,
        recovery_region=region,
        objectives=RecoveryObjectives(region_loss=region_loss),
        **props,
    )


def _synthesize_pair(name: str, outdir: Path) -> RegionApp:
    primary, recovery = PAIRS[name]
    app = App(outdir=str(outdir), analytics_reporting=False, context=RECOMMENDED_FLAGS)
    if name == "pipeline":
        for stage_name, removal in (
            ("Staging", RemovalPolicy.DESTROY),
            ("Prod", RemovalPolicy.RETAIN),
        ):
            stage = Stage(app, stage_name)
            _pair(stage, stage_name.lower(), primary, recovery, removal_policy=removal)
    else:
        _pair(app, name, primary, recovery)
    apply_rule_packs(app)
    assembly = app.synth()  # raises on unacknowledged errors
    stacks = {}
    for nested in [
        assembly,
        *(assembly.get_nested_assembly(a.id) for a in assembly.nested_assemblies),
    ]:
        for artifact in nested.stacks:
            stacks[artifact.hierarchical_id] = (
                Path(artifact.template_full_path),
                artifact.template,
                artifact.environment.region,
            )
    report = json.loads((outdir / "validation-report.json").read_text())
    return RegionApp(name, report, stacks)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RegionApp]:
    return {name: _synthesize_pair(name, tmp_path_factory.mktemp(name)) for name in PAIRS}


@pytest.fixture(params=list(PAIRS))
def pair(request: pytest.FixtureRequest, pairs: dict[str, RegionApp]) -> RegionApp:
    return pairs[request.param]


def test_both_stacks_of_every_pair_pass_every_gate(pair: RegionApp) -> None:
    assert len(pair.stacks) == (4 if pair.name == "pipeline" else 2)
    reports = {r["pluginName"]: r for r in pair.report["pluginReports"]}
    assert {*RULE_PACKS, CONTROL_TOWER} <= set(reports)
    findings = [
        (name, v["ruleName"], [c.get("constructPath") for c in v["violatingConstructs"]])
        for name, report in reports.items()
        for v in report.get("violations", [])
    ]
    assert findings == []


def test_the_recovery_stacks_acknowledge_only_the_reviewed_findings(pair: RegionApp) -> None:
    found: set[tuple[str, str, str]] = set()
    for report in pair.report["pluginReports"]:
        for suppressed in report.get("suppressedViolations", []):
            at = suppressed["acknowledgedAt"]
            if "DrRecovery-" not in at:
                continue
            assert len(suppressed["reason"]) >= 80, suppressed["reason"]
            control = re.match(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]", suppressed.get("description", ""))
            stack, _, below = at.partition("DrRecovery-")[2].partition("/")
            found.add((stack, control[1] if control else suppressed["ruleName"], below))
    expected = set()
    for stack in (
        [s.lower() for s in ("Staging", "Prod")] if pair.name == "pipeline" else [pair.name]
    ):
        expected |= {(stack, rule, path) for rule, path in ACKNOWLEDGED_RECOVERY}
        if stack == "staging":
            expected |= {(stack, rule, path) for rule, path in ACKNOWLEDGED_RECOVERY_WITH_DESTROY}
    assert found == expected


def test_the_backup_role_names_the_recovery_key_by_alias_with_a_reason(pair: RegionApp) -> None:
    recovery = PAIRS[pair.name][1]
    (report,) = (r for r in pair.report["pluginReports"] if r["pluginName"] == "AwsSolutions")
    keys = {
        s["ruleName"]: s["reason"] for s in report.get("suppressedViolations", [])
        if s["acknowledgedAt"].endswith("/Dr/Backup/KeyPolicy")
    }  # fmt: skip
    partition = {"gov": "aws-us-gov", "cn": "aws-cn"}.get(pair.name, "aws")
    assert set(keys) == {
        f"AwsSolutions-IAM5[Resource::arn:{partition}:kms:{recovery}:{ACCOUNT}:key/*]"
    }
    assert "kms:ResourceAliases" in next(iter(keys.values()))


def test_cfn_lint_reports_nothing_on_either_stack_in_its_region(pair: RegionApp) -> None:
    for name, (path, _, region) in pair.stacks.items():
        matches = lint(path.read_text(), config=ManualArgs(regions=[region]))
        assert [str(m) for m in matches] == [], name
