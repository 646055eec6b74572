"""addons.py: issuers, the load balancer controller's policy and values, and which add-ons the component installs."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from n8n_platform import addons, irsa, names
from n8n_platform.addons import ClusterAddons, ClusterAddonsArgs
from tests.harness import run
from tools.ci import gates

OIDC = irsa.OidcProvider(arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                         issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/ABC")


def args(**over) -> ClusterAddonsArgs:
    base = ClusterAddonsArgs(cert_manager=True, keda=True, aws_load_balancer_controller=True, postgres_operator=True,
                             prometheus_operator_crds=True, acme_server="staging", acme_email="ops@example.com",
                             gateway_name="n8n", gateway_namespace="n8n", cluster_name="prod-eks",
                             region="eu-west-1", vpc_id="vpc-0a1b2c3d", partition="aws", oidc=OIDC,
                             watched_namespace="n8n")
    base.update(over)
    return base


def test_acme_issuer_uses_the_chosen_server_and_gateway_http01():
    issuer = addons.acme_issuer("staging", "ops@example.com", "edge", "n8n")
    assert issuer["metadata"]["name"] == names.PUBLIC_ISSUER
    acme = issuer["spec"]["acme"]
    assert "acme-staging-v02" in acme["server"]
    assert "acme-staging" not in addons.acme_issuer("production", "a@b.c", "edge", "n8n")["spec"]["acme"]["server"]
    [solver] = acme["solvers"]
    assert solver["http01"]["gatewayHTTPRoute"]["parentRefs"][0]["name"] == "edge"
    assert gates.schema_errors([issuer]) == []


def test_internal_ca_chain_order_and_names():
    chain = addons.internal_ca_chain("cert-manager")
    assert [m["kind"] for m in chain] == ["ClusterIssuer", "Certificate", "ClusterIssuer"]
    selfsigned, ca_cert, ca_issuer = chain
    assert selfsigned["spec"] == {"selfSigned": {}}
    assert ca_cert["metadata"]["namespace"] == "cert-manager"
    assert ca_cert["spec"]["isCA"] is True
    assert ca_cert["spec"]["issuerRef"]["name"] == selfsigned["metadata"]["name"]
    assert ca_issuer["metadata"]["name"] == names.INTERNAL_CA_ISSUER
    assert ca_issuer["spec"]["ca"]["secretName"] == ca_cert["spec"]["secretName"]
    assert gates.schema_errors(chain) == []


def test_lbc_policy_scopes_mutations_to_this_cluster():
    policy = addons.load_balancer_controller_policy("prod-eks", "eu-west-1")
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                         else s["Action"])}
    assert not any(a.startswith(("waf-regional:", "shield:", "cognito-idp:")) for a in actions)
    assert {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:RegisterTargets",
            "wafv2:AssociateWebACL", "acm:DescribeCertificate"} <= actions
    assert not any(a.endswith(":*") for a in actions)
    for s in policy["Statement"]:
        mutating = [a for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
                    if a.split(":")[1].startswith(("Delete", "Modify", "Set", "Revoke"))
                    and a != "elasticloadbalancing:SetWebAcl"]
        if mutating and s["Sid"] != "ListenersAndRules":
            assert "Condition" in s, f"{s['Sid']} mutates without a tag condition"
    text = json.dumps(policy)
    assert "prod-eks" in text and ":eu-west-1:" in text


def test_lbc_values_use_irsa_and_turn_off_classic_waf_and_shield():
    values = addons.load_balancer_controller_values("prod-eks", "eu-west-1", "vpc-1", "arn:role")
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == "arn:role"
    assert values["enableWaf"] is False and values["enableShield"] is False and values["enableWafv2"] is True
    assert values["vpcId"] == "vpc-1" and values["region"] == "eu-west-1"


def test_postgres_operator_spreads_spilo_over_zones_as_non_root_and_keeps_the_labels_policies_select():
    from n8n_platform.database import patroni

    config = addons.postgres_operator_values("n8n")["configKubernetes"]
    assert config["watched_namespace"] == "n8n"
    assert config["enable_pod_antiaffinity"] is True
    assert config["pod_antiaffinity_topology_key"] == "topology.kubernetes.io/zone"
    assert config["pod_antiaffinity_preferred_during_scheduling"] is True
    assert config["spilo_privileged"] is False and config["spilo_allow_privilege_escalation"] is False
    assert (config["spilo_runasuser"], config["spilo_runasgroup"]) == (patroni.SPILO_UID, patroni.SPILO_GID)
    # the operator's default pod labels (application: spilo, cluster-name) are what namespace.spilo_selector matches
    assert "cluster_labels" not in config and "cluster_name_label" not in config
    rec = run(lambda: ClusterAddons("addons", args()))
    [chart] = [c for c in rec.find("kubernetes:helm.sh/v4:Chart") if c.inputs["chart"] == "postgres-operator"]
    assert chart.inputs["values"]["configKubernetes"] == config


def test_enabled_addons_follow_the_architecture():
    s = SimpleNamespace(
        addons=SimpleNamespace(cert_manager=True, keda=True, aws_load_balancer_controller=True,
                               postgres_operator=True, prometheus_operator_crds=True, envoy_gateway=True),
        autoscaling=SimpleNamespace(keda=True), edge=SimpleNamespace(controller="alb"), on_eks=True,
        database=SimpleNamespace(engine="rds"), observability=SimpleNamespace(enabled=True))
    assert addons.enabled_addons(s) == {"cert_manager": True, "keda": True, "aws_load_balancer_controller": True,
                                        "postgres_operator": False, "prometheus_operator_crds": True,
                                        "envoy_gateway": False}
    s.database.engine, s.edge.controller, s.addons.keda = "patroni", "gateway", False
    got = addons.enabled_addons(s)
    assert got["postgres_operator"] and not got["aws_load_balancer_controller"] and not got["keda"]
    assert got["envoy_gateway"]


def test_envoy_gateway_is_the_pinned_release_the_gateway_edge_is_validated_against():
    from n8n_platform.edge.gateway import ENVOY_GATEWAY_VERSION

    rec = run(lambda: ClusterAddons("addons", {**args(), "envoy_gateway": True}))
    (release,) = [r for r in rec.find("kubernetes:helm.sh/v3:Release") if "envoyproxy" in r.inputs["chart"]]
    assert release.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    assert release.inputs["version"] == ENVOY_GATEWAY_VERSION == addons.ENVOY_GATEWAY.version
    assert release.inputs["namespace"] == "envoy-gateway-system"


def test_component_installs_everything_pinned_with_crs_after_their_release():
    rec = run(lambda: ClusterAddons("addons", args()))
    releases = {r.inputs["chart"]: r for r in rec.find("kubernetes:helm.sh/v3:Release")}
    charts = {r.inputs["chart"]: r for r in rec.find("kubernetes:helm.sh/v4:Chart")}
    assert set(releases) == {"cert-manager", "aws-load-balancer-controller"}
    assert set(charts) == {"keda", "postgres-operator", "prometheus-operator-crds"}
    for r in [*releases.values(), *charts.values()]:
        assert re.fullmatch(r"v?[0-9]+\.[0-9]+\.[0-9]+", r.inputs["version"]), r.inputs["version"]
        assert r.inputs["repositoryOpts"]["repo"].startswith("https://")
    cert_manager = releases["cert-manager"]
    issuers = rec.find("kubernetes:cert-manager.io/v1:ClusterIssuer")
    assert {i.inputs["metadata"]["name"] for i in issuers} == {
        names.PUBLIC_ISSUER, names.INTERNAL_CA_ISSUER, addons.SELF_SIGNED_ISSUER}
    for cr in [*issuers, rec.one("kubernetes:cert-manager.io/v1:Certificate")]:
        assert cert_manager.name in cr.options["depends_on"]
    role = rec.one("aws:iam/role:Role")
    subject = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:aws-load-balancer-controller" in subject.values()
    assert gates.schema_errors(rec.manifests()) == []


def test_disabled_addons_are_skipped():
    rec = run(lambda: ClusterAddons("addons", args(
        cert_manager=False, keda=False, aws_load_balancer_controller=False, postgres_operator=False,
        prometheus_operator_crds=False)))
    assert [r.type for r in rec.resources] == ["n8n:index:ClusterAddons"]


def test_no_public_issuer_without_acme_email_and_lbc_needs_eks():
    rec = run(lambda: ClusterAddons("addons", args(acme_email=None, keda=False, aws_load_balancer_controller=False,
                                                   postgres_operator=False, prometheus_operator_crds=False)))
    assert names.PUBLIC_ISSUER not in {i.inputs["metadata"]["name"]
                                       for i in rec.find("kubernetes:cert-manager.io/v1:ClusterIssuer")}
    with pytest.raises(ValueError, match="oidc"):
        run(lambda: ClusterAddons("addons", args(oidc=None, cert_manager=False)))


def test_every_addon_pdb_allows_a_disruption_so_node_drains_do_not_hang():
    """A PDB whose minAvailable equals the replica count allows zero evictions: drains would block forever."""
    keda = addons.keda_values()
    assert keda["operator"]["replicaCount"] > keda["podDisruptionBudget"]["operator"]["minAvailable"]
    cm = addons.cert_manager_values()
    assert cm["replicaCount"] > cm["podDisruptionBudget"]["minAvailable"]
    assert cm["webhook"]["replicaCount"] > cm["webhook"]["podDisruptionBudget"]["minAvailable"]
    rec = run(lambda: ClusterAddons("addons", args()))
    [chart] = [c for c in rec.find("kubernetes:helm.sh/v4:Chart") if c.inputs["chart"] == "keda"]
    assert chart.inputs["values"] == keda
