"""Cluster add-ons the platform relies on, each optional (turn one off when the cluster already runs it).

========================  ==========================  ==========  ==============================================
add-on                    chart (repository)          version     installed as
========================  ==========================  ==========  ==============================================
cert-manager              cert-manager (jetstack)     v1.20.2     ``helm.v3.Release``: its CRDs must exist and the
                                                                  webhook must answer (startupapicheck post-install
                                                                  hook) before any ClusterIssuer is applied
KEDA                      keda (kedacore)             2.20.2      ``helm.v4.Chart``: no hooks; the operator makes
                                                                  its own webhook certificates
AWS Load Balancer Ctrl.   aws-load-balancer-controller 3.5.0      ``helm.v3.Release``: the chart's webhook cert is
                          (aws eks-charts)                        made with ``genCA``; rendered by a v4 Chart it
                                                                  would be regenerated (a diff) on every preview
Zalando postgres-operator postgres-operator (zalando) 2.0.1       ``helm.v4.Chart`` (engine ``patroni`` only)
Prometheus Operator CRDs  prometheus-operator-crds    33.0.1      ``helm.v4.Chart`` (CRDs only)
                          (prometheus-community)
Envoy Gateway             gateway-helm (OCI,          v1.9.1      ``helm.v3.Release`` (edge controller ``gateway``):
                          docker.io/envoyproxy)                   its certgen hook Job must run; brings the Gateway
                                                                  API CRDs (v1.6.1) it implements
========================  ==========================  ==========  ==============================================

Versions were current releases when written (2026-11), seen in each project's release notes/ renovate PRs; bump them
deliberately, one at a time (CRD changes ride along).

cert-manager issuers:

- :data:`names.PUBLIC_ISSUER` - ACME (Let's Encrypt staging or production) solving HTTP-01 through the Gateway API
  (an ``HTTPRoute`` attached to the edge Gateway), since ingress-nginx is retired and the portable edge is Gateway
  API; created only when an ACME e-mail is configured (edge controller ``gateway``). cert-manager's Gateway API
  support is switched on in its values.
- :data:`names.INTERNAL_CA_ISSUER` - an internal CA for in-cluster TLS (Redis, Patroni): a self-signed ClusterIssuer
  signs a CA Certificate kept in cert-manager's namespace, and a CA ClusterIssuer signs with it. Certificates it
  issues carry ``ca.crt``, which clients mount to verify servers.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as kubernetes

from . import irsa, k8s, names
from .arguments import checked, choice, dns_label, email, flag, member, partition, plain, region, structured, text_input
from .edge.gateway import ENVOY_GATEWAY_VERSION, PROXY_NAMESPACE
from .edge.spec import AcmeServer, AcmeServerArg


@dataclass(frozen=True)
class Chart:
    """A pinned Helm chart."""

    name: str
    repo: str
    version: str
    namespace: str


CERT_MANAGER = Chart("cert-manager", "https://charts.jetstack.io", "v1.20.2", "cert-manager")
KEDA = Chart("keda", "https://kedacore.github.io/charts", "2.20.2", "keda")
LOAD_BALANCER_CONTROLLER = Chart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0",
                                 "kube-system")
POSTGRES_OPERATOR = Chart("postgres-operator",
                          "https://opensource.zalando.com/postgres-operator/charts/postgres-operator",
                          "2.0.1", "postgres-operator")
"""Zalando's chart version follows the operator's; 2.0.1 is the operator the `postgresql` CR is written for."""
ENVOY_GATEWAY = Chart("gateway-helm", "oci://docker.io/envoyproxy", ENVOY_GATEWAY_VERSION, PROXY_NAMESPACE)
"""Envoy Gateway, the implementation of the portable edge (``edge.gateway.ENVOY_GATEWAY_VERSION``); its chart also
installs the Gateway API CRDs it builds on."""
PROMETHEUS_CRDS = Chart("prometheus-operator-crds", "https://prometheus-community.github.io/helm-charts", "33.0.1",
                        "kube-system")

LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
SELF_SIGNED_ISSUER = "n8n-selfsigned"
INTERNAL_CA_SECRET = "n8n-internal-ca"
ACME_SERVERS = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
CERT_MANAGER_API = "cert-manager.io/v1"


ADDON_DEFAULTS: dict[str, Any] = {
    "cert_manager": False, "keda": False, "aws_load_balancer_controller": False, "postgres_operator": False,
    "envoy_gateway": False, "prometheus_operator_crds": False, "acme_server": AcmeServer.STAGING, "acme_email": None,
    "gateway_name": "n8n", "gateway_namespace": "n8n", "cluster_name": None, "region": None, "vpc_id": None,
    "partition": "aws", "oidc": None, "watched_namespace": "n8n"}
"""What ClusterAddons assumes for an argument left out."""


def enabled_addons(settings: Any) -> dict[str, bool]:
    """Which add-ons to install for these settings (switch on AND needed by the chosen architecture)."""
    a = settings.addons
    return {
        "cert_manager": a.cert_manager,
        "keda": a.keda and settings.autoscaling.keda,
        "aws_load_balancer_controller": a.aws_load_balancer_controller and settings.edge.controller == "alb"
        and settings.on_eks,
        "envoy_gateway": a.envoy_gateway and settings.edge.controller == "gateway",
        "postgres_operator": a.postgres_operator and settings.database.engine == "patroni",
        "prometheus_operator_crds": a.prometheus_operator_crds and settings.observability.enabled,
    }


# --- cert-manager ---------------------------------------------------------------------------------------------------


def cert_manager_values() -> dict[str, Any]:
    """cert-manager chart values: CRDs installed (and kept on uninstall), Gateway API HTTP-01 solver enabled."""
    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration",
                   "enableGatewayAPI": True},
        "webhook": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
    }


def acme_issuer(server: Literal["staging", "production"], email: str, gateway_name: str,
                gateway_namespace: str) -> dict[str, Any]:
    """Public ACME ClusterIssuer solving HTTP-01 with an HTTPRoute attached to the edge Gateway."""
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "ClusterIssuer",
        "metadata": k8s.metadata(names.PUBLIC_ISSUER, None, "certificates"),
        "spec": {"acme": {
            "server": ACME_SERVERS[server],
            "email": email,
            "privateKeySecretRef": {"name": f"{names.PUBLIC_ISSUER}-{server}-account"},
            "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{
                "group": "gateway.networking.k8s.io", "kind": "Gateway",
                "name": gateway_name, "namespace": gateway_namespace}]}}}],
        }},
    }


def internal_ca_chain(cert_manager_namespace: str) -> list[dict[str, Any]]:
    """Self-signed ClusterIssuer -> CA Certificate (in cert-manager's namespace) -> CA ClusterIssuer, in order."""
    return [
        {"apiVersion": CERT_MANAGER_API, "kind": "ClusterIssuer",
         "metadata": k8s.metadata(SELF_SIGNED_ISSUER, None, "certificates"), "spec": {"selfSigned": {}}},
        {"apiVersion": CERT_MANAGER_API, "kind": "Certificate",
         "metadata": k8s.metadata(INTERNAL_CA_SECRET, cert_manager_namespace, "certificates"),
         "spec": {
             "isCA": True,
             "commonName": "n8n internal CA",
             "secretName": INTERNAL_CA_SECRET,
             "duration": "87600h",
             "renewBefore": "720h",
             "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never"},
             "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELF_SIGNED_ISSUER},
         }},
        {"apiVersion": CERT_MANAGER_API, "kind": "ClusterIssuer",
         "metadata": k8s.metadata(names.INTERNAL_CA_ISSUER, None, "certificates"),
         "spec": {"ca": {"secretName": INTERNAL_CA_SECRET}}},
    ]


