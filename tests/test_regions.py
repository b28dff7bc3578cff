"""Region facts (``dr_constructs.regions``): the package's data held against cfn-lint's, what
each region gets by default, what is refused there, and the one-liner in every region.

The data file is generated from cfn-lint's registry and RDS class data (``tests/region_facts``);
the parametrized tests below compare it region by region, so a cfn-lint upgrade that changes a
region's facts fails here until the file is regenerated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk.assertions import Template
from cfnlint.api import ConfigMixIn, Runner, decode_str

from dr_constructs import DrConfigurationError, DrPlatform
from dr_constructs.compliance import apply_rule_packs
from dr_constructs.regions import (
    AURORA_CLASS_PREFERENCE,
    DATA_FILE,
    FEATURES,
    missing_types,
    region_data,
    regions_without,
)

from . import region_facts
from .conftest import ACCOUNT, new_stack, resources_of

REGIONS = region_facts.supported_regions()
#: CDK's own validation (aws-cdk-lib's bundled @aws/cloudformation-validate, a registry of its
#: own) turns its findings into synthesis errors with this flag.
VALIDATE_FLAG = {"@aws-cdk/core:validateAgainstDefaultRules": True}
#: What each feature's prop is set to when a test asks for it.
ASK = {
    "restore_tests": True,
    "drills": True,
    "resilience_hub": True,
    "audit_reports": True,
    "proxy": True,
    "air_gapped_retention": Duration.days(30),
}


def test_the_partitions_cfn_lint_knows_are_38_regions() -> None:
    """Commercial, China and GovCloud: the regions the issue counts (me-south-1 included,
    which cfn-lint checks against us-east-1's registry for want of its own)."""
    assert len(REGIONS) == 38
    assert {"cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1"} <= set(REGIONS)
    assert region_facts.registry("me-south-1") is None


def test_the_data_file_is_what_cfn_lint_gives() -> None:
    assert DATA_FILE.read_text() == region_facts.render(), (
        "src/dr_constructs/data/regions.json is stale: run `python -m tests.region_facts`"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_missing_resource_types_match_cfn_lint_registry(region: str) -> None:
    registry = region_facts.registry(region)
    missing = region_data()["missing_resource_types"].get(region)
    if registry is None:
        assert missing is None  # unknown: the library assumes a region that has everything
        return
    assert missing == [t for t in region_facts.tracked_types() if t not in registry]
    for feature in FEATURES.values():
        assert missing_types(region, feature.prop) == tuple(
            t for t in feature.resource_types if t not in registry
        )


@pytest.mark.parametrize("region", REGIONS)
def test_default_aurora_class_is_the_first_preferred_class_rds_offers(region: str) -> None:
    offered = region_facts.aurora_postgresql_classes(region)
    assert offered is not None, f"cfn-lint has no Aurora PostgreSQL classes for {region}"
    first = next(c for c in AURORA_CLASS_PREFERENCE if f"db.{c}" in offered)
    assert region_data()["aurora_postgresql_class"][region] == first


def test_il_central_1_gets_t3_medium_and_every_other_region_t4g_medium() -> None:
    classes = region_data()["aurora_postgresql_class"]
    assert {r for r, c in classes.items() if c != "t4g.medium"} == {"il-central-1"}
    assert classes["il-central-1"] == "t3.medium"


# --- every type some region lacks belongs to a feature the library gates --------------------


@pytest.fixture(scope="module")
def everything_agnostic() -> dict[str, Any]:
    """DrPlatform with every assurance feature on, in an environment-agnostic stack."""
    stack = new_stack(region=None)
    DrPlatform(stack, "Dr", **ASK)  # type: ignore[arg-type]
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def test_every_resource_type_some_region_lacks_is_a_gated_feature(
    everything_agnostic: dict[str, Any],
) -> None:
    # custom resources and SAM's transform types are in no region's registry
    types = {
        r["Type"]
        for r in everything_agnostic["Resources"].values()
        if not r["Type"].startswith(("Custom::", "AWS::Serverless::"))
    }
    somewhere_missing = {
        t
        for region in REGIONS
        if (registry := region_facts.registry(region)) is not None
        for t in types - registry
    }
    assert somewhere_missing == set(region_facts.tracked_types())


def test_environment_agnostic_template_refuses_regions_without_a_feature(
    everything_agnostic: dict[str, Any],
) -> None:
    rules = everything_agnostic["Rules"]
    for prop, feature in FEATURES.items():
        rule_id = "DrConstructsRegionCheck" + "".join(p.title() for p in prop.split("_"))
        (assertion,) = rules[rule_id]["Assertions"]
        assert assertion["Assert"] == {
            "Fn::Not": [{"Fn::Contains": [regions_without(prop), {"Ref": "AWS::Region"}]}]
        }
        assert feature.label in assertion["AssertDescription"]
        assert "env=Environment(region=...)" in assertion["AssertDescription"]
    assert "us-gov-west-1" in regions_without("restore_tests")
    assert "us-east-1" not in {r for p in FEATURES for r in regions_without(p)}


def test_environment_agnostic_aurora_class_follows_the_region(
    everything_agnostic: dict[str, Any],
) -> None:
    condition = everything_agnostic["Conditions"]["DrAuroraClassT3MediumRegions"]
    assert condition == {"Fn::Equals": [{"Ref": "AWS::Region"}, "il-central-1"]}
    instances = [
        r["Properties"]["DBInstanceClass"]
        for r in everything_agnostic["Resources"].values()
        if r["Type"] == "AWS::RDS::DBInstance"
    ]
    assert instances and all(
        c == {"Fn::If": ["DrAuroraClassT3MediumRegions", "db.t3.medium", "db.t4g.medium"]}
        for c in instances
    )


def test_a_stack_in_a_known_region_carries_no_region_rule() -> None:
    stack = new_stack(region="us-east-1")
    DrPlatform(stack, "Dr")
    template = Template.from_stack(stack).to_json()
    assert set(template.get("Rules", {})) <= {"CheckBootstrapVersion"}
    assert "Conditions" not in template or not any(
        k.startswith("DrAuroraClass") for k in template["Conditions"]
    )


# --- what a region gets, what it refuses -------------------------------------------------------


def _lacking() -> list[tuple[str, str]]:
    """(feature, region) for each feature and each region known to lack it."""
    return [(prop, region) for prop in FEATURES for region in regions_without(prop)]


@pytest.mark.parametrize(("prop", "region"), _lacking())
def test_asking_for_a_feature_where_it_does_not_exist_names_the_region(
    prop: str, region: str
) -> None:
    with pytest.raises(DrConfigurationError) as raised:
        DrPlatform(new_stack(region=region), "Dr", **{prop: ASK[prop]})
    assert raised.value.prop == prop
    assert f"in {region}:" in raised.value.accepted
    assert FEATURES[prop].resource_types[0] in raised.value.accepted


@pytest.fixture(scope="module")
def gov_default() -> tuple[DrPlatform, dict[str, Any]]:
    stack = new_stack(region="us-gov-west-1")
    platform = DrPlatform(stack, "Dr")
    return platform, Template.from_stack(stack).to_json()


def test_restore_tests_are_off_by_default_where_the_service_is_missing(
    gov_default: tuple[DrPlatform, dict[str, Any]],
) -> None:
    platform, template = gov_default
    assert platform.restore_testing is None
    types = {r["Type"] for r in template["Resources"].values()}
    assert not types & set(FEATURES["restore_tests"].resource_types)


def test_the_posture_report_says_what_is_built_and_why(
    gov_default: tuple[DrPlatform, dict[str, Any]],
) -> None:
    from dr_constructs.objectives import PostureReport

    report = PostureReport.of(gov_default[0]).to_dict()
    by_feature = {a["feature"]: a for a in report["assurance"]}
    assert set(by_feature) == set(FEATURES)
    restore = by_feature["restore_tests"]
    assert restore["enabled"] is False
    assert "us-gov-west-1 has no AWS::Backup::RestoreTestingPlan" in restore["reason"]
    assert by_feature["drills"] == {
        "construct": "Test/Dr", "feature": "drills", "enabled": False,
        "reason": "opt-in (available in us-gov-west-1)",
    }  # fmt: skip
    markdown = PostureReport.of(gov_default[0]).to_markdown()
    assert "## Assurance features" in markdown and "| Test/Dr | restore_tests | no |" in markdown


def test_restore_tests_stay_on_by_default_where_they_exist() -> None:
    platform = DrPlatform(new_stack(region="eu-west-1"), "Dr")
    assert platform.restore_testing is not None


def test_restore_tests_can_be_turned_off_anywhere() -> None:
    assert (
        DrPlatform(new_stack(region="cn-north-1"), "Dr", restore_tests=False).restore_testing
        is None
    )


def test_il_central_1_one_liner_uses_t3_medium() -> None:
    stack = new_stack(region="il-central-1")
    DrPlatform(stack, "Dr")
    instances = resources_of(Template.from_stack(stack), "AWS::RDS::DBInstance").values()
    assert {i["Properties"]["DBInstanceClass"] for i in instances} == {"db.t3.medium"}


# --- the one-liner in every region (slow) ------------------------------------------------------


@pytest.fixture(scope="module")
def one_liner_everywhere() -> dict[str, dict[str, Any]]:
    """``DrPlatform(stack, "Dr")`` in every region, one app, CDK's own validation as errors."""
    app = App(analytics_reporting=False, context=VALIDATE_FLAG)
    stacks = {}
    for region in REGIONS:
        stack = Stack(app, f"Dr-{region}", env=Environment(account=ACCOUNT, region=region))
        DrPlatform(stack, "Dr")
        stacks[region] = stack
    app.synth()  # raises on a CloudFormation Validate finding (its own region registry)
    return {r: Template.from_stack(s).to_json() for r, s in stacks.items()}


@pytest.mark.slow
@pytest.mark.parametrize("region", REGIONS)
def test_the_one_liner_passes_cfn_lint_in_every_region(
    region: str, one_liner_everywhere: dict[str, dict[str, Any]]
) -> None:
    parsed, errors = decode_str(json.dumps(one_liner_everywhere[region]))
    assert not errors
    matches = [str(m) for m in Runner(ConfigMixIn(regions=[region])).validate_template(parsed)]
    assert matches == []


@pytest.mark.slow
@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1"])
def test_the_one_liner_passes_the_rule_packs(region: str, tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), analytics_reporting=False)
    stack = Stack(app, "Dr", env=Environment(account=ACCOUNT, region=region))
    DrPlatform(stack, "Dr")
    apply_rule_packs(app)
    app.synth()  # raises on an unacknowledged finding
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [
        (r["pluginName"], v["ruleName"])
        for r in report["pluginReports"]
        for v in r.get("violations", [])
    ]
    assert violations == []
    assert all(r["conclusion"] == "success" for r in report["pluginReports"])


def test_the_docs_table_is_the_data() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "regions.md").read_text()
    assert region_facts.region_table() in page, "docs/regions.md: paste region_facts.region_table()"
