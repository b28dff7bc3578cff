"""The contract between the constructs and the operator command holds, from both sides.

A DrPlatform (drills on) is synthesized; CloudFormation's view of the deployed stack is built
from its template in AWS's forms (``list_stack_resources`` summaries per the botocore
``StackResourceSummary`` shape, physical ids as CloudFormation gives them, see
:func:`_physical_id`); the operator command's own discovery and drill lookup then run on it
through botocore's Stubber (which checks every stubbed answer against the service model), and
must find every resource the constructs built for it.
"""

from __future__ import annotations

import ast
import json
import random
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from botocore.session import get_session
from botocore.stub import Stubber

from dr_constructs import DrPlatform, DrRecoveryRegion, RecoveryObjectives, Target, contract
from dr_constructs.cli.aws import Aws
from dr_constructs.cli.discovery import (
    DrStack,
    Objective,
    RecoveryRegion,
    discover,
    discover_recovery,
)
from dr_constructs.cli.drill import plan_drill
from dr_constructs.health_check.runtime import handler as health_check
from dr_constructs.objectives import FailureMode
from dr_constructs.restore_testing.runtime import handler as validator

from .conftest import ACCOUNT, REGION

STACK = "DrStack-test"
#: The property that names each resource type the command reads, when the template sets it:
#: CloudFormation then uses that name as the physical id (the ``Ref`` return value of each type
#: in the CloudFormation template reference). RDS stores identifiers in lower case.
NAME_PROPERTIES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
}
_RANDOM = random.Random(19)


def _physical_id(stack_name: str, logical_id: str, resource: dict[str, Any]) -> str:
    """The physical id CloudFormation gives ``resource``: its name property when the template
    sets one; an FIS experiment template's id in the form of the AWS CLI reference's example
    (``aws fis start-experiment``: ``ABCDE1fgHIJkLmNop``); else a generated name in the form
    of the CloudFormation user guide ("Name type": ``MyStack-MyBucket-abcdefghijk1``), lower
    case for S3 buckets and RDS identifiers."""
    kind = resource["Type"]
    name = resource.get("Properties", {}).get(NAME_PROPERTIES.get(kind, ""))
    if isinstance(name, str):
        return name.lower() if kind.startswith("AWS::RDS::") else name
    if kind == "AWS::FIS::ExperimentTemplate":
        return "".join(_RANDOM.choices(string.ascii_letters + string.digits, k=17))
    random_part = "".join(_RANDOM.choices(string.ascii_letters, k=12))
    generated = f"{stack_name}-{logical_id}-{random_part}"
    lower_case = kind in ("AWS::S3::Bucket", "AWS::RDS::DBSubnetGroup")
    return generated.lower() if lower_case else generated


@pytest.fixture(scope="module")
def deployed() -> tuple[DrPlatform, dict[str, Any], dict[str, str]]:
    """The platform, its template, and the physical id of each resource by logical id."""
    app = App(analytics_reporting=False)
    stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
    platform = DrPlatform(stack, "Dr", environment_suffix="test", drills=True)
    template = Template.from_stack(stack).to_json()
    physical = {
        logical_id: _physical_id(STACK, logical_id, resource)
        for logical_id, resource in template["Resources"].items()
    }
    return platform, template, physical


def _cloudformation(
    template: dict[str, Any],
    physical: dict[str, str],
    stack_name: str = STACK,
    region: str = REGION,
    body: bool = True,
) -> Any:
    client = get_session().create_client("cloudformation", region_name=region)
    stubber = Stubber(client)
    summaries = [
        {
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical[logical_id],
            "ResourceType": resource["Type"],
            "LastUpdatedTimestamp": datetime(2026, 11, 29, 21, 30, tzinfo=UTC),
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical_id, resource in template["Resources"].items()
    ]
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": stack_name}
    )
    if body:
        stubber.add_response(
            "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": stack_name}
        )
    stubber.activate()
    return client


def _logical_id(construct: Any) -> str:
    cfn = construct.node.default_child
    return str(Stack.of(cfn).get_logical_id(cfn))