# --- AWS Load Balancer Controller -----------------------------------------------------------------------------------


CHECKOV_SKIPS = {
    ("aws:iam/rolePolicy:RolePolicy#-lbc-policy", "CKV_AWS_290"): "the controller creates the load balancers, "
    "target groups and security groups it then changes: their ARNs exist only later; mutations need our cluster tag",
    ("aws:iam/rolePolicy:RolePolicy#-lbc-policy", "CKV_AWS_355"): "Describe* and tag-conditioned creates cannot "
    "name resources that do not exist yet (see load_balancer_controller_policy)",
}
"""checkov Terraform checks the controller's IAM policy fails by design, with why (tools/ci/tfplan.py applies them)."""


def load_balancer_controller_policy(cluster_name: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """Least-privilege IAM policy of the AWS Load Balancer Controller (ALB/NLB + WAFv2 + ACM).

    Derived from the upstream ``iam_policy.json`` with these cuts: no classic WAF (``waf-regional``), Shield or
    Cognito actions (the chart runs with ``enableWaf``/``enableShield`` off and we use no Cognito auth); every
    mutation of load balancers, target groups and security groups is limited to resources tagged
    ``elbv2.k8s.aws/cluster = <this cluster>`` (upstream accepts any cluster's tag) in this region. Read-only
    ``Describe*`` calls cannot be scoped by resource in IAM and stay on ``*``.
    """
    elb = f"arn:{partition}:elasticloadbalancing:{region}:*"
    ec2 = f"arn:{partition}:ec2:{region}:*"
    ours = {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": cluster_name}}
    tagging_ours = {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name}}
    lb_arns = [f"{elb}:loadbalancer/app/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:targetgroup/*/*"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        {"Sid": "Describe", "Effect": "Allow", "Resource": "*", "Action": [
            "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:DescribeRouteTables",
            "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeSSLPolicies",
            "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTrustStores",
            "elasticloadbalancing:DescribeCapacityReservation",
            "acm:ListCertificates", "acm:DescribeCertificate",
            "wafv2:GetWebACL", "wafv2:GetWebACLForResource"]},
        {"Sid": "WafV2Association", "Effect": "Allow", "Resource": "*",
         "Action": ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "elasticloadbalancing:SetWebAcl"]},
        {"Sid": "CreateSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup", "Resource": "*"},
        {"Sid": "TagNewSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": f"{ec2}:security-group/*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup",
                                        "aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name}}},
        {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow", "Resource": f"{ec2}:security-group/*",
         "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"], "Condition": ours},
        {"Sid": "NodeSecurityGroupRules", "Effect": "Allow", "Resource": f"{ec2}:security-group/*",
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
         "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/" + cluster_name: "owned"}}},
        {"Sid": "CreateTaggedLoadBalancers", "Effect": "Allow", "Resource": "*",
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
         "Condition": tagging_ours},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags", "Resource": lb_arns,
         "Condition": {"StringEquals": {"aws:RequestTag/elbv2.k8s.aws/cluster": cluster_name,
                                        "elasticloadbalancing:CreateAction": ["CreateTargetGroup",
                                                                              "CreateLoadBalancer"]}}},
        {"Sid": "ManageOwnLoadBalancers", "Effect": "Allow", "Resource": lb_arns, "Condition": ours, "Action": [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
            "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools"]},
        {"Sid": "Targets", "Effect": "Allow", "Resource": f"{elb}:targetgroup/*/*",
         "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]},
        {"Sid": "ListenersAndRules", "Effect": "Allow", "Resource": [
            f"{elb}:loadbalancer/app/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:listener/*/*/*/*",
            f"{elb}:listener-rule/*/*/*/*/*"], "Action": [
            "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:ModifyRule", "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags"]},
    ]}


def load_balancer_controller_values(cluster_name: str, region: str, vpc_id: str,
                                    role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Chart values: IRSA service account, explicit region/VPC (no IMDS), classic WAF and Shield off."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {"create": True, "name": LBC_SERVICE_ACCOUNT,
                           "annotations": irsa.service_account_annotations(role_arn)},
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": True,
        "enableServiceMutatorWebhook": False,
        "podDisruptionBudget": {"maxUnavailable": 1},
    }


