"""A Terraform-plan-shaped JSON export of a stack's AWS resources, so checkov's Terraform rules can scan them.

The offline runtime (tools.offline) records every resource the program registers, with its inputs. Each
``aws:`` registration becomes a ``planned_values`` resource: the Pulumi type token mapped to the Terraform type
pulumi-aws was generated from (``aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock`` ->
``aws_s3_bucket_public_access_block``, plus the few renamed ones in :data:`RENAMED`), camelCase inputs to
snake_case attributes. An input that holds another resource's id, ARN or name (computed by the provider) is
written the way Terraform writes an unknown reference: absent from the values, a ``references`` expression in
``configuration``; so checkov's graph checks see which public access block, policy or lifecycle belongs to which
bucket.

Checks a resource may fail on purpose are declared where the resource is built, one line of reason each
(``CHECKOV_SKIPS`` of the building module, see :func:`declared_skips`); :func:`scan` applies them and returns the
rest. Run alone: ``python -m tools.ci.tfplan --stack prod [--out plan.json]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.offline import Recording, computed_outputs, plain

CHECKOV = Path(__file__).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"

RENAMED = {
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/proxy:Proxy": "aws_db_proxy",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": "aws_db_proxy_default_target_group",
    "aws:rds/proxyTarget:ProxyTarget": "aws_db_proxy_target",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:autoscaling/tag:Tag": "aws_autoscaling_group_tag",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
}
"""Pulumi types whose Terraform name does not follow ``aws_<module>_<snake class>``."""

FREE_FORM = {"tags", "tagsAll", "dimensions", "defaultTags"}
"""Map-typed inputs whose keys are data (tag names, metric dimensions), not attribute names."""

PLURALIZED = {"rules": "rule", "transitions": "transition", "parameters": "parameter",
              "noncurrentVersionTransitions": "noncurrent_version_transition",
              "logDeliveryConfigurations": "log_delivery_configuration"}
"""Repeatable Terraform blocks pulumi-aws names in the plural (`rule` blocks are its `rules` list)."""


JSON_BLOCKS = {"ruleJson": "rules"}
"""Inputs that carry repeatable blocks as one JSON string in the AWS API's PascalCase (a WAFv2 web ACL's
``ruleJson``): expanded into the blocks Terraform's ``rule`` would hold, so checkov sees the rules."""


def _camel_from_pascal(key: str) -> str:
    """AWS API names to pulumi-aws camelCase: ``IPSetReferenceStatement`` -> ``ipSetReferenceStatement``."""
    return re.sub(r"^[A-Z]+?(?=[A-Z][a-z]|$)|^[A-Z]", lambda m: m.group(0).lower(), key)


def _from_api_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_from_pascal(k): _from_api_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_api_json(v) for v in value]
    return value


def expand_json_blocks(inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with every :data:`JSON_BLOCKS` string replaced by the blocks it holds."""
    out = dict(inputs)
    for key, blocks in JSON_BLOCKS.items():
        if isinstance(out.get(key), str):
            out[blocks] = _from_api_json(json.loads(out.pop(key)))
    return out


def snake(name: str) -> str:
    return PLURALIZED.get(name) or re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(pulumi_type: str) -> str:
    """``aws:<module>/<camel>:<Class>`` -> the Terraform resource type it was generated from."""
    if pulumi_type in RENAMED:
        return RENAMED[pulumi_type]
    module = pulumi_type.split(":")[1].split("/")[0]
    return f"aws_{module}_{snake(pulumi_type.rsplit(':', 1)[1])}"


def attributes(value: Any, free_form: bool = False) -> Any:
    """Pulumi inputs (camelCase) -> Terraform attributes (snake_case); keys of free-form maps stay as they are."""
    if isinstance(value, dict):
        return {k if free_form else snake(k): attributes(v, not free_form and k in FREE_FORM)
                for k, v in value.items()}
    if isinstance(value, list):
        return [attributes(v) for v in value]
    return value


@dataclass(frozen=True)
class Exported:
    """One AWS resource in the export."""

    address: str
    type: str
    name: str
    pulumi_name: str
    values: dict[str, Any]
    references: dict[str, list[str]]


def export(recording: Recording) -> list[Exported]:
    """The AWS resources of a recording, with references between them resolved."""
    aws = [r for r in recording.resources if r.custom and r.type.startswith("aws:")]
    names = {r.name: re.sub(r"[^A-Za-z0-9_]", "_", r.name) for r in aws}
    computed: dict[str, str] = {}
    for r in aws:
        address = f"{terraform_type(r.type)}.{names[r.name]}"
        outputs = {"id": f"{r.name}-id", **computed_outputs(r.type, r.name, r.inputs)}  # the mocks' ids
        for attr in ("id", "arn", "bucket", "name", "keyId"):
            value = outputs.get(attr)
            if isinstance(value, str) and attr not in r.inputs:  # an input echoed back is no reference
                computed.setdefault(value, f"{address}.{snake(attr)}")  # the first owner: children echo it
    out = []
    for r in aws:
        tf_type = terraform_type(r.type)
        values, refs = {}, {}
        for key, value in attributes(expand_json_blocks(plain(r.inputs))).items():
            found = [computed[v] for v in (value if isinstance(value, list) else [value])
                     if isinstance(v, str) and v in computed]
            if found:
                refs[key] = [ref for attr in found for ref in (attr, attr.rsplit(".", 1)[0])]
            else:
                values[key] = value
        out.append(Exported(f"{tf_type}.{names[r.name]}", tf_type, names[r.name], r.name, values, refs))
    return out


def plan_json(resources: list[Exported]) -> dict[str, Any]:
    """The subset of `terraform show -json` checkov's terraform_plan framework reads."""
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": [
            {"address": r.address, "mode": "managed", "type": r.type, "name": r.name,
             "provider_name": "registry.terraform.io/hashicorp/aws", "values": r.values} for r in resources]}},
        "resource_changes": [
            {"address": r.address, "mode": "managed", "type": r.type, "name": r.name,
             "change": {"actions": ["create"], "before": None, "after": r.values}} for r in resources],
        "configuration": {"root_module": {"resources": [
            {"address": r.address, "mode": "managed", "type": r.type, "name": r.name,
             "expressions": {k: {"references": v} for k, v in r.references.items()}} for r in resources]}},
    }


