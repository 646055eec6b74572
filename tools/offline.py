"""Run the Pulumi program with no engine, no cloud and no CLI: Pulumi's mock runtime plus a recorder.

Used by the offline plan (`tools.plan`) and by the tests (`tests/harness.py`). It

- merges `Pulumi.yaml` config defaults with `Pulumi.<stack>.yaml` (the mock runtime reads neither) and replaces
  `secure:` values with dummies that stay marked secret;
- runs the program under ``pulumi.runtime.set_mocks(..., preview=False)`` so apply callbacks run;
- records every registration (type, name, parent, inputs, options) and fails on duplicate names, which the mock
  monitor silently merges but the real engine rejects;
- answers invokes from a table and raises on any invoke it does not know (the mock default is a silent `{}`);
- returns realistic computed outputs (endpoints, ARNs, random results) so Output chains resolve.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "n8n"
PYTHONPATH = f"{ROOT}:{ROOT / 'components'}"
"""Import path for a subprocess that must run this checkout's program and library: without ``components`` on it, the
virtualenv's editable install of the library (which may point at another checkout) would answer instead."""
ACCOUNT = "123456789012"
REGION = "eu-west-1"

os.environ.setdefault("PULUMI_ERROR_OUTPUT_STRING", "1")  # an Output in an f-string must fail loudly

# The secret sentinel of Pulumi's wire format (pulumi.runtime.rpc._special_sig_key / _special_secret_sig).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SECRET_SHOWN = "[secret]"


def is_secret(value: Any) -> bool:
    """True when ``value`` is a secret as it arrives in mock inputs."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def rebuild(value: Any, leaf: Callable[[Any], Any], inside_secret: Callable[[Any], Any]) -> Any:
    """``value`` rebuilt: each secret wrapper replaced by ``inside_secret(its content)``, other leaves by ``leaf``."""
    if is_secret(value):
        return inside_secret(value["value"])
    if isinstance(value, dict):
        return {k: rebuild(v, leaf, inside_secret) for k, v in value.items()}
    if isinstance(value, list):
        return [rebuild(v, leaf, inside_secret) for v in value]
    return leaf(value)


def plain(value: Any) -> Any:
    """``value`` with every secret wrapper removed (to assert on what a secret contains)."""
    return rebuild(value, lambda v: v, plain)


def redacted(value: Any) -> Any:
    """``value`` with every secret replaced by "[secret]" and integral floats (the wire format) back to ints.

    A secret object or list keeps its shape (each leaf is hidden), so a Secret's ``stringData`` stays a map.
    """
    return rebuild(value, lambda v: int(v) if isinstance(v, float) and v.is_integer() else v, _hidden)


def _hidden(value: Any) -> Any:
    return rebuild(value, lambda v: SECRET_SHOWN, _hidden)


def secret_leaves(value: Any) -> list[Any]:
    """Every leaf value that sits inside a secret wrapper, anywhere in ``value``."""
    found: list[Any] = []

    def inside(content: Any) -> Any:
        return rebuild(content, lambda v: found.append(v) or v, inside)

    rebuild(value, lambda v: v, inside)
    return found


def sorted_keys(value: Any) -> Any:
    """``value`` with every mapping's keys in sorted order (a protobuf Struct's order changes between processes)."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


def secret(value: Any) -> dict[str, Any]:
    """``value`` wrapped as a secret on the wire (what a provider returns for a secret output)."""
    return {SIG_KEY: SECRET_SIG, "value": value}


# --- stack configuration ------------------------------------------------------------------------------------------


def load_stack_config(stack: str, overrides: dict[str, Any] | None = None,
                      root: Path = ROOT) -> tuple[dict[str, Any], list[str]]:
    """The raw config of ``stack`` (keys without the project prefix) and the keys that were `secure:`.

    Project defaults from Pulumi.yaml come first, then Pulumi.<stack>.yaml, then ``overrides`` (deep-merged;
    a None value deletes a key).
    """
    project = _yaml(root / "Pulumi.yaml")
    raw: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            raw[_strip(key)] = copy.deepcopy(decl["default"])
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name}; stacks here: "
                                + ", ".join(sorted(p.name[7:-5] for p in root.glob("Pulumi.*.yaml"))))
    secrets: list[str] = []
    for key, value in ((_yaml(stack_file) or {}).get("config") or {}).items():
        if not key.startswith(f"{PROJECT}:"):
            continue  # aws:region and other providers' keys are not ours
        raw[_strip(key)] = _unsecure(_strip(key), value, secrets)
    _merge(raw, overrides or {})
    return raw, secrets


