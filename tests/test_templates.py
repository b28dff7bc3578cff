"""templates: intrinsic values, ARNs and AWS Backup selections, on templates in AWS's own form.

Selection fixtures are the AWS Backup guide's examples ("Assign resources with AWS CLI") and
the CloudFormation reference of ``AWS::Backup::BackupSelection`` (``BackupSelectionResourceType``:
``Resources``, ``NotResources``, ``ListOfTags``, ``Conditions``). ARN forms: the Service
Authorization Reference (DynamoDB ``arn:${Partition}:dynamodb:${Region}:${Account}:table/
${TableName}``, S3 ``arn:${Partition}:s3:::${BucketName}``, RDS
``arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}`` and
``...:db:${DbInstanceName}``).
"""

from __future__ import annotations

from typing import Any

import pytest

from dr_constructs.templates import (
    App,
    RefTo,
    Resource,
    StackTemplate,
    Unknown,
    arn,
    matches,
    selection,
)

ACCOUNT, REGION = "123456789012", "us-east-1"


def _stack(resources: dict[str, Any], *, env: bool = True, **extra: Any) -> StackTemplate:
    return StackTemplate(
        path="S",
        name="S",
        template={"Resources": resources, **extra},
        account=ACCOUNT if env else None,
        region=REGION if env else None,
    )


def _table(name: str | None = "orders", tags: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"BillingMode": "PAY_PER_REQUEST"}
    if name is not None:
        props["TableName"] = name
    if tags:
        props["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


def _selection(**body: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Backup::BackupSelection",
        "Properties": {
            "BackupPlanId": "plan-id",
            "BackupSelection": {
                "SelectionName": "s",
                "IamRoleArn": "arn:aws:iam::123456789012:role/b",
                **body,
            },
        },
    }


def _selects(body: dict[str, Any], store: dict[str, Any] | None = None, **kw: Any) -> Any:
    stack = _stack({"Store": store or _table(), "Selection": _selection(**body)}, **kw)
    app = App([stack])
    return selection(app, Resource(stack, "Selection"), Resource(stack, "Store"))


# --- Selection semantics (AWS Backup guide, "Assign resources with AWS CLI") -------------------


@pytest.mark.parametrize(
    ("body", "selected"),
    [
        ({"Resources": ["*"]}, True),  # "Select all resources in my account"
        ({"Resources": ["arn:aws:dynamodb:*:*:table/*"]}, True),
        ({"Resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]}, True),
        ({"Resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/payments"]}, False),
        ({"Resources": ["arn:aws:rds:*:*:db:*"]}, False),
        ({"Resources": ["arn:aws:ec2:*:*:volume/*", "arn:aws:dynamodb:*"]}, True),  # OR
        # "Select all resources in my account, but exclude EBS volumes"
        ({"Resources": ["*"], "NotResources": ["arn:aws:ec2:*:*:volume/*"]}, True),
        ({"Resources": ["*"], "NotResources": ["arn:aws:dynamodb:*"]}, False),
        # neither Resources nor ListOfTags: "Backup attempts to select all supported resources"
        ({}, True),
    ],
)
def test_resources_and_not_resources(body: dict[str, Any], selected: bool) -> None:
    assert _selects(body).selects is selected


TAGGED = _table(tags={"backup": "true", "stage": "prod"})
#: A ListOfTags entry as aws-cdk-lib's BackupResource.from_tag writes it (TagOperation).
DAILY = [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}]


@pytest.mark.parametrize(
    ("body", "selected"),
    [
        # "Select all resources tagged with "backup":"true", but exclude EBS volumes"
        (
            {
                "Resources": ["*"],
                "NotResources": ["arn:aws:ec2:*:*:volume/*"],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "true"}
                    ]
                },
            },
            True,
        ),
        # Conditions are ANDed: both tags needed
        (
            {
                "Resources": ["*"],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "true"},
                        {"ConditionKey": "aws:ResourceTag/stage", "ConditionValue": "test"},
                    ]
                },
            },
            False,
        ),
        # "tagged with "key1" and a value which begins with "include"" - StringLike
        (
            {
                "Resources": ["*"],
                "Conditions": {
                    "StringLike": [
                        {"ConditionKey": "aws:ResourceTag/stage", "ConditionValue": "p*"}
                    ],
                    "StringNotLike": [
                        {"ConditionKey": "aws:ResourceTag/key2", "ConditionValue": "*exclude*"}
                    ],
                },
            },
            True,
        ),
        # "... but not "stage":"test"": StringNotEquals holds for a tag with another value
        (
            {
                "Resources": ["*"],
                "Conditions": {
                    "StringNotEquals": [
                        {"ConditionKey": "aws:ResourceTag/stage", "ConditionValue": "prod"}
                    ]
                },
            },
            False,
        ),
        # ListOfTags: any of them (OR); the guide writes StringEquals, CDK STRINGEQUALS
        (
            {
                "ListOfTags": [
                    {
                        "ConditionType": "StringEquals",
                        "ConditionKey": "backup",
                        "ConditionValue": "no",
                    },
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "stage",
                        "ConditionValue": "prod",
                    },
                ]
            },
            True,
        ),
        # "the Aurora cluster my-aurora-cluster, and all resources tagged backup:true": OR
        (
            {
                "Resources": ["arn:aws:rds:*:*:cluster:my-aurora-cluster"],
                "ListOfTags": [
                    {
                        "ConditionType": "StringEquals",
                        "ConditionKey": "backup",
                        "ConditionValue": "true",
                    }
                ],
            },
            True,
        ),
    ],
)
def test_tags_and_conditions(body: dict[str, Any], selected: bool) -> None:
    assert _selects(body, TAGGED).selects is selected


