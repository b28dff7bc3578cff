"""Deleting what CloudFormation cannot delete alone, under the ``RemovalPolicy.DESTROY`` opt-in.

CloudFormation fails to delete an S3 bucket that still receives objects and a backup vault that
still holds recovery points. The library's answer is one pattern: a custom resource, deleted in
the stack's deletion order, whose handler (Node.js, in the package beside this module, run by
CDK's ``CustomResourceProvider``: one Lambda per kind per stack) empties the resource, waits
until it stays empty, and lets it go. Each handler acts only on a resource tagged
``dr-constructs:delete-with-stack=true``: when an update drops the opt-in, the tag goes first,
and the custom resource's removal then deletes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    CustomResource,
    CustomResourceProvider,
    CustomResourceProviderRuntime,
    Duration,
    Stack,
    Tags,
)
from constructs import Construct, IConstruct

from .compliance import tidy_cdk_provider

#: Only resources carrying this tag (value ``true``) are deleted by the handlers.
DELETE_WITH_STACK_TAG = "dr-constructs:delete-with-stack"


def delete_with_stack(
    scope: Construct,
    id: str,
    *,
    target: IConstruct,
    resource_type: str,
    code_directory: Path,
    description: str,
    purpose: str,
    statements: Sequence[Mapping[str, Any]],
    properties: Mapping[str, Any],
) -> CustomResource:
    """Tag ``target`` for deletion and add the custom resource ``resource_type`` that deletes
    it, run by the stack's provider for that type (created once per stack, 15 minutes).

    Args:
        scope: where the custom resource goes.
        id: its construct id.
        target: the resource to tag ``dr-constructs:delete-with-stack=true``.
        resource_type: ``Custom::...``, one provider per type and stack.
        code_directory: the handler's directory (``index.js`` exporting ``handler``).
        description: the provider Lambda's description.
        purpose: completes "it ..." in the reviews of the provider (checkov, Control Tower).
        statements: IAM statements the provider's role needs for this target.
        properties: the custom resource's properties (e.g. the target's name).
    """
    stack = Stack.of(scope)
    provider = CustomResourceProvider.get_or_create_provider(
        stack,
        resource_type,
        code_directory=str(code_directory),
        runtime=CustomResourceProviderRuntime.NODEJS_24_X,
        timeout=Duration.minutes(15),
        description=description,
    )
    for statement in statements:
        provider.add_to_role_policy(dict(statement))
    Tags.of(target).add(DELETE_WITH_STACK_TAG, "true")
    resource = CustomResource(
        scope,
        id,
        service_token=provider.service_token,
        resource_type=resource_type,
        properties=dict(properties),
    )
    tidy_cdk_provider(stack, f"{resource_type}CustomResourceProvider", purpose)
    return resource
