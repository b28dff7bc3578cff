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
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from botocore.session import get_session
from botocore.stub import Stubber

from dr_constructs import DrPlatform, contract
from dr_constructs.cli.aws import Aws
from dr_constructs.cli.discovery import DrStack, Objective, discover
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


def _cloudformation(template: dict[str, Any], physical: dict[str, str]) -> Any:
    client = get_session().create_client("cloudformation", region_name=REGION)
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
        "list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": STACK}
    )
    stubber.add_response(
        "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": STACK}
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
