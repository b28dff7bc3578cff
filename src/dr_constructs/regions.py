"""Region facts: which assurance features exist where, and the Aurora class each region offers.

CloudFormation's resource types are not in every region: restore testing plans do not exist in
GovCloud or China, AWS FIS not in most regions opened since 2022, and so on; RDS does not offer
every instance class everywhere (``db.t4g.medium`` is missing for Aurora PostgreSQL in
il-central-1). The facts live in the package as data, ``data/regions.json``, generated from the
AWS CloudFormation resource registry and RDS instance-class data that cfn-lint carries per region
(its E3006 and E3025 rules read them); ``tests/test_regions.py`` holds the file against
cfn-lint's data for every region, so it cannot go stale silently. The library never imports
cfn-lint (a development dependency).

What a stack gets:

* **a region the data knows**: a feature whose resource types CloudFormation lacks there is off
  by default, and asking for it raises :class:`DrConfigurationError` naming the region;
* **a region the data does not know** (newer than the data, or one without a registry in
  cfn-lint, e.g. me-south-1): the defaults of a region that has everything;
* **an environment-agnostic stack** (no region at synth): the defaults of a region that has
  everything, and a template ``Rules`` entry per assurance feature in it that stops
  ``CreateStack``/``UpdateStack`` (before any resource is touched) in a region known to lack it,
  naming the feature and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import IConstruct

from .errors import DrConfigurationError

DATA_FILE = Path(__file__).parent / "data" / "regions.json"


@dataclass(frozen=True)
class Feature:
    """An assurance feature and the CloudFormation resource types it creates."""

    prop: str
    label: str
    resource_types: tuple[str, ...]


#: The assurance features whose resource types some regions lack, by DrPlatform prop.
FEATURES: Mapping[str, Feature] = {
    f.prop: f
    for f in (
        Feature(
            "restore_tests",
            "restore tests",
            ("AWS::Backup::RestoreTestingPlan", "AWS::Backup::RestoreTestingSelection"),
        ),
        Feature("drills", "AWS FIS drills", ("AWS::FIS::ExperimentTemplate",)),
        Feature(
            "resilience_hub",
            "AWS Resilience Hub",
            ("AWS::ResilienceHub::App", "AWS::ResilienceHub::ResiliencyPolicy"),
        ),
        Feature(
            "air_gapped_retention",
            "the logically air-gapped vault",
            ("AWS::Backup::LogicallyAirGappedBackupVault",),
        ),
        Feature(
            "audit_reports",
            "AWS Backup Audit Manager",
            ("AWS::Backup::Framework", "AWS::Backup::ReportPlan"),
        ),
        Feature("proxy", "RDS Proxy", ("AWS::RDS::DBProxy", "AWS::RDS::DBProxyTargetGroup")),
    )
}
#: The Aurora PostgreSQL instance class DrDatabase uses unless told otherwise, in order of
#: preference (``db.`` omitted): Graviton burstable, else the Intel burstable class of the same
#: size. A region's default is the first of these it offers (``data/regions.json``).
AURORA_CLASS_PREFERENCE = ("t4g.medium", "t3.medium")


@cache
def region_data() -> dict[str, Any]:
    """``data/regions.json``: its ``source``, the ``resource_types`` it tracks, per region the
    tracked types CloudFormation lacks (``missing_resource_types``) and the default Aurora
    PostgreSQL class (``aurora_postgresql_class``)."""
    return json.loads(DATA_FILE.read_text())  # type: ignore[no-any-return]


def stack_region(scope: IConstruct) -> str | None:
    """The region of ``scope``'s stack, or None in an environment-agnostic stack."""
    region = Stack.of(scope).region
    return None if Token.is_unresolved(region) else region


def missing_types(region: str, feature: str) -> tuple[str, ...] | None:
    """The resource types of ``feature`` CloudFormation lacks in ``region`` (empty: it has
    them all), or None when the data does not know the region."""
    known = region_data()["missing_resource_types"].get(region)
    if known is None:
        return None
    return tuple(t for t in FEATURES[feature].resource_types if t in known)


def regions_without(feature: str) -> list[str]:
    """Every region the data knows to lack a resource type of ``feature``."""
    return sorted(r for r in region_data()["missing_resource_types"] if missing_types(r, feature))


def available(scope: IConstruct, feature: str) -> tuple[bool, str]:
    """Whether ``feature`` can be built in ``scope``'s stack, and why (for the posture report)."""
    label = FEATURES[feature].label
    region = stack_region(scope)
    if region is None:
        lacking = ", ".join(regions_without(feature))
        return True, (
            f"environment-agnostic stack: {label} assumed available; the template refuses to "
            f"deploy in a region without it ({lacking})"
        )
    missing = missing_types(region, feature)
    if missing is None:
        return True, f"{region} is not in dr-constructs' region data: {label} assumed available"
    if missing:
        return False, f"{region} has no {', '.join(missing)} ({_source()})"
    return True, f"available in {region}"


def require(scope: IConstruct, construct: str, prop: str, value: Any, feature: str) -> None:
    """Raise unless ``feature`` (asked for with ``prop=value``) can be built in ``scope``'s
    stack. In an environment-agnostic stack, add the template rule that refuses to deploy it
    in a region known to lack it."""
    region = stack_region(scope)
    if region is None:
        _refuse_in_regions_without(Stack.of(scope), feature)
        return
    missing = missing_types(region, feature)
    if missing:
        shown = value.to_human_string() if hasattr(value, "to_human_string") else value
        raise DrConfigurationError(
            construct,
            prop,
            shown,
            f"{'None' if prop == 'air_gapped_retention' else 'False'} in {region}: "
            f"CloudFormation has no {', '.join(missing)} there ({_source()}), so "
            f"{FEATURES[feature].label} cannot be deployed in {region}",
        )


def aurora_postgresql_class(region: str) -> str | None:
    """The default Aurora PostgreSQL class of ``region`` (``db.`` omitted), or None when the
    data does not know the region."""
    return region_data()["aurora_postgresql_class"].get(region)  # type: ignore[no-any-return]


def _source() -> str:
    return f"dr-constructs' region data, from {region_data()['source_short']}"


def _refuse_in_regions_without(stack: Stack, feature: str) -> None:
    """A template rule: CloudFormation refuses the stack (before touching any resource) in a
    region known to lack ``feature``'s resource types."""
    id = "DrConstructsRegionCheck" + "".join(p.title() for p in feature.split("_"))
    lacking = regions_without(feature)
    if not lacking or stack.node.try_find_child(id) is not None:
        return
    label = FEATURES[feature].label
    CfnRule(
        stack,
        id,
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_not(Fn.condition_contains(lacking, Aws.REGION)),
                assert_description=(
                    f"dr-constructs: {label} cannot be deployed in this region (CloudFormation "
                    f"has no {', '.join(FEATURES[feature].resource_types)} in "
                    f"{', '.join(lacking)}). Synthesize the stack with its region "
                    "(env=Environment(region=...)): the library then leaves it out there, or "
                    f"pass {feature}={'None' if feature == 'air_gapped_retention' else 'False'}."
                ),
            )
        ],
    )