def _yaml(path: Path) -> Any:
    """A YAML file's content, parsed once per version of the file (tests read the stack files hundreds of times)."""
    return copy.deepcopy(_parsed_yaml(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _parsed_yaml(path: Path, mtime_ns: int) -> Any:
    return yaml.safe_load(path.read_text())


def _strip(key: str) -> str:
    return key.split(":", 1)[1] if ":" in key else key


def _unsecure(path: str, value: Any, secrets: list[str]) -> Any:
    """Replace `secure:` values by deterministic dummies and remember their keys."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        secrets.append(path)
        return "dummy-secret-" + hashlib.sha256(path.encode()).hexdigest()[:32]
    if isinstance(value, dict):
        return {k: _unsecure(f"{path}.{k}", v, secrets) for k, v in value.items()}
    return value


def _merge(into: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def as_pulumi_config(raw: dict[str, Any]) -> dict[str, str]:
    """Raw config in the shape the Pulumi runtime holds it: namespaced keys, strings, objects as JSON."""
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


# --- recording ----------------------------------------------------------------------------------------------------


@dataclass
class Registration:
    """One resource the program registered."""

    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    custom: bool
    urn: str = ""
    parent_urn: str = ""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """URNs each input depends on (what a policy pack sees as ``property_dependencies``)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """What a component registered with ``register_outputs`` (its outputs in the stack's state)."""

    @property
    def is_kubernetes(self) -> bool:
        """A Kubernetes object (Helm releases and charts are not: they stand for many objects)."""
        return self.custom and self.type.startswith("kubernetes:") and not self.type.startswith("kubernetes:helm.sh")


@dataclass
class Recording:
    """Everything a run registered, in order, with a small query API."""

    resources: list[Registration] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def find(self, type: str | None = None, name: str | None = None, parent: str | None = None) -> list[Registration]:
        return [r for r in self.resources
                if (type is None or r.type == type) and (name is None or r.name == name)
                and (parent is None or r.parent == parent)]

    def one(self, type: str, name: str | None = None) -> Registration:
        found = self.find(type, name)
        assert len(found) == 1, f"expected one {type} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def children(self, name: str) -> list[Registration]:
        return self.find(parent=name)

    def descendants(self, name: str) -> list[Registration]:
        out, todo = [], [name]
        while todo:
            kids = self.children(todo.pop())
            out.extend(kids)
            todo.extend(k.name for k in kids)
        return out

    def manifests(self) -> list[dict[str, Any]]:
        """Every Kubernetes object as the provider would send it (secrets shown as "[secret]")."""
        return [manifest(r) for r in self.resources if r.is_kubernetes]


def manifest(r: Registration) -> dict[str, Any]:
    """The Kubernetes object of a registration, with apiVersion/kind/metadata first."""
    body = redacted(r.inputs)
    group_version, kind = r.type.split(":", 1)[1].rsplit(":", 1)
    group, version = group_version.split("/")
    api_version = body.pop("apiVersion", version if group == "core" else f"{group}/{version}")
    body.pop("kind", None)
    ordered = {"apiVersion": api_version, "kind": kind, "metadata": body.pop("metadata", {})}
    ordered.update(body)
    return ordered


# --- mocks --------------------------------------------------------------------------------------------------------

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

MOCK_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1PQ0sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
CLUSTER_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"

INVOKES: dict[str, Invoke] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDAEXAMPLE", "id": ACCOUNT},
    "aws:lb/getHostedZoneId:getHostedZoneId": lambda a: {"id": "Z32O12XQLNTSW2", "region": REGION,
                                                    "loadBalancerType": "application"},
    "aws:index/getRegion:getRegion": lambda a: {
        "region": a.get("region") or REGION, "name": a.get("region") or REGION, "id": a.get("region") or REGION,
        "description": "Europe (Ireland)", "endpoint": f"ec2.{a.get('region') or REGION}.amazonaws.com"},
    "aws:eks/getCluster:getCluster": lambda a: {
        "name": a["name"], "id": a["name"],
        "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{a['name']}",
        "endpoint": "https://EXAMPLE0123456789.gr7.eu-west-1.eks.amazonaws.com",
        "certificateAuthorities": [{"data": MOCK_CA}],
        "identities": [{"oidcs": [{"issuer": CLUSTER_ISSUER}]}],
        "version": "1.33", "status": "ACTIVE", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
        "vpcConfig": {"vpcId": "vpc-0a1b2c3d4e5f60718", "clusterSecurityGroupId": "sg-0c1a2b3c4d5e6f708",
                      "subnetIds": [], "securityGroupIds": [], "publicAccessCidrs": [],
                      "endpointPrivateAccess": True, "endpointPublicAccess": False},
        "accessConfigs": [], "computeConfigs": [], "enabledClusterLogTypes": [], "kubernetesNetworkConfigs": [],
        "outpostConfigs": [], "platformVersion": "eks.10", "remoteNetworkConfigs": [], "storageConfigs": [],
        "tags": {}, "upgradePolicies": [], "zonalShiftConfigs": [], "createdAt": "2026-01-01T00:00:00Z",
        "clusterId": "", "deletionProtection": True},
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": [f"{REGION}{z}" for z in "abc"], "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)],
        "groupNames": [REGION] * 3, "id": REGION, "state": a.get("state")},
}
"""Invokes the mocks answer; anything else raises. Add an entry when the program starts calling a data source."""