def test_a_missed_tag_selection_says_so() -> None:
    body = {
        "ListOfTags": [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}
        ]
    }
    result = _selects(body)
    assert result.selects is False
    assert result.note is not None and "selects by tags (backup=daily)" in result.note
    assert "cdk deploy --tags" in result.note


def test_stack_tags_count_as_the_stores_tags() -> None:
    """CloudFormation propagates stack-level tags to the stack's resources."""
    store = _table()
    stack = StackTemplate(
        "S", "S", {"Resources": {"Store": store, "Selection": _selection(ListOfTags=DAILY)}},
        ACCOUNT, REGION, {"backup": "daily"},
    )  # fmt: skip
    chosen = selection(App([stack]), Resource(stack, "Selection"), Resource(stack, "Store"))
    assert chosen.selects is True


def test_a_tag_set_at_deploy_is_unknown() -> None:
    store = _table(tags={"backup": {"Ref": "BackupTag"}})
    body = {
        "ListOfTags": [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}
        ]
    }
    result = _selects(body, store)
    assert isinstance(result.selects, Unknown) and "tag backup is set at deploy" in result.note


# --- ARNs of stores, names known or not ------------------------------------------------------


def test_arns_of_each_store_type() -> None:
    stack = _stack(
        {
            "T": _table(),
            "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "dr-data"}},
            "C": {
                "Type": "AWS::RDS::DBCluster",
                "Properties": {"DBClusterIdentifier": "DR-Aurora"},
            },
            "I": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceIdentifier": "legacy"}},
        }
    )
    app = App([stack])
    assert [arn(app, Resource(stack, r)) for r in "TBCI"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        "arn:aws:s3:::dr-data",
        "arn:aws:rds:us-east-1:123456789012:cluster:dr-aurora",  # RDS lower-cases identifiers
        "arn:aws:rds:us-east-1:123456789012:db:legacy",
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("arn:aws:dynamodb:*:*:table/*", True),  # every name
        ("arn:aws:rds:*:*:db:*", False),  # another service, whatever the name
        ("arn:aws:dynamodb:us-east-1:123456789012:table/orders", Unknown),  # generated name
    ],
)
def test_a_generated_name_matches_wildcards_and_is_unknown_to_literals(
    pattern: str, expected: Any
) -> None:
    result = _selects({"Resources": [pattern]}, _table(name=None))
    if expected is Unknown:
        assert isinstance(result.selects, Unknown)
        assert "name" in result.note and "only known at deploy" in result.note
    else:
        assert result.selects is expected


def test_an_environment_agnostic_stack_matches_only_what_holds_everywhere() -> None:
    assert _selects({"Resources": ["arn:*:dynamodb:*:*:table/orders"]}, env=False).selects is True
    assert isinstance(
        _selects({"Resources": ["arn:aws:dynamodb:us-east-1:*:table/orders"]}, env=False).selects,
        Unknown,
    )


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "arn:aws:s3:::b", True),
        ("arn:aws:s3:::*", "arn:aws:s3:::b", True),
        ("arn:aws:s3:::a*", "arn:aws:s3:::b", False),
        ("arn:aws:rds:*:*:cluster:*", "arn:aws:rds:us-east-1:1:cluster:c", True),
        ("arn:aws:rds:*:*:cluster:*", "arn:aws:rds:us-east-1:1:db:c", False),
    ],
)
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