@pytest.fixture(scope="module")
def discovered(deployed: tuple[DrPlatform, dict[str, Any], dict[str, str]]) -> DrStack:
    _, template, physical = deployed
    return discover(Aws(region=REGION, overrides={"cloudformation": _cloudformation(
        template, physical)}), STACK)  # fmt: skip


def test_the_command_finds_every_resource_the_constructs_built_for_it(
    deployed: tuple[DrPlatform, dict[str, Any], dict[str, str]], discovered: DrStack
) -> None:
    platform, _, physical = deployed

    def id_of(construct: Any) -> str:
        return physical[_logical_id(construct)]

    assert discovered.cluster_id == id_of(platform.cluster) == "dr-aurora-test"
    assert discovered.subnet_group == id_of(platform.database.subnet_group)
    assert discovered.table_name == id_of(platform.table) == "dr-table-test"
    assert discovered.bucket_name == id_of(platform.bucket)  # not the access-log bucket
    assert discovered.vault_name == id_of(platform.backup.vault) == "dr-vault-test"
    assert discovered.backup_role == id_of(platform.backup.role)  # not another role
    assert discovered.function_name == id_of(platform.lambda_function) == "dr-function-test"
    assert discovered.canary_function is None  # the function runs the health check itself
    assert sorted(discovered.alarms) == sorted(id_of(a) for a in platform.observability.alarms)
    assert platform.drills is not None
    assert sorted(discovered.experiment_templates) == sorted(
        physical[_logical_id_of_l1(t)] for t in platform.drills.experiments.values()
    )


def test_the_command_finds_the_canary_writer_beside_the_team_s_own_code() -> None:
    """With ``function_code=``, the packaged health check runs as ``dr-canary-{suffix}``: the
    operator's restore asks it, not the team's function, to read a restored copy."""
    app = App(analytics_reporting=False)
    stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
    platform = DrPlatform(
        stack, "Dr", environment_suffix="test", function_handler="index.h",
        function_code=lambda_.Code.from_inline("def h(event, context):\n    return {}"),
    )  # fmt: skip
    template = Template.from_stack(stack).to_json()
    physical = {
        logical_id: _physical_id(STACK, logical_id, resource)
        for logical_id, resource in template["Resources"].items()
    }
    found = discover(Aws(region=REGION, overrides={"cloudformation": _cloudformation(
        template, physical)}), STACK)  # fmt: skip
    assert platform.canary is not None
    assert found.canary_function == physical[_logical_id(platform.canary.function)]
    assert (found.function_name, found.canary_function) == ("dr-function-test", "dr-canary-test")


def test_the_command_finds_the_recovery_region_and_what_a_restore_there_uses() -> None:
    """The primary template states the recovery region; in the recovery stack, the command
    finds the subnet group, the restored clusters' security group and the key (by its alias)."""
    recovery_region, recovery_stack = "us-west-2", "DrRecovery-test"
    app = App(analytics_reporting=False)
    there = Stack(app, recovery_stack, env=Environment(account=ACCOUNT, region=recovery_region))
    region = DrRecoveryRegion(there, "Recovery", environment_suffix="test")
    here = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
    target = Target(rpo=Duration.hours(6), rto=Duration.hours(8))
    DrPlatform(here, "Dr", environment_suffix="test", recovery_region=region,
               objectives=RecoveryObjectives(region_loss=target))  # fmt: skip
    templates = {s: Template.from_stack(s).to_json() for s in (here, there)}
    physical = {
        s: {logical: _physical_id(s.stack_name, logical, resource)
            for logical, resource in templates[s]["Resources"].items()}
        for s in (here, there)
    }  # fmt: skip
    found = discover(Aws(region=REGION, overrides={"cloudformation": _cloudformation(
        templates[here], physical[here])}), STACK)  # fmt: skip
    assert found.recovery == RecoveryRegion(recovery_region, "dr-recovery-vault-test",
                                            recovery_stack)  # fmt: skip
    assert found.objectives[contract.REGION_LOSS] == Objective(6 * 3600, 8 * 3600)
    # AWS KMS developer guide, key ARN example: arn:aws:kms:<region>:<account>:key/<key id>
    key_arn = f"arn:aws:kms:{recovery_region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    kms = get_session().create_client("kms", region_name=recovery_region)
    kms_stub = Stubber(kms)
    kms_stub.add_response(
        "describe_key",
        {"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": key_arn}},
        {"KeyId": "alias/dr-recovery-test"},
    )
    kms_stub.activate()
    cloudformation = _cloudformation(
        templates[there], physical[there], recovery_stack, recovery_region, body=False
    )
    aws = Aws(overrides={f"cloudformation@{recovery_region}": cloudformation,
                         f"kms@{recovery_region}": kms})  # fmt: skip
    restore_into = discover_recovery(aws.in_region(recovery_region), found)
    kms_stub.assert_no_pending_responses()
    assert restore_into.subnet_group == physical[there][_logical_id(region.subnet_group)]
    assert restore_into.subnet_group == "dr-recovery-test"
    assert restore_into.security_group == physical[there][_logical_id(region.security_group)]
    assert restore_into.key_arn == key_arn
    assert (restore_into.region, restore_into.vault) == (recovery_region, region.vault_name)