def keda_values() -> dict[str, Any]:
    """KEDA chart values: two operator replicas (leader election: one active, one standby) under a PDB keeping one.

    A PDB of ``minAvailable: 1`` over the chart's default single replica would allow zero disruptions, so every
    node drain (managed node group upgrade, spot rebalance, cluster autoscaler scale-down) would hang on it.
    """
    return {"operator": {"replicaCount": 2}, "podDisruptionBudget": {"operator": {"minAvailable": 1}}}


def postgres_operator_values(watched_namespace: str) -> dict[str, Any]:
    """Zalando operator values: watch only the n8n namespace; Spilo pods non-root without privilege escalation,
    spread over zones by *preferred* anti-affinity on ``topology.kubernetes.io/zone`` (members beyond the number of
    zones still schedule instead of staying Pending). ``cluster_labels``/``cluster_name_label`` keep their
    defaults: namespace.spilo_selector relies on them."""
    return {
        "configKubernetes": {
            "watched_namespace": watched_namespace,
            "enable_pod_antiaffinity": True,
            "pod_antiaffinity_topology_key": "topology.kubernetes.io/zone",
            # preferred, not required: with more members than zones the extra members still schedule (the CR's
            # topology spread keeps them even) instead of staying Pending
            "pod_antiaffinity_preferred_during_scheduling": True,
            "enable_pod_disruption_budget": True,
            "spilo_runasuser": 101,
            "spilo_runasgroup": 103,
            "spilo_fsgroup": 103,
            "spilo_privileged": False,
            "spilo_allow_privilege_escalation": False,
        },
    }