# --- Intrinsic functions and cross-stack references -------------------------------------------


def test_references_name_their_resource() -> None:
    stack = _stack({"T": _table()})
    app = App([stack])
    for expression in (
        {"Ref": "T"},
        {"Fn::GetAtt": ["T", "Arn"]},
        {"Fn::GetAtt": "T.Arn"},
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":dynamodb:", {"Ref": "T"}]]},
        {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${T}"},
    ):
        value = app.value(stack, expression)
        assert isinstance(value, RefTo) and value.resource.logical_id == "T", expression


def test_pseudo_parameters_and_parameters() -> None:
    stack = _stack({"T": _table()})
    app = App([stack])
    assert app.value(stack, {"Fn::Sub": "arn:${AWS::Partition}:s3:::x-${AWS::Region}"}) == (
        "arn:aws:s3:::x-us-east-1"
    )
    assert isinstance(app.value(stack, {"Ref": "TableNameParameter"}), Unknown)
    assert isinstance(app.value(stack, {"Fn::If": ["C", "a", "b"]}), Unknown)


def test_imports_follow_the_exporting_stack() -> None:
    """CDK's cross-stack references: an Output with Export Name, read with Fn::ImportValue."""
    data = StackTemplate(
        "Data", "Data",
        {
            "Resources": {"T": _table()},
            "Outputs": {
                "ExportsOutputFnGetAttTArn": {
                    "Value": {"Fn::GetAtt": ["T", "Arn"]},
                    "Export": {"Name": "Data:ExportsOutputFnGetAttTArn"},
                }
            },
        },
        ACCOUNT, REGION,
    )  # fmt: skip
    other = _stack({})
    app = App([data, other])
    value = app.value(other, {"Fn::ImportValue": "Data:ExportsOutputFnGetAttTArn"})
    assert isinstance(value, RefTo) and value.resource.stack is data
    missing = app.value(other, {"Fn::ImportValue": "Elsewhere:Arn"})
    assert isinstance(missing, Unknown) and "no stack of this app exports" in missing.reason


def test_a_template_rendered_from_constructs_names_what_it_left_out() -> None:
    """StackTemplate.of renders only the types the computation reads: a Ref to another logical
    id names a resource left out (not a store), not a parameter given at deploy."""
    stack = StackTemplate(
        "S", "S", {"Resources": {"T": _table()}}, ACCOUNT, REGION, complete=False
    )  # fmt: skip
    value = App([stack]).value(stack, {"Fn::GetAtt": ["DataKey", "Arn"]})
    assert isinstance(value, RefTo) and value.resource.type == ""
    assert _selects({"Resources": [{"Fn::GetAtt": ["DataKey", "Arn"]}]}).selects is not True


def test_a_stack_rendered_from_its_constructs_holds_its_own_l1s_only() -> None:
    """StackTemplate.of and construct_paths find the stack's L1s whatever made them (an L2's
    child made in jsii, a plain CfnResource, whose type only the construct knows) and leave out
    those of a nested stack, which has a template of its own."""
    from aws_cdk import App as CdkApp
    from aws_cdk import CfnResource, NestedStack, Stack
    from aws_cdk import aws_s3 as s3

    from dr_constructs.templates import construct_paths

    stack = Stack(CdkApp(), "S")
    s3.Bucket(stack, "Bucket")
    CfnResource(stack, "Table", type="AWS::DynamoDB::Table", properties={"TableName": "t"})
    CfnResource(stack, "Handle", type="AWS::CloudFormation::WaitConditionHandle")
    s3.Bucket(NestedStack(stack, "Nested"), "Inner")
    rendered = StackTemplate.of(stack)
    assert {i: r["Type"] for i, r in rendered.resources.items()} == {
        "Bucket83908E77": "AWS::S3::Bucket",
        "Table": "AWS::DynamoDB::Table",
    }
    assert rendered.resources["Table"]["Properties"] == {"TableName": "t"}
    assert rendered.paths == {"Bucket83908E77": "S/Bucket/Resource", "Table": "S/Table"}
    paths = construct_paths(stack)
    assert paths["Handle"] == "S/Handle" and "Bucket83908E77" in paths
    assert not any("Inner" in path for path in paths.values())