def _logical_id_of_l1(cfn: Any) -> str:
    return str(Stack.of(cfn).get_logical_id(cfn))


def test_the_command_reads_the_objectives_the_platform_states(
    deployed: tuple[DrPlatform, dict[str, Any], dict[str, str]], discovered: DrStack
) -> None:
    platform = deployed[0]
    assert discovered.objectives_from_stack
    assert discovered.objectives == {
        mode.key: Objective(*target) for mode, target in platform.objectives.targets.items()
    }
    # every stack states the single-region modes; region_loss only with a recovery region
    assert [mode.key for mode in FailureMode] == [*contract.FAILURE_MODES, contract.REGION_LOSS]
    assert list(platform.objectives.targets) == list(FailureMode)[:3]


def test_the_command_finds_every_drill_by_the_tag_the_constructs_wrote(
    deployed: tuple[DrPlatform, dict[str, Any], dict[str, str]], discovered: DrStack
) -> None:
    platform, template, physical = deployed
    assert platform.drills is not None
    fis = get_session().create_client("fis", region_name=REGION)
    stubber = Stubber(fis)
    by_id = {physical[_logical_id_of_l1(t)]: t for t in platform.drills.experiments.values()}
    zones = list(dict.fromkeys(s.availability_zone for s in platform.vpc.isolated_subnets))
    asked = [(contract.AURORA_FAILOVER_DRILL, None), *(("az", zone) for zone in zones)]
    for _ in asked:  # the command reads every template of the stack for each drill it plans
        for template_id in discovered.experiment_templates:
            tags = template["Resources"][_logical_id_of_l1(by_id[template_id])]["Properties"]
            stubber.add_response(
                "get_experiment_template",
                {"experimentTemplate": {"id": template_id, "tags": tags["Tags"]}},
                {"id": template_id},
            )
    stubber.activate()
    aws = Aws(region=REGION, overrides={"fis": fis}, now=lambda: datetime(2026, 11, 29, tzinfo=UTC))
    for drill, zone in asked:
        plan = plan_drill(aws, discovered, drill, zone)
        expected = contract.az_drill(zone) if zone else drill
        assert plan.drill == expected
        assert by_id[plan.template_id].tags.tag_values()[contract.DRILL_TAG] == expected
    stubber.assert_no_pending_responses()


def test_the_lambda_code_keeps_the_contract_s_names() -> None:
    """The restore-test validator runs without the package: its copies are the contract's."""
    assert validator.RESTORED_NAME_PREFIXES == contract.RESTORED_NAME_PREFIXES
    assert (validator.RESTORE_TIME, validator.DATA_AGE, validator.VALIDATION_FAILED) == (
        contract.RESTORE_TIME,
        contract.DATA_AGE,
        contract.VALIDATION_FAILED,
    )
    # the health check reads a restored copy as the role it keeps, when the command asks
    assert health_check.VALIDATOR_ROLE == contract.RESTORE_VALIDATOR_ROLE
    assert health_check.VERIFY_EVENT_KEY == contract.VERIFY_RESTORED_CLUSTER


def test_the_contract_imports_nothing() -> None:
    """So the operator command can stand on it without loading aws-cdk-lib or jsii."""
    source = Path(str(contract.__file__)).read_text()
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports == []
