"""Stack templates as CloudFormation reads them, for the recovery-posture computation.

The posture of a data store is computed from its stack's template (``Type``, ``Properties``,
``DeletionPolicy``, logical ids, intrinsic functions), so that one computation serves both
:class:`~dr_constructs.objectives.RecoveryObjectives` (the construct tree before synthesis,
:meth:`StackTemplate.of`) and :class:`~dr_constructs.posture_check.DrPostureCheck` (the
synthesized templates of any app, :meth:`StackTemplate.from_file`).

This module also decides which AWS Backup selections select a store, following the AWS Backup
guide ("Assign resources with AWS CLI") and the ``AWS::Backup::BackupSelection`` reference:
``Resources`` entries (ARNs, ``*`` wildcards) and ``ListOfTags`` entries are combined with OR,
``Conditions`` (``StringEquals``, ``StringLike``, ``StringNotEquals``, ``StringNotLike`` on
``aws:ResourceTag/...``) with AND, ``NotResources`` excludes; a selection with neither
``Resources`` nor ``ListOfTags`` selects every resource. What a template cannot tell (a name or
tag known only at deploy, a plan outside the app) is :class:`Unknown`, with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import CfnDeletionPolicy, CfnResource, Stack, Token
from constructs import IConstruct

#: The data stores assessed. A DB instance only when standalone: an Aurora or Multi-AZ DB
#: cluster's instances hold no storage of their own and are assessed with their cluster.
STORE_TYPES = (
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
)
#: Types whose properties the computation reads: the stores, what fronts or protects them.
READ_TYPES = frozenset(
    {
        *STORE_TYPES,
        "AWS::RDS::DBProxy",
        "AWS::RDS::DBProxyTargetGroup",
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
        "AWS::Backup::BackupVault",
    }
)
_POLICY_NAMES = {
    CfnDeletionPolicy.DELETE: "Delete",
    CfnDeletionPolicy.RETAIN: "Retain",
    CfnDeletionPolicy.SNAPSHOT: "Snapshot",
    CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE: "RetainExceptOnCreate",
}
_PATH_KEY = "aws:cdk:path"


@dataclass(frozen=True)
class Unknown:
    """A value or a match the templates cannot decide before deployment, and why."""

    reason: str


@dataclass(frozen=True, eq=False)
class StackTemplate:
    """One stack's template, as the posture computation reads it.

    Attributes:
        path: the stack's construct path.
        name: the stack name.
        template: the template (``Resources``, ``Outputs``).
        account: the stack's account, None when only known at deploy.
        region: the stack's region, None when only known at deploy.
        tags: stack-level tags: CloudFormation propagates them to the stack's resources.
        paths: the construct path of each resource, by logical id, where the template's
            ``aws:cdk:path`` metadata is off (an App not run by the CDK CLI).
        complete: False when only the types the computation reads are in ``template``
            (:meth:`of`): a reference to another logical id then names a resource left out.
    """

    path: str
    name: str
    template: Mapping[str, Any]
    account: str | None = None
    region: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=dict)
    complete: bool = True

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.template.get("Resources") or {}

    @classmethod
    def of(cls, stack: Stack) -> StackTemplate:
        """The stack's template as its constructs stand now (before synthesis): the L1s of the
        types the computation reads, with their properties resolved and rendered as
        CloudFormation receives them, and their ``DeletionPolicy``. Unlike the synthesized
        template, it lacks what synthesis adds later: Aspects (``Tags.of``) and raw overrides
        (``add_property_override``)."""
        resources: dict[str, Any] = {}
        l1s = _l1s(stack, READ_TYPES)
        for logical_id, (type_, construct) in l1s.items():
            resolved = stack.resolve(construct._cfn_properties)  # the L1's own property bag
            entry: dict[str, Any] = {
                "Type": type_,
                "Properties": construct._render_properties(resolved) or {},
            }
            policy = construct.cfn_options.deletion_policy
            if policy is not None:
                entry["DeletionPolicy"] = _POLICY_NAMES[policy]
            resources[logical_id] = entry
        return cls(
            path=stack.node.path,
            name=stack.stack_name,
            template={"Resources": resources},
            account=_known(stack.account),
            region=_known(stack.region),
            tags=dict(stack.tags.tag_values()),
            paths={logical_id: c.node.path for logical_id, (_, c) in l1s.items()},
            complete=False,
        )

    @classmethod
    def from_file(
        cls,
        template_path: str | Path,
        *,
        path: str,
        name: str,
        account: str | None = None,
        region: str | None = None,
        tags: Mapping[str, str] | None = None,
        paths: Mapping[str, str] | None = None,
    ) -> StackTemplate:
        """A synthesized template (``{stack}.template.json``)."""
        template = json.loads(Path(template_path).read_text())
        return cls(path, name, template, account, region, dict(tags or {}), paths or {})


def _l1s(stack: Stack, types: frozenset[str] | None = None) -> dict[str, tuple[str, CfnResource]]:
    """The stack's own L1s (not its nested stacks'), of ``types`` if given, with their types, by
    logical id. Each call into jsii is a round trip to node: the stack's constructs come in one,
    the L1s' types from their classes (:func:`_type_of`), and only the L1s kept cost more."""
    found: dict[str, tuple[str, CfnResource]] = {}
    path = stack.node.path
    for construct in stack.node.find_all():
        type_ = _type_of(construct)
        if type_ is None or (types is not None and type_ not in types):
            continue
        assert isinstance(construct, CfnResource)
        owner = Stack.of(construct)  # the same Python object as ``stack`` if created in Python
        if owner is stack or owner.node.path == path:
            found[stack.get_logical_id(construct)] = (type_, construct)
    return found


def _type_of(construct: IConstruct) -> str | None:
    """The CloudFormation type of an L1, else None: from its class when the class fixes it
    (``CfnBucket.CFN_RESOURCE_TYPE_NAME``, read once per class), else from the construct (a
    plain ``CfnResource``)."""
    if not isinstance(construct, CfnResource):
        return None
    cls = type(construct)
    if cls not in _CLASS_TYPES:
        fixed = getattr(cls, "CFN_RESOURCE_TYPE_NAME", None) if cls is not CfnResource else None
        _CLASS_TYPES[cls] = fixed if isinstance(fixed, str) else None
    return _CLASS_TYPES[cls] or construct.cfn_resource_type


#: The CloudFormation type an L1 class fixes (None: given per construct), by class.
_CLASS_TYPES: dict[type, str | None] = {}


def construct_paths(stack: Stack) -> dict[str, str]:
    """The construct path of each of the stack's resources, by logical id."""
    return {logical_id: c.node.path for logical_id, (_, c) in _l1s(stack).items()}


@dataclass(frozen=True, eq=False)
class Resource:
    """One resource of a stack template."""

    stack: StackTemplate
    logical_id: str

    @property
    def body(self) -> Mapping[str, Any]:
        return self.stack.resources.get(self.logical_id) or {}

    @property
    def type(self) -> str:
        return str(self.body.get("Type", ""))

    @property
    def props(self) -> Mapping[str, Any]:
        props = self.body.get("Properties")
        return props if isinstance(props, Mapping) else {}

    @property
    def deletion_policy(self) -> str | None:
        policy = self.body.get("DeletionPolicy")
        return policy if isinstance(policy, str) else None

    @property
    def l1_path(self) -> str:
        """The construct path of the L1 (``aws:cdk:path``), else ``{stack}/{logical id}``."""
        path = (self.body.get("Metadata") or {}).get(_PATH_KEY)
        if isinstance(path, str):
            return path
        return self.stack.paths.get(self.logical_id) or f"{self.stack.path}/{self.logical_id}"

    @property
    def path(self) -> str:
        """The construct path of its L2 (``Dr/Database/Table``) when the L1 is its ``Resource``."""
        return self.l1_path.removesuffix("/Resource")

    def is_(self, other: Resource) -> bool:
        return other.stack is self.stack and other.logical_id == self.logical_id


@dataclass(frozen=True)
class RefTo:
    """A value that names a resource of the app (``Ref``, ``Fn::GetAtt``, or a string built
    around one, such as an ARN joined around a ``Ref``)."""

    resource: Resource
    attribute: str | None = None


Value = str | RefTo | Unknown