class ClusterAddonsArgs(TypedDict):
    """Which add-ons to install and what they need to know. Every switch defaults to off, so name what you want."""

    cert_manager: NotRequired[bool]
    """Install cert-manager with the internal CA issuer (and the public ACME issuer when ``acme_email`` is set)."""
    keda: NotRequired[bool]
    """Install KEDA."""
    aws_load_balancer_controller: NotRequired[bool]
    """Install the AWS Load Balancer Controller (needs ``cluster_name``, ``region``, ``vpc_id``, ``oidc``)."""
    postgres_operator: NotRequired[bool]
    """Install the Zalando postgres-operator (database engine ``patroni``)."""
    envoy_gateway: NotRequired[bool]
    """Install Envoy Gateway with the Gateway API CRDs (edge controller ``gateway``)."""
    prometheus_operator_crds: NotRequired[bool]
    """Install the Prometheus Operator CRDs (ServiceMonitor, PrometheusRule)."""
    acme_server: NotRequired[AcmeServerArg]
    """Let's Encrypt server of the public issuer (default staging)."""
    acme_email: NotRequired[str]
    """ACME account e-mail; without it, no public issuer."""
    gateway_name: NotRequired[str]
    """Gateway whose listeners serve HTTP-01 challenges (edge controller ``gateway``; default ``n8n``)."""
    gateway_namespace: NotRequired[str]
    """Namespace of that Gateway (default ``n8n``)."""
    cluster_name: NotRequired[str]
    """EKS cluster name (load balancer controller)."""
    region: NotRequired[str]
    """AWS region (load balancer controller)."""
    vpc_id: NotRequired[str]
    """VPC of the cluster (load balancer controller)."""
    partition: NotRequired[str]
    """AWS partition, for ARNs in the controller's policy (default ``aws``)."""
    oidc: NotRequired[irsa.OidcProvider]
    """The cluster's IAM OIDC provider (IRSA role of the controller)."""
    watched_namespace: NotRequired[str]
    """Namespace the postgres-operator watches (the n8n namespace; default ``n8n``)."""


