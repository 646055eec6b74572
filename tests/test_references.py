"""references.py: what a manifest names (each kind of reference a pod or a CR can make), what it provides, and the
order a batch is registered in."""

from __future__ import annotations

import pytest

from n8n_platform.references import Ref, dependency_order, provides, references


def obj(kind: str, name: str, namespace: str | None = "ns", api: str = "v1", **body) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


POD = {
    "serviceAccountName": "sa",
    "priorityClassName": "high",
    "imagePullSecrets": [{"name": "pull"}],
    "volumes": [
        {"name": "a", "configMap": {"name": "cm-volume"}},
        {"name": "b", "secret": {"secretName": "secret-volume"}},
        {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "d", "projected": {"sources": [{"configMap": {"name": "cm-projected"}},
                                                {"secret": {"name": "secret-projected"}},
                                                {"serviceAccountToken": {"path": "token"}}]}},
        {"name": "e", "emptyDir": {}},
    ],
    "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cm-env-from"}}]}],
    "containers": [{"name": "main", "envFrom": [{"secretRef": {"name": "secret-env-from"}}], "env": [
        {"name": "A", "value": "plain"},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "k"}}},
        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "secret-key", "key": "k"}}},
        {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]}],
}
POD_REFS = [
    Ref("ServiceAccount", "ns", "sa"), Ref("PriorityClass", None, "high"), Ref("Secret", "ns", "pull"),
    Ref("ConfigMap", "ns", "cm-volume"), Ref("Secret", "ns", "secret-volume"),
    Ref("PersistentVolumeClaim", "ns", "data"), Ref("ConfigMap", "ns", "cm-projected"),
    Ref("Secret", "ns", "secret-projected"), Ref("ConfigMap", "ns", "cm-env-from"),
    Ref("Secret", "ns", "secret-env-from"), Ref("ConfigMap", "ns", "cm-key"), Ref("Secret", "ns", "secret-key"),
]


@pytest.mark.parametrize("kind, body", [
    ("Pod", {"spec": POD}),
    ("Deployment", {"spec": {"template": {"spec": POD}}}),
    ("StatefulSet", {"spec": {"template": {"spec": POD}}}),
    ("DaemonSet", {"spec": {"template": {"spec": POD}}}),
    ("Job", {"spec": {"template": {"spec": POD}}}),
    ("CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"spec": POD}}}}}),
])
def test_every_workload_names_what_its_pod_template_uses(kind, body):
    assert references(obj(kind, "w", **body)) == POD_REFS


def test_a_name_that_is_not_plain_text_is_no_reference_and_each_reference_counts_once():
    pod = {"serviceAccountName": object(), "volumes": [{"name": "a", "configMap": {"name": "cm"}},
                                                       {"name": "b", "configMap": {"name": "cm"}}]}
    assert references(obj("Job", "j", spec={"template": {"spec": pod}})) == [Ref("ConfigMap", "ns", "cm")]


def test_objects_that_are_not_workloads_name_nothing_through_lookalike_fields():
    service = obj("Service", "s", spec={"selector": {"app": "sa"}, "serviceAccountName": "sa"})
    assert references(service) == []


def test_a_certificate_names_its_issuer_and_provides_its_secret():
    cluster = obj("Certificate", "c", api="cert-manager.io/v1", spec={
        "secretName": "c-tls", "issuerRef": {"name": "ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}})
    local = obj("Certificate", "c", api="cert-manager.io/v1", spec={"secretName": "c-tls", "issuerRef": {"name": "i"}})
    assert references(cluster) == [Ref("ClusterIssuer", None, "ca")]
    assert references(local) == [Ref("Issuer", "ns", "i")]
    assert provides(cluster) == [Ref("Certificate", "ns", "c"), Ref("Secret", "ns", "c-tls")]


def test_a_scaled_object_names_its_trigger_authentication():
    scaled = obj("ScaledObject", "w", api="keda.sh/v1alpha1", spec={"triggers": [
        {"type": "redis", "authenticationRef": {"name": "auth"}},
        {"type": "cpu"},
        {"type": "redis", "authenticationRef": {"name": "shared", "kind": "ClusterTriggerAuthentication"}}]})
    assert references(scaled) == [Ref("TriggerAuthentication", "ns", "auth"),
                                  Ref("ClusterTriggerAuthentication", None, "shared")]


def test_the_postgresql_cr_names_its_tls_secrets_volumes_and_env():
    cr = obj("postgresql", "pg", api="acid.zalan.do/v1", spec={
        "tls": {"secretName": "pg-tls", "caSecretName": "pg-ca", "caFile": "ca.crt"},
        "podPriorityClassName": "db",
        "additionalVolumes": [{"name": "x", "mountPath": "/x", "volumeSource": {"configMap": {"name": "extra"}}}],
        "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "walg", "key": "k"}}}],
        "sidecars": [{"name": "exporter", "envFrom": [{"secretRef": {"name": "exporter"}}]}]})
    assert references(cr) == [Ref("Secret", "ns", "pg-tls"), Ref("Secret", "ns", "pg-ca"),
                              Ref("PriorityClass", None, "db"), Ref("ConfigMap", "ns", "extra"),
                              Ref("Secret", "ns", "walg"), Ref("Secret", "ns", "exporter")]


def test_cluster_scoped_objects_provide_themselves_without_a_namespace():
    assert provides(obj("PriorityClass", "high", namespace=None, api="scheduling.k8s.io/v1")) == [
        Ref("PriorityClass", None, "high")]
    assert provides(obj("ConfigMap", "cm")) == [Ref("ConfigMap", "ns", "cm")]


def test_a_batch_is_ordered_referenced_objects_first_and_otherwise_as_given():
    job = obj("Job", "j", api="batch/v1", spec={"template": {"spec": {
        "serviceAccountName": "j", "volumes": [{"name": "sql", "configMap": {"name": "j"}}]}}})
    batch = [job, obj("Service", "other"), obj("ServiceAccount", "j"), obj("ConfigMap", "j")]
    assert dependency_order(batch) == [(2, []), (3, []), (0, [2, 3]), (1, [])]


def test_references_in_another_namespace_or_to_other_kinds_are_not_dependencies():
    job = obj("Job", "j", api="batch/v1", spec={"template": {"spec": {"serviceAccountName": "j"}}})
    assert dependency_order([job, obj("ServiceAccount", "j", namespace="elsewhere"), obj("ConfigMap", "j")]) == [
        (0, []), (1, []), (2, [])]


def test_a_secret_written_by_a_certificate_of_the_batch_orders_its_readers():
    statefulset = obj("StatefulSet", "redis", api="apps/v1", spec={"template": {"spec": {
        "volumes": [{"name": "tls", "secret": {"secretName": "redis-tls"}}]}}})
    certificate = obj("Certificate", "redis-tls", api="cert-manager.io/v1", spec={"secretName": "redis-tls"})
    assert dependency_order([statefulset, certificate]) == [(1, []), (0, [1])]


def test_a_reference_cycle_is_refused_naming_it():
    # No real kinds make a cycle (what workloads name references nothing); issuerRef's free-form kind can.
    def certificate(name: str, issuer: str) -> dict:
        return obj("Certificate", name, api="cert-manager.io/v1",
                   spec={"secretName": f"{name}-tls", "issuerRef": {"kind": "Certificate", "name": issuer}})

    with pytest.raises(ValueError, match="reference cycle: Certificate a -> Certificate b -> Certificate a"):
        dependency_order([certificate("a", "b"), certificate("b", "a")])