# --- skips declared where resources are built --------------------------------------------------------------------


def declared_skips() -> dict[tuple[str, str], str]:
    """Every ``CHECKOV_SKIPS`` of the library's modules: (Pulumi type, check id) -> one-line reason. A skip applies
    to the resources of that type whose logical name ends with the key's optional ``#suffix``."""
    import n8n_platform

    skips: dict[tuple[str, str], str] = {}
    for info in pkgutil.walk_packages(n8n_platform.__path__, "n8n_platform."):
        module = importlib.import_module(info.name)
        skips.update(getattr(module, "CHECKOV_SKIPS", {}))
    return skips


def _skip_reason(skips: dict[tuple[str, str], str], r: Exported, pulumi_type: str, check: str) -> str | None:
    for (typ, check_id), reason in skips.items():
        base, _, suffix = typ.partition("#")
        if base == pulumi_type and check_id == check and r.pulumi_name.endswith(suffix):
            return reason
    return None


@dataclass(frozen=True)
class ScanResult:
    passed: int
    failed: list[tuple[str, str]]
    """(check id, Terraform address) of every failed check not declared as skipped."""
    skipped: list[tuple[str, str, str]]
    """(check id, address, reason) of the declared skips that matched a failure."""


def scan(recording: Recording) -> ScanResult:
    """checkov's terraform_plan framework over the export; declared skips applied."""
    resources = export(recording)
    types = {r.address: r for r in resources}
    pulumi_types = {r.name: r.type for r in recording.resources}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(plan_json(resources), indent=1))
        proc = subprocess.run([str(CHECKOV), "-f", str(path), "--framework", "terraform_plan", "--compact",
                               "-o", "json", "--skip-download"], capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed to run (exit {proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout or "{}")
    results = (report[0] if isinstance(report, list) else report).get("results", {})
    skips = declared_skips()
    if not recording.find("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        from n8n_platform.storage import CHECKOV_SKIPS_WITHOUT_REPLICA

        skips.update(CHECKOV_SKIPS_WITHOUT_REPLICA)
    failed, skipped = [], []
    for c in results.get("failed_checks", []):
        r = types.get(c["resource"])
        reason = r and _skip_reason(skips, r, pulumi_types[r.pulumi_name], c["check_id"])
        (skipped.append((c["check_id"], c["resource"], reason)) if reason
         else failed.append((c["check_id"], c["resource"])))
    return ScanResult(len(results.get("passed_checks", [])), sorted(failed), sorted(skipped))


def main() -> None:
    from tools.offline import run_stack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--out", type=Path, help="write the plan JSON here instead of scanning it")
    args = parser.parse_args()
    recording = run_stack(args.stack)
    if args.out:
        args.out.write_text(json.dumps(plan_json(export(recording)), indent=1))
        return
    result = scan(recording)
    for check, address, reason in result.skipped:
        print(f"skipped {check} {address}: {reason}")
    for check, address in result.failed:
        print(f"FAILED  {check} {address}")
    print(f"{result.passed} passed, {len(result.failed)} failed, {len(result.skipped)} skipped")


if __name__ == "__main__":
    main()