class ClusterAddons(pulumi.ComponentResource):
    """cert-manager (+ issuers), KEDA, AWS Load Balancer Controller, Zalando postgres-operator, Prometheus CRDs.
    Needs first: the cluster (and its OIDC provider for the load balancer controller). Keeps nothing on delete.

    Python attributes for ``depends_on`` (None when not installed): ``cert_manager``, ``internal_ca_issuer`` (the
    ClusterIssuer ``n8n-internal-ca``; depend on it before Certificates), ``public_issuer``, ``keda`` (before
    ScaledObjects), ``load_balancer_controller``, ``postgres_operator`` (before ``postgresql`` resources),
    ``envoy_gateway`` (before Gateways, HTTPRoutes and its policies), ``prometheus_crds`` (before
    ServiceMonitors/PrometheusRules)."""

    internal_ca_issuer_name: pulumi.Output[str]
    """Name of the internal CA ClusterIssuer (``n8n-internal-ca``; Redis and Patroni certificates), when
    cert-manager is installed."""
    load_balancer_controller_role_arn: pulumi.Output[str]
    """IAM role of the load balancer controller, when installed."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:ClusterAddons", name, None, opts)
        checked("ClusterAddons", args, ClusterAddonsArgs, {
            **{switch: flag for switch in ("cert_manager", "keda", "aws_load_balancer_controller", "postgres_operator",
                                           "envoy_gateway", "prometheus_operator_crds")},
            "acme_server": choice(AcmeServer), "acme_email": email, "gateway_name": dns_label,
            "gateway_namespace": dns_label, "watched_namespace": dns_label, "cluster_name": text_input,
            "region": region, "vpc_id": text_input, "partition": partition})
        args = {**ADDON_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}  # type: ignore[assignment]
        for switch in ("cert_manager", "keda", "aws_load_balancer_controller", "postgres_operator", "envoy_gateway",
                       "prometheus_operator_crds", "watched_namespace", "partition"):
            plain("ClusterAddons", switch, args[switch])
        args["acme_server"] = member("ClusterAddons", "acme_server", args["acme_server"], AcmeServer)
        if args.get("oidc") is not None:
            args["oidc"] = structured("ClusterAddons", "oidc", irsa.OidcProvider, args["oidc"])

        child = pulumi.ResourceOptions(parent=self)
        self.cert_manager = self.internal_ca_issuer = self.public_issuer = None
        self.keda = self.load_balancer_controller = self.postgres_operator = self.prometheus_crds = None
        self.envoy_gateway = None
        self.load_balancer_controller_role_arn = self.internal_ca_issuer_name = None

        def release(chart: Chart, values: dict[str, Any], **kw: Any) -> Any:
            return kubernetes.helm.v3.Release(
                f"{name}-{chart.name}", name=chart.name, chart=chart.name, version=chart.version,
                namespace=chart.namespace, repository_opts={"repo": chart.repo}, values=values,
                atomic=True, cleanup_on_fail=True, max_history=5, timeout=600, opts=child, **kw)

        def chart_v4(chart: Chart, values: dict[str, Any], depends: list[Any]) -> Any:
            return kubernetes.helm.v4.Chart(
                f"{name}-{chart.name}", chart=chart.name, version=chart.version, namespace=chart.namespace,
                repository_opts={"repo": chart.repo}, values=values,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends))

        def namespace(ns: str) -> Any:
            return k8s.apply(name, {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": k8s.metadata(ns, None, "addons")}, child)

        if args["prometheus_operator_crds"]:
            self.prometheus_crds = chart_v4(PROMETHEUS_CRDS, {}, [])

        if args["cert_manager"]:
            self.cert_manager = release(CERT_MANAGER, cert_manager_values(), create_namespace=True,
                                        wait_for_jobs=True)
            after = pulumi.ResourceOptions(parent=self, depends_on=[self.cert_manager])
            issued = []
            for manifest in internal_ca_chain(CERT_MANAGER.namespace):
                issued.append(k8s.apply(name, manifest, pulumi.ResourceOptions(
                    parent=self, depends_on=[self.cert_manager, *issued[-1:]])))
            self.internal_ca_issuer = issued[-1]
            self.internal_ca_issuer_name = pulumi.Output.from_input(names.INTERNAL_CA_ISSUER)
            if args["acme_email"]:
                self.public_issuer = k8s.apply(name, acme_issuer(
                    args["acme_server"], args["acme_email"], args["gateway_name"], args["gateway_namespace"]), after)

        if args["keda"]:
            self.keda = chart_v4(KEDA, keda_values(), [namespace(KEDA.namespace)])

        if args["aws_load_balancer_controller"]:
            missing = [k for k in ("cluster_name", "region", "vpc_id", "oidc") if not args.get(k)]
            if missing:
                raise ValueError(f"the AWS Load Balancer Controller needs {', '.join(missing)} (an EKS cluster)")
            policy = load_balancer_controller_policy(args["cluster_name"], args["region"], args["partition"])
            role = irsa.irsa_role(f"{name}-lbc", oidc=args["oidc"], namespace=LOAD_BALANCER_CONTROLLER.namespace,
                                  service_account=LBC_SERVICE_ACCOUNT, policy=json.dumps(policy),
                                  description="AWS Load Balancer Controller (n8n platform)", opts=child)
            self.load_balancer_controller_role_arn = role.arn
            self.load_balancer_controller = release(LOAD_BALANCER_CONTROLLER, load_balancer_controller_values(
                args["cluster_name"], args["region"], args["vpc_id"], role.arn))

        if args.get("envoy_gateway"):
            # An OCI chart; a Release so that its certgen hook Job runs before the controller starts.
            self.envoy_gateway = kubernetes.helm.v3.Release(
                f"{name}-envoy-gateway", name="eg", chart=f"{ENVOY_GATEWAY.repo}/{ENVOY_GATEWAY.name}",
                version=ENVOY_GATEWAY.version, namespace=ENVOY_GATEWAY.namespace, create_namespace=True,
                atomic=True, cleanup_on_fail=True, max_history=5, timeout=600, opts=child)

        if args["postgres_operator"]:
            self.postgres_operator = chart_v4(POSTGRES_OPERATOR, postgres_operator_values(args["watched_namespace"]),
                                              [namespace(POSTGRES_OPERATOR.namespace)])

        self.register_outputs({"load_balancer_controller_role_arn": self.load_balancer_controller_role_arn,
                               "internal_ca_issuer_name": self.internal_ca_issuer_name})