class App:
    """The stack templates of one app: intrinsic values and cross-stack references between them."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        self.stacks = tuple(stacks)
        self._exports: dict[str, tuple[StackTemplate, Any]] = {}
        for stack in self.stacks:
            for output in (stack.template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name")
                if isinstance(name, str):
                    self._exports[name] = (stack, output.get("Value"))

    def resources(self, *types: str) -> Iterator[Resource]:
        for stack in self.stacks:
            for logical_id, body in stack.resources.items():
                if body.get("Type") in types:
                    yield Resource(stack, logical_id)

    def value(self, stack: StackTemplate, expression: Any) -> Value:
        """What ``expression`` (a property value of ``stack``) is, as far as synthesis knows.

        Pseudo parameters the stack's environment does not give become placeholders
        (:func:`placeholder`), so that two values of one environment still compare."""
        if isinstance(expression, str):
            return expression
        if isinstance(expression, int | float) and not isinstance(expression, bool):
            return str(expression)
        if not (isinstance(expression, Mapping) and len(expression) == 1):
            return Unknown(f"{_short(expression)} is not a single value")
        ((function, argument),) = expression.items()
        if function == "Ref":
            return self._ref(stack, argument)
        if function == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            named = isinstance(parts, list) and len(parts) == 2
            if named and (parts[0] in stack.resources or not stack.complete):
                return RefTo(Resource(stack, parts[0]), str(parts[1]))
            return Unknown(f"{_short(expression)} names no resource of stack {stack.name}")
        if function == "Fn::ImportValue":
            return self._import(stack, argument)
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            if isinstance(separator, str) and isinstance(parts, list):
                return _joined(separator, [self.value(stack, part) for part in parts])
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        return Unknown(f"{function} is evaluated by CloudFormation at deploy")

    def _ref(self, stack: StackTemplate, name: Any) -> Value:
        if not isinstance(name, str):
            return Unknown(f"Ref {_short(name)}")
        if name in stack.resources or (not stack.complete and not name.startswith("AWS::")):
            return RefTo(Resource(stack, name))  # left out of an incomplete template: not a store
        suffix = "amazonaws.com.cn" if (stack.region or "").startswith("cn-") else "amazonaws.com"
        pseudo = {
            "AWS::Partition": partition(stack.region),
            "AWS::Region": stack.region or placeholder("region"),
            "AWS::AccountId": stack.account or placeholder("account"),
            "AWS::StackName": stack.name,
            "AWS::URLSuffix": suffix if stack.region else placeholder("urlsuffix"),
        }
        if name in pseudo:
            return pseudo[name]
        return Unknown(f"parameter {name} of stack {stack.name} is given at deploy")

    def _import(self, stack: StackTemplate, argument: Any) -> Value:
        name = self.value(stack, argument)
        if not isinstance(name, str):
            return Unknown("an import whose export name is only known at deploy")
        if name not in self._exports:
            return Unknown(
                f"it imports {name!r}, which no stack of this app exports (a stack deployed "
                "on its own, or another app)"
            )
        exporter, value = self._exports[name]
        return self.value(exporter, value)

    def _sub(self, stack: StackTemplate, argument: Any) -> Value:
        text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
        if not isinstance(text, str) or not isinstance(variables, Mapping):
            return Unknown(f"Fn::Sub {_short(argument)}")
        parts = re.split(r"\$\{([^}]*)\}", text)  # literal, name, literal, name, ..., literal
        values: list[Value] = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                values.append(part)
            elif part.startswith("!"):
                values.append("${" + part[1:] + "}")
            elif part in variables:
                values.append(self.value(stack, variables[part]))
            elif "." in part:
                values.append(self.value(stack, {"Fn::GetAtt": part.split(".", 1)}))
            else:
                values.append(self._ref(stack, part))
        return _joined("", values)

    def text(self, stack: StackTemplate, expression: Any) -> str | None:
        """``expression`` as a string, or None when it is not one before deployment."""
        value = self.value(stack, expression)
        return value if isinstance(value, str) else None

    def resource(self, stack: StackTemplate, expression: Any, type_: str) -> Resource | Value:
        """The resource of ``type_`` that ``expression`` names, else what the value is."""
        value = self.value(stack, expression)
        if isinstance(value, RefTo) and value.resource.type == type_:
            return value.resource
        return value


def _joined(separator: str, values: list[Value]) -> Value:
    for value in values:
        if isinstance(value, RefTo):
            return value  # e.g. an ARN built around a Ref: it names that resource
    for value in values:
        if isinstance(value, Unknown):
            return value
    return separator.join(v for v in values if isinstance(v, str))


def placeholder(name: str) -> str:
    """Stands, in a value, for a part of the environment only known at deploy."""
    return f"\x01{name}\x01"


_PLACEHOLDER = re.compile("\x01([a-z]+)\x01")


def partition(region: str | None) -> str:
    if region is None:
        return placeholder("partition")
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _known(value: str) -> str | None:
    return None if Token.is_unresolved(value) else value


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


# --- ARNs and wildcards ---------------------------------------------------------------------------

#: The property naming each store, the ARN it gets, and whether RDS lower-cases the name.
_ARNS = {
    "AWS::DynamoDB::Table": (
        "TableName",
        "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
    ),
    "AWS::S3::Bucket": ("BucketName", "arn:{partition}:s3:::{name}"),
    "AWS::RDS::DBCluster": (
        "DBClusterIdentifier",
        "arn:{partition}:rds:{region}:{account}:cluster:{name}",
    ),
    "AWS::RDS::DBInstance": (
        "DBInstanceIdentifier",
        "arn:{partition}:rds:{region}:{account}:db:{name}",
    ),
}


def arn(app: App, store: Resource) -> str:
    """The store's ARN, with placeholders for what is only known at deploy (a generated name,
    the account or region of an environment-agnostic stack)."""
    name_property, form = _ARNS[store.type]
    name = app.text(store.stack, store.props.get(name_property)) or placeholder("name")
    if store.type.startswith("AWS::RDS::"):
        name = name.lower()  # RDS stores identifiers in lower case
    stack = store.stack
    return form.format(
        partition=partition(stack.region),
        region=stack.region or placeholder("region"),
        account=stack.account or placeholder("account"),
        name=name,
    )


def matches(pattern: str, value: str) -> bool | Unknown:
    """Whether the AWS Backup ``pattern`` (``*``: zero or more non-whitespace characters)
    matches ``value``, for every value of their placeholders (True), for none (False), or
    depending on them (Unknown)."""
    names = sorted(set(_PLACEHOLDER.findall(pattern + value)))
    if not names:
        return _glob(pattern).fullmatch(value) is not None
    # True for every value: two samples with no character in common both match
    samples = ["\x02", "\x03\x03"]
    if all(
        _glob(_fill(pattern, sample)).fullmatch(_fill(value, sample)) is not None
        for sample in samples
    ):
        return True
    if not _intersect(_fill(pattern, "*"), _fill(value, "*")):
        return False
    return Unknown(f"only known at deploy: the {' and '.join(names)} it depends on")


def _fill(text: str, sample: str) -> str:
    return _PLACEHOLDER.sub(sample, text)


def shown(text: str) -> str:
    """``text`` for people: each placeholder as the pseudo parameter it stands for
    (``${AWS::AccountId}``)."""
    names = {"account": "AccountId", "region": "Region", "partition": "Partition",
             "urlsuffix": "URLSuffix"}  # fmt: skip
    return _PLACEHOLDER.sub(lambda m: "${AWS::" + names.get(m[1], m[1]) + "}", text)


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*" if pattern == "*" else r"\S*".join(map(re.escape, pattern.split("*"))))


def _intersect(left: str, right: str) -> bool:
    """Whether two ``*`` patterns match at least one common string."""

    @cache
    def common(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*":
            return common(i + 1, j) or (j < len(right) and common(i, j + 1))
        if j < len(right) and right[j] == "*":
            return common(i, j + 1) or (i < len(left) and common(i + 1, j))
        return i < len(left) and j < len(right) and left[i] == right[j] and common(i + 1, j + 1)

    return common(0, 0)


def like(pattern: str, value: str) -> bool:
    """IAM's ``StringLike``: ``*`` any characters, ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


