"""cluster.create (issue 24): the settings' rules, the VPC and EKS cluster the Cluster component builds from plain
pulumi-aws resources, and the whole platform rendered on top of it from the example stack of a new account."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pulumi
import pytest

from n8n_platform import eks_cluster, network
from n8n_platform.eks_cluster import Cluster
from n8n_platform.schema import SettingsError
from n8n_platform.settings import from_config
from n8n_platform.storage_class import DEFAULT_CLASS_ANNOTATION
from tests.harness import Recording, run
from tools.ci import gates, tfplan
from tools.offline import ROOT, credentials_of_stack, load_stack_config

EXAMPLE = ROOT / "examples" / "platform-on-new-account"
EKS = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"


def example_config(overrides: dict | None = None) -> tuple[dict, list[str]]:
    return load_stack_config("example", overrides, root=EXAMPLE)


def render(overrides: dict | None = None, recording: Recording | None = None) -> Recording:
    from n8n_platform import program

    raw, secrets = example_config(overrides)
    return run(program.main, stack="example", config=raw, secret_keys=secrets, invokes=credentials_of_stack(raw),
               recording=recording)


@pytest.fixture(scope="module")
def prod() -> Recording:
    return render()


@pytest.fixture(scope="module")
def dev() -> Recording:
    return render({"environment": "dev", "protect": False, "edge": {"waf": False}})


def by_name(rec: Recording) -> dict:
    return {r.name: r for r in rec.resources}


# --- settings -----------------------------------------------------------------------------------------------------

def problems(overrides: dict) -> str:
    raw, _ = example_config(overrides)
    with pytest.raises(SettingsError) as caught:
        from_config(raw)
    return str(caught.value)


def test_the_example_stack_is_valid_and_creates_a_cluster():
    s = from_config(example_config()[0])
    assert s.cluster.create and s.cluster.name == "n8n-staging" and s.on_eks
    assert s.cluster.vpc_id is None and s.cluster.private_subnet_ids == []


NEEDS_CIDR = "cluster.create needs the IPv4 CIDR of the VPC to create, a /16 to a /20 such as 10.30.0.0/16"
FROM_THE_VPC = "must be unset with cluster.create: it comes from the created VPC"
INVALID = [
    ("no-name", {"cluster": {"name": None}},
     "cluster.name = None: cluster.create needs the name of the EKS cluster to create"),
    ("no-cidr", {"cluster": {"vpcCidr": None}}, f"cluster.vpcCidr = None: {NEEDS_CIDR}"),
    ("cidr-too-small", {"cluster": {"vpcCidr": "10.30.0.0/21"}}, f"cluster.vpcCidr = '10.30.0.0/21': {NEEDS_CIDR}"),
    ("cidr-too-big", {"cluster": {"vpcCidr": "10.0.0.0/15"}}, f"cluster.vpcCidr = '10.0.0.0/15': {NEEDS_CIDR}"),
    ("host-bits", {"cluster": {"vpcCidr": "10.30.1.0/16"}},
     "cluster.vpcCidr = '10.30.1.0/16': must be a CIDR with zero host bits"),
    ("existing-vpc-too", {"cluster": {"vpcId": "vpc-0a1b2c3d4e5f60718"}},
     f"cluster.vpcId = 'vpc-0a1b2c3d4e5f60718': {FROM_THE_VPC}"),
    ("existing-node-group-too", {"cluster": {"nodeSecurityGroupId": "sg-0a1b2c3d4e5f60718"}},
     f"cluster.nodeSecurityGroupId = 'sg-0a1b2c3d4e5f60718': {FROM_THE_VPC}"),
    ("existing-subnets-too", {"cluster": {"privateSubnetIds": ["subnet-0a1b2c3d4e5f60711"]}},
     f"cluster.privateSubnetIds = ['subnet-0a1b2c3d4e5f60711']: {FROM_THE_VPC}"),
    ("old-version", {"cluster": {"kubernetesVersion": "1.33"}},
     "cluster.kubernetesVersion = '1.33': a created cluster starts on one of 1.34, 1.35"),
    ("four-zones", {"cluster": {"availabilityZones": 4}}, "cluster.availabilityZones = 4: must be between 2 and 3"),
    ("endpoint-open-to-all", {"cluster": {"publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}},
     "cluster.publicAccessCidrs = ['203.0.113.0/24', '0.0.0.0/0']: must not contain 0.0.0.0/0: name the networks "
     "`pulumi up` runs from"),
    ("arm-system-nodes", {"cluster": {"systemNodeInstanceType": "m7g.large"}},
     "cluster.systemNodeInstanceType = 'm7g.large': an x86_64 instance type (the system node group uses the x86_64 "
     "AMI)"),
    ("with-kubeconfig", {"cluster": {"kubeconfig": "~/.kube/config"}},
     "cluster.kubeconfig = '~/.kube/config': must be unset with cluster.create (the stack reaches the cluster it "
     "creates through EKS)"),
    ("admin-not-a-role", {"cluster": {"adminRoleArns": ["arn:aws:iam::123456789012:user/me"]}},
     "cluster.adminRoleArns = ['arn:aws:iam::123456789012:user/me']: every item must be an IAM role ARN (bad item: "
     "'arn:aws:iam::123456789012:user/me')"),
]


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_cluster_settings_name_the_key_the_value_and_what_is_allowed(overrides, expected):
    key = expected.split(" = ")[0]
    lines = [line.strip() for line in problems(overrides).splitlines() if line.strip().startswith(f"- n8n:{key} =")]
    assert f"- n8n:{expected}" in lines


@pytest.mark.parametrize("cidr", ["10.30.0.0/16", "10.30.0.0/18", "10.30.0.0/20", "172.16.16.0/20"])
def test_a_created_vpc_may_be_a_16_to_a_20(cidr):
    assert from_config(example_config({"cluster": {"vpcCidr": cidr}})[0]).cluster.vpc_cidr == cidr


def test_invalid_cluster_settings_stop_the_program_before_any_resource_is_registered():
    recording = Recording()
    with pytest.raises(SettingsError, match=r"n8n:cluster\.vpcCidr"):
        render({"cluster": {"vpcCidr": "10.30.0.0/26"}}, recording=recording)
    assert recording.resources == []


def test_bring_your_own_cluster_stays_the_default():
    for stack in ("dev", "prod"):
        assert from_config(load_stack_config(stack)[0]).cluster.create is False


# --- pure builders ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zones", [2, 3])
@pytest.mark.parametrize("cidr", ["10.30.0.0/16", "172.16.0.0/20"])
def test_the_subnets_lie_in_the_vpc_and_never_overlap(cidr, zones):
    plan = network.subnet_plan(cidr, zones)
    nets = [ipaddress.ip_network(c) for c in (*plan.private, *plan.public)]
    assert len(plan.private) == len(plan.public) == zones
    assert all(n.subnet_of(ipaddress.ip_network(cidr)) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert ipaddress.ip_network(plan.private[0]).num_addresses == 4 * ipaddress.ip_network(plan.public[0]).num_addresses


def test_the_subnet_plan_refuses_an_az_count_it_cannot_lay_out():
    with pytest.raises(ValueError, match="zones must be 2 or 3"):
        network.subnet_plan("10.30.0.0/16", 4)


def test_subnets_are_tagged_for_the_load_balancer_controller():
    assert network.subnet_tags("c", True, {"a": "b"}) == {"a": "b", "kubernetes.io/role/elb": "1",
                                                          "kubernetes.io/cluster/c": "shared"}
    assert "kubernetes.io/role/internal-elb" in network.subnet_tags("c", False, {})


def test_the_endpoint_is_private_unless_sources_are_named():
    assert eks_cluster.vpc_config(["s"], []) == {"subnet_ids": ["s"], "endpoint_private_access": True,
                                                 "endpoint_public_access": False}
    public = eks_cluster.vpc_config(["s"], ["203.0.113.0/24"])
    assert public["endpoint_public_access"] and public["public_access_cidrs"] == ["203.0.113.0/24"]


# --- the component ------------------------------------------------------------------------------------------------

def test_the_cluster_uses_access_entries_encrypted_secrets_and_every_log(prod):
    eks = prod.one(EKS)
    assert eks.inputs["name"] == "n8n-staging" and eks.inputs["version"] == "1.35"
    assert eks.inputs["accessConfig"]["authenticationMode"] == "API"
    assert eks.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert eks.inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert "cluster-key" in eks.options["input_dependencies"]
    assert set(eks.inputs["enabledClusterLogTypes"]) == set(eks_cluster.LOG_TYPES)
    assert eks.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert eks.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert eks.inputs["bootstrapSelfManagedAddons"] is False
    assert eks.options["protect"] and eks.inputs["deletionProtection"] is True
    assert "cluster-control-plane" in eks.options["depends_on"]
    logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane")
    assert logs.inputs["name"] == "/aws/eks/n8n-staging/cluster" and "cluster-key" in logs.options[
        "input_dependencies"]


def test_the_oidc_provider_trusts_sts_and_the_ebs_driver_uses_irsa(prod):
    oidc = prod.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"] and oidc.inputs["url"].startswith("https://oidc.eks")
    role = by_name(prod)["cluster-ebs-csi-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert "cluster-oidc" in role.options["input_dependencies"] and ":oidc-provider/" in trust["Principal"]["Federated"]
    assert "system:serviceaccount:kube-system:ebs-csi-controller-sa" in trust["Condition"]["StringEquals"].values()
    ebs = by_name(prod)["cluster-aws-ebs-csi-driver"]
    assert "cluster-ebs-csi-role" in ebs.options["input_dependencies"]


def test_the_add_ons_are_managed_and_the_cni_enforces_network_policies(prod):
    addons = {r.inputs["addonName"]: r for r in prod.find(ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver"}
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    nodes = prod.one("aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes")
    waits = set(nodes.options["depends_on"])
    assert {"cluster-vpc-cni", "cluster-kube-proxy", "cluster-s3", "cluster-ecr-dkr"} <= waits
    assert "cluster-system-nodes" in addons["coredns"].options["depends_on"]
    assert "cluster-system-nodes" in addons["aws-ebs-csi-driver"].options["depends_on"]


def test_the_system_nodes_are_on_demand_and_hardened_like_the_worker_pool(prod):
    nodes = prod.one("aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes")
    assert nodes.inputs["capacityType"] == "ON_DEMAND" and nodes.inputs["instanceTypes"] == ["m6i.large"]
    assert nodes.inputs["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 4}
    assert not nodes.inputs.get("taints")
    template = prod.one("aws:ec2/launchTemplate:LaunchTemplate", "cluster-system-nodes")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


@pytest.mark.parametrize(("env", "nats"), [("prod", 3), ("dev", 1)])
def test_a_nat_gateway_per_az_in_prod_one_in_dev(prod, dev, env, nats):
    rec = prod if env == "prod" else dev
    assert len(rec.find("aws:ec2/natGateway:NatGateway")) == nats
    egress = [r for r in rec.find("aws:ec2/route:Route") if r.name.endswith("-egress")]
    used = {n for r in egress for n in r.options["input_dependencies"] if n.startswith("cluster-nat-")}
    assert len(egress) == 3 and len(used) == nats


def test_the_vpc_has_three_zones_endpoints_and_flow_logs(prod):
    subnets = prod.find("aws:ec2/subnet:Subnet")
    assert {s.inputs["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)
    endpoints = {r.inputs["serviceName"]: r.inputs["vpcEndpointType"]
                 for r in prod.find("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints == {"com.amazonaws.eu-west-1.s3": "Gateway", **{
        f"com.amazonaws.eu-west-1.{s}": "Interface" for s in ("ecr.api", "ecr.dkr", "sts", "logs")}}
    assert prod.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"
    assert prod.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs.get("ingress") in (None, [])


def test_the_default_storage_class_is_encrypted_gp3_with_the_cluster_key(prod):
    sc = prod.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.inputs["metadata"]["name"] == "gp3"
    assert sc.inputs["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION] == "true"
    assert sc.inputs["parameters"]["type"] == "gp3" and sc.inputs["parameters"]["encrypted"] == "true"
    assert "cluster-key" in sc.options["input_dependencies"]
    assert sc.options["provider"] == "kubernetes"


# --- the platform on top --------------------------------------------------------------------------------------------

def test_the_whole_platform_renders_on_the_created_cluster(prod):
    types = {r.type for r in prod.resources}
    assert {"n8n:index:Cluster", "n8n:index:N8nPlatform", "n8n:index:RdsDatabase", "n8n:index:ElastiCacheRedis",
            "n8n:index:WorkerPool", "n8n:index:N8nApp", "n8n:index:Edge"} <= types
    named = by_name(prod)
    # the data layer and the worker pool sit in the created subnets, admitting the created nodes' security group
    assert {"cluster-private-0", "cluster-private-1", "cluster-private-2"} <= set(
        named["n8n-db-subnets"].options["input_dependencies"])
    assert "cluster-eks" in named["n8n-db-from-nodes"].options["input_dependencies"]
    # the spot node group joins a cluster that is up: it waits for the control plane, system nodes and the CNI
    assert {"cluster-private-0", "cluster-eks", "cluster-system-nodes", "cluster-vpc-cni"} <= set(
        named["n8n-workers-nodes"].options["input_dependencies"])
    assert "cluster-vpc" in named["n8n-redis-sg"].options["input_dependencies"]
    # every Kubernetes object goes through the provider that waits for the system nodes and the add-ons
    provider = prod.one("pulumi:providers:kubernetes")
    assert {"cluster-eks", "cluster-system-nodes", "cluster-coredns"} <= set(provider.options["input_dependencies"])
    assert prod.exports["clusterName"] == "n8n-staging"
    assert prod.exports["vpcId"].startswith("vpc-") and len(prod.exports["privateSubnetIds"]) == 3
    assert prod.exports["nodeSecurityGroupId"].startswith("sg-")
    assert prod.exports["oidcIssuer"].startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")


def test_the_manifests_on_the_created_cluster_pass_the_schema_gate(prod):
    assert gates.schema_errors(prod.manifests()) == []


@pytest.mark.xdist_group("checkov")
def test_the_created_cluster_passes_checkovs_terraform_rules(prod):
    result = tfplan.scan(prod)
    assert result.failed == [], result.failed
    cluster_checks = [r for r in tfplan.export(prod) if r.pulumi_name.startswith("cluster-")]
    assert len(cluster_checks) > 50
    skipped = {(check, address) for check, address, _ in result.skipped}
    assert ("CKV_AWS_39", "aws_eks_cluster.cluster_eks") in skipped  # the named public sources, justified
    assert all(reason and "\n" not in reason for _, _, reason in result.skipped)


@pytest.mark.xdist_group("checkov")
def test_a_private_only_cluster_needs_no_skip(dev):
    assert dev.one(EKS).inputs["vpcConfig"]["endpointPublicAccess"] is True  # dev keeps the example's sources
    private = render({"environment": "dev", "protect": False, "edge": {"waf": False},
                      "cluster": {"publicAccessCidrs": []}})
    assert private.one(EKS).inputs["vpcConfig"]["endpointPublicAccess"] is False
    result = tfplan.scan(private)
    assert result.failed == []
    assert not [s for s in result.skipped if s[0] == "CKV_AWS_39"]


# --- misuse -------------------------------------------------------------------------------------------------------

def cluster_args(**change):
    args = dict(cluster_name="c", region="eu-west-1", partition="aws", vpc_cidr="10.30.0.0/16", availability_zones=3,
                nat_per_az=False, kubernetes_version="1.35", system_node_instance_type="m6i.large", system_nodes=2,
                public_access_cidrs=[], admin_role_arns=[], protect=False, tags={})
    args.update(change)
    return args


@pytest.mark.parametrize(("change", "message"), [
    ({"availability_zones": 4}, r"Cluster: argument 'availability_zones' = 4.*2 or 3"),
    ({"vpc_cidr": "10.30.0.1/16"}, r"Cluster: argument 'vpc_cidr'"),
    ({"public_access_cidrs": pulumi.Output.from_input(["203.0.113.0/24"])}, r"Cluster: argument 'public_access_cidrs'"),
    ({"admin_role_arns": ["me"]}, r"Cluster: argument 'admin_role_arns\[0\]'"),
    ({"clustername": "typo"}, r"Cluster: unexpected argument 'clustername'"),
])
def test_the_cluster_refuses_misuse_before_registering_anything(change, message):
    recording = Recording()
    with pytest.raises((TypeError, ValueError), match=message):
        run(lambda: Cluster("c", cluster_args(**change)), recording=recording)
    assert [r for r in recording.resources if r.type != "pulumi:pulumi:Stack"] == \
        [r for r in recording.resources if r.type == "n8n:index:Cluster"]


def test_the_platform_needs_the_created_network_exactly_with_cluster_create():
    from n8n_platform import program
    from n8n_platform.irsa import OidcProvider
    from n8n_platform.platform import N8nPlatform, PlatformArgs

    raw, secrets = example_config()

    def without_network():
        s = from_config(raw)
        created = program.create_cluster(s)
        oidc = OidcProvider(arn=created.oidc_provider_arn, issuer=created.oidc_issuer)
        N8nPlatform("n8n", PlatformArgs(settings=s, oidc=oidc))

    with pytest.raises(ValueError, match="argument 'network'"):
        run(without_network, stack="example", config=raw, secret_keys=secrets, invokes=credentials_of_stack(raw))


def test_the_example_folder_is_a_project_on_this_library():
    assert "../../components" in (EXAMPLE / "requirements.txt").read_text().split()
    assert Path(EXAMPLE / "Pulumi.example.yaml").exists()