def _digest(name: str, n: int = 8) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


def computed_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Realistic provider-computed outputs for the resource types the program creates."""
    pkg = typ.split(":")[0]
    if pkg != "aws" and pkg != "random":
        return {}
    service = typ.split(":")[1].split("/")[0]
    physical = inputs.get("name") or inputs.get("bucket") or f"{name}-{_digest(name, 7)}"
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{REGION}:{ACCOUNT}:{typ.rsplit(':', 1)[1].lower()}/{physical}"}
    if "name" not in inputs and pkg == "aws":
        out["name"] = physical
    if typ == "aws:s3/bucket:Bucket":
        out.update(bucket=physical, arn=f"arn:aws:s3:::{physical}", bucketDomainName=f"{physical}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{physical}.s3.{REGION}.amazonaws.com", region=REGION)
    elif typ.startswith("aws:iam/"):
        kind = typ.rsplit(":", 1)[1].lower().replace("openidconnectprovider", "oidc-provider")
        out["arn"] = f"arn:aws:iam::{ACCOUNT}:{kind}/{physical}"
    elif typ == "aws:kms/key:Key":
        key_id = f"{_digest(name)}-1111-2222-3333-{_digest(name + 'k', 12)}"
        out.update(keyId=key_id, arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
    elif typ == "aws:rds/instance:Instance":
        ident = inputs.get("identifier") or physical
        address = f"{ident}.c{_digest(name, 10)}.{REGION}.rds.amazonaws.com"
        out.update(address=address, endpoint=f"{address}:5432", port=inputs.get("port", 5432),
                   identifier=ident, resourceId=f"db-{_digest(name, 20).upper()}",
                   arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{ident}",
                   masterUserSecrets=[{"secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-"
                                                    f"{_digest(name, 12)}", "kmsKeyId": "", "secretStatus": "active"}])
    elif typ == "aws:rds/proxy:Proxy":
        ident = inputs.get("name") or physical
        out.update(endpoint=f"{ident}.proxy-c{_digest(name, 10)}.{REGION}.rds.amazonaws.com",
                   arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db-proxy:prx-{_digest(name, 17)}")
    elif typ == "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":
        out.update(name="default", arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:target-group:prx-tg-{_digest(name, 17)}")
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        ident = inputs.get("replicationGroupId") or physical
        out.update(primaryEndpointAddress=f"master.{ident}.{_digest(name, 6)}.euw1.cache.amazonaws.com",
                   readerEndpointAddress=f"replica.{ident}.{_digest(name, 6)}.euw1.cache.amazonaws.com",
                   port=inputs.get("port", 6379))
    elif typ == "aws:secretsmanager/secret:Secret":
        out["arn"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}-{_digest(name, 6)}"
    elif typ == "aws:ec2/securityGroup:SecurityGroup":
        out["id"] = f"sg-{_digest(name, 17)}"
    elif typ in ("aws:wafv2/webAcl:WebAcl", "aws:wafv2/ipSet:IpSet"):
        kind = "webacl" if typ.endswith("WebAcl") else "ipset"
        ident = _digest(name, 32)
        out.update(id=ident, arn=f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/{kind}/{physical}/{ident}")
    elif typ == "aws:acm/certificate:Certificate":
        out["domainValidationOptions"] = [{
            "domainName": inputs.get("domainName"),
            "resourceRecordName": f"_{_digest(name, 32)}.{inputs.get('domainName')}.",
            "resourceRecordType": "CNAME", "resourceRecordValue": f"_{_digest(name, 32)}.acm-validations.aws."}]
    elif typ == "aws:eks/cluster:Cluster":
        out.update(endpoint=f"https://{_digest(name, 32).upper()}.gr7.{REGION}.eks.amazonaws.com",
                   certificateAuthority={"data": MOCK_CA},
                   identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{REGION}.amazonaws.com/id/"
                                                     f"{_digest(name, 32).upper()}"}]}],
                   vpcConfig={**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_digest(name, 17)}",
                              "vpcId": ""})
    elif typ in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"):
        out["id"] = f"{'vpc' if typ.endswith('Vpc') else 'subnet'}-{_digest(name, 17)}"
    elif typ == "aws:eks/nodeGroup:NodeGroup":
        out.update(status="ACTIVE", nodeGroupName=inputs.get("nodeGroupName") or physical)
    elif typ == "random:index/randomPassword:RandomPassword":
        length = int(inputs.get("length", 32))
        out = {"result": secret((_digest(name, 64) * 4)[:length]), "bcryptHash": secret("$2a$10$mock")}
    elif typ == "random:index/randomId:RandomId":
        n = int(inputs.get("byteLength", 32))
        out = {"hex": _digest(name, 2 * n), "b64Std": _digest(name, n), "b64Url": _digest(name, n),
               "dec": str(int(_digest(name, 12), 16))}
    elif typ == "random:index/randomString:RandomString":
        out = {"result": (_digest(name, 64) * 4)[:int(inputs.get("length", 16))]}
    return out


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[1] if urn else ""


def _aliases(request: Any) -> dict[str, Any]:
    """The aliases of a registration (old types and names that keep existing state), only when it has some."""
    found = [a.urn or {k: v for k, v in (("type", a.spec.type), ("name", a.spec.name)) if v}
             for a in request.aliases]
    found += list(request.aliasURNs)
    return {"aliases": found} if found else {}


def _stack_reference(name: str, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """The state of a StackReference: the running stack's own outputs (``stack_outputs``); any other stack is
    unknown here and fails loudly."""
    import pulumi

    if name.split("/")[-2:] != [pulumi.get_project(), pulumi.get_stack()]:
        raise NotImplementedError(f"the offline runtime knows only the running stack's own outputs, not {name!r}")
    return {"name": name, "outputs": copy.deepcopy(stack_outputs), "secretOutputNames": []}


def deployed_outputs(raw: dict[str, Any]) -> dict[str, Any]:
    """The outputs a stack with config ``raw`` has after an update at the same n8n version (what the offline plan
    answers a StackReference to the stack with: an update, not a first deployment, with no version change)."""
    from n8n_platform.n8n.spec import N8N_VERSION
    from n8n_platform.upgrade import STACK_OUTPUT

    return {STACK_OUTPUT: (raw.get("n8n") or {}).get("version", N8N_VERSION)}


def _build_mocks(recording: Recording, invokes: dict[str, Invoke],
                 stack_outputs: dict[str, Any] | None = None) -> Any:
    import pulumi
    from pulumi.runtime import mocks as pmocks

    class RecordingMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            if args.typ.startswith("pulumi:providers:"):
                return f"{args.name}_id", dict(args.inputs)
            if args.typ == "pulumi:pulumi:StackReference":
                return str(args.resource_id), _stack_reference(str(args.resource_id), stack_outputs or {})
            state = {**args.inputs, **computed_outputs(args.typ, args.name, args.inputs)}
            resource_id = state.get("id") or (args.inputs.get("metadata") or {}).get("name") or f"{args.name}-id"
            return str(resource_id), state

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
            recording.invokes.append((args.token, dict(args.args)))
            if args.token not in invokes:
                raise NotImplementedError(f"the offline runtime has no answer for invoke {args.token}; add one to "
                                          "tools.offline.INVOKES")
            return invokes[args.token](args.args)

    class RecordingMonitor(pmocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                # The wire form keeps a secret where it is (the SDK's deserializer would lift it to the whole
                # top-level property), so recorded inputs show exactly which leaves are secret.
                from google.protobuf import json_format

                urn = self.make_urn(request.parent, request.type, request.name)
                if any(r.urn == urn for r in recording.resources):
                    raise ValueError(f"duplicate resource name: {request.type} {request.name!r} is registered twice")
                recording.resources.append(Registration(
                    type=request.type, name=request.name, parent=_name_of(request.parent) or None,
                    inputs=sorted_keys(json_format.MessageToDict(request.object)),
                    options={
                        "protect": bool(getattr(request, "protect", False)),
                        "retain_on_delete": bool(getattr(request, "retainOnDelete", False)),
                        "depends_on": sorted({_name_of(u) for u in request.dependencies} - {
                            _name_of(u) for deps in request.propertyDependencies.values() for u in deps.urns}),
                        "input_dependencies": sorted({_name_of(u) for deps in request.propertyDependencies.values()
                                                      for u in deps.urns}),
                        "provider": _name_of(request.provider.rsplit("::", 1)[0]) if request.provider else None,
                        "ignore_changes": list(request.ignoreChanges),
                        "delete_before_replace": bool(request.deleteBeforeReplace),
                        **_aliases(request),
                    },
                    custom=bool(request.custom), urn=urn, parent_urn=request.parent,
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()}))
            return super().RegisterResource(request)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            from google.protobuf import json_format

            for registration in recording.resources:
                if registration.urn == request.urn:
                    registration.outputs = json_format.MessageToDict(request.outputs)
            return super().RegisterResourceOutputs(request)

    mocks = RecordingMocks()
    return mocks, RecordingMonitor(mocks)


def run(program: Callable[[], Any], *, stack: str = "test", config: dict[str, Any] | None = None,
        secret_keys: list[str] | None = None, invokes: dict[str, Invoke] | None = None,
        recording: Recording | None = None, stack_outputs: dict[str, Any] | None = None) -> Recording:
    """Run ``program`` under the mock runtime with ``config`` (raw, unprefixed) and return what it registered.

    ``stack_outputs``: what a StackReference to the running stack reads (its outputs from the last update; None:
    a stack never deployed, no outputs).

    Exceptions raised by the program (e.g. a SettingsError) propagate unchanged; pass ``recording`` to inspect
    what was registered before one was raised.
    """
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.sync_await import _ensure_event_loop

    _ensure_event_loop()
    runtime_settings.reset_options(project=PROJECT, stack=stack, preview=False)
    recording = recording if recording is not None else Recording()
    mocks, monitor = _build_mocks(recording, {**INVOKES, **(invokes or {})}, stack_outputs)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    runtime_config.set_all_config(as_pulumi_config(config or {}),
                                  [f"{PROJECT}:{k}" for k in (secret_keys or [])])
    try:
        pulumi.runtime.test(program)()
        root = pulumi.runtime.get_root_resource()
        outputs = getattr(root, "outputs", None) or {}
        recording.exports = _resolve_exports(outputs)
    finally:
        runtime_config.set_all_config({}, [])
    return recording


def _resolve_exports(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack exports as plain values, secrets wrapped like mock inputs so they can be told apart."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    resolved = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        plain_value = _sync_await(out.future())
        resolved[key] = secret(plain_value) if _sync_await(out.is_secret()) else plain_value
    return resolved


def credentials_of_stack(raw: dict[str, Any]) -> dict[str, Invoke]:
    """Invokes that answer as the stack's own AWS account (its `aws.accountId` guard), as correct credentials would."""
    account = (raw.get("aws") or {}).get("accountId") or ACCOUNT
    return {"aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": account, "arn": f"arn:aws:iam::{account}:user/ci", "userId": "AIDAEXAMPLE", "id": account}}


def run_stack(stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT,
              recording: Recording | None = None, stack_outputs: dict[str, Any] | None = None) -> Recording:
    """Run the real program (`n8n_platform.program.main`) for `Pulumi.<stack>.yaml`, with credentials of the
    stack's account; the stack's own outputs are ``stack_outputs`` (default :func:`deployed_outputs`: an update at
    the same n8n version)."""
    from n8n_platform import program

    raw, secrets = load_stack_config(stack, overrides, root)
    return run(program.main, stack=stack, config=raw, secret_keys=secrets, recording=recording,
               invokes=credentials_of_stack(raw),
               stack_outputs=deployed_outputs(raw) if stack_outputs is None else stack_outputs)