# --- Three-valued logic -----------------------------------------------------------------------

Truth = bool | Unknown


def any_of(values: Sequence[Truth]) -> Truth:
    if True in values:
        return True
    unknown = [v for v in values if isinstance(v, Unknown)]
    return unknown[0] if unknown else False


def all_of(values: Sequence[Truth]) -> Truth:
    if False in values:
        return False
    unknown = [v for v in values if isinstance(v, Unknown)]
    return unknown[0] if unknown else True


def not_(value: Truth) -> Truth:
    return value if isinstance(value, Unknown) else not value


# --- AWS Backup selections ----------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Whether one ``AWS::Backup::BackupSelection`` selects a store, and the notes that explain
    a selection the computation does not count."""

    resource: Resource
    selects: Truth
    note: str | None = None


def selection(app: App, selection: Resource, store: Resource) -> Selection:
    """Whether ``selection`` selects ``store`` (see the module docstring for the rules)."""
    body = selection.props.get("BackupSelection") or {}
    stack = selection.stack
    entries = [_entry(app, stack, e, store) for e in body.get("Resources") or []]
    tags = tags_of(app, store)
    by_tag = [_tag_condition(app, stack, c, tags) for c in body.get("ListOfTags") or []]
    chosen = True if not entries and not by_tag else any_of([*entries, *by_tag])
    conditions = all_of(
        [
            _condition(app, stack, operator, c, tags)
            for operator, listed in (body.get("Conditions") or {}).items()
            for c in listed or []
        ]
    )
    excluded = any_of([_entry(app, stack, e, store) for e in body.get("NotResources") or []])
    selects = all_of([chosen, conditions, not_(excluded)])
    name = selection.path
    if isinstance(selects, Unknown):
        return Selection(selection, selects, f"AWS Backup selection {name}: {selects.reason}")
    by_arn = any_of(entries)
    missed_tags = (by_tag and any_of(by_tag) is False and by_arn is False) or (
        chosen is True and conditions is False
    )
    if selects is False and excluded is False and missed_tags:
        return Selection(
            selection,
            False,
            f"AWS Backup selection {name} selects by tags ({_tags_text(body)}), which this "
            "store's template does not give it; tags added at deploy (cdk deploy --tags) or "
            "later are not seen",
        )
    return Selection(selection, selects)


def _entry(app: App, stack: StackTemplate, entry: Any, store: Resource) -> Truth:
    value = app.value(stack, entry)
    if isinstance(value, RefTo):
        return value.resource.is_(store)
    if isinstance(value, Unknown):
        return Unknown(f"it names {_short(entry)}, and {value.reason}")
    result = matches(value.strip(), arn(app, store))
    if isinstance(result, Unknown):
        return Unknown(f"whether {_fill(value, '*')} is this store is {result.reason}")
    return result


def tags_of(app: App, store: Resource) -> dict[str, str | Unknown]:
    """The store's tags: its ``Tags`` and its stack's (CloudFormation propagates those)."""
    tags: dict[str, str | Unknown] = dict(store.stack.tags)
    for tag in store.props.get("Tags") or []:
        if not isinstance(tag, Mapping):
            continue
        key = app.text(store.stack, tag.get("Key"))
        value = app.value(store.stack, tag.get("Value"))
        if key is not None:
            tags[key] = value if isinstance(value, str) else Unknown(f"tag {key} is set at deploy")
    return tags


def _tag_condition(
    app: App, stack: StackTemplate, condition: Any, tags: Mapping[str, str | Unknown]
) -> Truth:
    operator = str(condition.get("ConditionType", "StringEquals"))
    return _test(app, stack, operator, condition, tags, prefix="")


def _condition(
    app: App, stack: StackTemplate, operator: str, condition: Any, tags: Mapping[str, str | Unknown]
) -> Truth:
    return _test(app, stack, operator, condition, tags, prefix="aws:ResourceTag/")


def _test(
    app: App,
    stack: StackTemplate,
    operator: str,
    condition: Any,
    tags: Mapping[str, str | Unknown],
    *,
    prefix: str,
) -> Truth:
    key = app.text(stack, condition.get("ConditionKey"))
    expected = app.text(stack, condition.get("ConditionValue"))
    if key is None or expected is None:
        return Unknown(f"its tag condition {_short(condition)} is only known at deploy")
    if prefix and not key.startswith(prefix):
        return Unknown(f"condition key {key} is not a resource tag")
    key = key.removeprefix(prefix)
    actual = tags.get(key)
    if isinstance(actual, Unknown):
        return actual
    kind = operator.replace("_", "").lower()
    if kind not in _OPERATORS:
        return Unknown(f"condition operator {operator} is not one AWS Backup documents")
    negated, wildcard = _OPERATORS[kind]
    found = actual is not None and (like(expected, actual) if wildcard else actual == expected)
    return not found if negated else found


#: Tag condition operators: (negated, wildcards). A negated one holds when the tag is absent.
_OPERATORS = {
    "stringequals": (False, False),
    "stringlike": (False, True),
    "stringnotequals": (True, False),
    "stringnotlike": (True, True),
}


def _tags_text(body: Mapping[str, Any]) -> str:
    shown = [
        f"{c.get('ConditionKey')}={c.get('ConditionValue')}" for c in body.get("ListOfTags") or []
    ]
    shown += [
        f"{operator} {c.get('ConditionKey')}={c.get('ConditionValue')}"
        for operator, listed in (body.get("Conditions") or {}).items()
        for c in listed or []
    ]
    return ", ".join(shown)
