"""In-cluster Redis for n8n's Bull queue: a StatefulSet with AOF on a PVC (:class:`Redis`).

Decisions (the redis.conf ones are in :mod:`.conf`):

- **One replica, AOF on a PVC.** Jobs survive restarts and rescheduling (at most ~1 s lost on a crash). There is no
  Sentinel: n8n has no Sentinel settings, and a single replica with a persistent volume reschedules in about a
  minute, during which webhooks are rejected and n8n reconnects. Production uses ElastiCache Multi-AZ instead.
- **Disruption budget ``maxUnavailable: 1``.** With one replica, ``maxUnavailable: 0`` (or ``minAvailable: 1``)
  can never be satisfied, so every node drain and cluster upgrade would hang forever. A budget of one states the
  intent, is always satisfiable, and ``unhealthyPodEvictionPolicy: AlwaysAllow`` keeps a crash-looping pod from
  blocking drains. An eviction is a graceful SIGTERM: Redis fsyncs the AOF and the PVC follows the pod.
- **TLS from cert-manager** (:data:`names.INTERNAL_CA_ISSUER`); the certificate also names ``localhost`` and
  ``127.0.0.1`` for the probes. Redis does not reload certificates, so the liveness probe fails once the mounted
  certificate is newer than the server's start, restarting the container (a few seconds) after each renewal.
- **Password** from :data:`names.N8N_SECRET` (only the Redis key is mounted), written at start into a
  memory-backed emptyDir that redis.conf includes; never in the ConfigMap, argv or environment of Redis.
- The PVC is kept when the StatefulSet is deleted or scaled (``persistentVolumeClaimRetentionPolicy: Retain``).
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import hashlib
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

import pulumi

from .. import k8s, names
from ..arguments import (
    dns_label,
    flag,
    known,
    namespace,
    object_name,
    one_of,
    placed_quantity,
    quantity,
    required,
    retain_on_delete,
    secret_key,
    string,
    text,
    waits_for,
)
from ..connections import CaBundle, CaSource, RedisConnection, SecretKeyRef
from ..namespace import REDIS, QuotaWorkload
from ..observability import exporters
from ..secrets import placeable_revision
from ..vocabulary import resources as resource_settings
from . import conf as rc
from .spec import InClusterRedisSettings

COMPONENT = REDIS
"""app.kubernetes.io/component of the Redis pods (the NetworkPolicies select it)."""
SERVICE = "redis"
"""Default name of the ClusterIP Service clients connect to; the other objects are named after it."""
CONF_DIR, TLS_DIR, SECRET_DIR, RUN_DIR, DATA_DIR = (
    "/etc/redis/conf", "/etc/redis/tls", "/etc/redis/secret", "/run/redis", "/data")
AUTH_INCLUDE = f"{RUN_DIR}/auth.conf"
STARTED_MARKER = f"{RUN_DIR}/started"
DEFAULTS = InClusterRedisSettings()
"""The platform's defaults (settings ``redis.inCluster``), also the component's."""
DEFAULT_PASSWORD = SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD)
"""Where the Redis password is kept unless told otherwise: the n8n Secret written by Secrets."""


@dataclass(frozen=True)
class Issuer:
    """The cert-manager issuer that signs the Redis server certificate; its certificates must carry ca.crt."""

    name: str = names.INTERNAL_CA_ISSUER
    """Name of the issuer."""
    kind: str = "ClusterIssuer"
    """``ClusterIssuer`` or ``Issuer`` (an Issuer must live in the Redis namespace)."""


@dataclass(frozen=True)
class InClusterRedisSpec:
    """Everything the in-cluster Redis manifests depend on."""

    namespace: pulumi.Input[str]
    """Namespace of n8n (and Redis); placed, never inspected."""
    image: pulumi.Input[str]
    """Pinned Redis image (must contain sh and redis-cli)."""
    memory: str
    """Container memory limit (= request); maxmemory is 80% of it."""
    storage_size: pulumi.Input[str]
    """PVC size for the AOF and RDB."""
    storage_class: pulumi.Input[str]
    """StorageClass of the PVC."""
    cpu_request: str = "100m"
    """CPU request (Redis is single-threaded; the limit is one core)."""
    cpu_limit: str = "1"
    """CPU limit."""
    secrets_revision: pulumi.Input[str] | None = None
    """``Secrets.revision``: a pod-template annotation, so a new password restarts Redis with it."""
    exporter_image: str | None = None
    """Pinned redis_exporter image for the metrics sidecar (port 9121); None runs no exporter."""
    name: str = SERVICE
    """Name of the Service, StatefulSet and ServiceAccount; the others are ``<name>-headless``, ``<name>-config``
    and ``<name>-tls``. Any other name than the default adds ``app.kubernetes.io/instance: <name>`` to labels and
    selectors, so two instances in one namespace select only their own pod."""
    issuer: Issuer = field(default_factory=Issuer)
    """Issuer of the server certificate."""
    password: SecretKeyRef = DEFAULT_PASSWORD
    """Secret key holding the password Redis requires."""

    @property
    def headless(self) -> str:
        return f"{self.name}-headless"

    @property
    def config_map(self) -> str:
        return f"{self.name}-config"

    @property
    def tls_secret(self) -> str:
        return f"{self.name}-tls"

    @property
    def instance_labels(self) -> dict[str, str]:
        return {} if self.name == SERVICE else {"app.kubernetes.io/instance": self.name}


def redis_host(namespace: pulumi.Input[str], name: str = SERVICE) -> pulumi.Input[str]:
    """The DNS name n8n connects to (covered by the certificate)."""
    return text(name, ".", namespace, ".svc")


def in_cluster_conf(spec: InClusterRedisSpec) -> str:
    """The redis.conf of the in-cluster server."""
    return rc.redis_conf(rc.maxmemory_bytes(spec.memory), DATA_DIR, True, tls_dir=TLS_DIR, auth_include=AUTH_INCLUDE)


def _password_file(spec: InClusterRedisSpec) -> str:
    return f"{SECRET_DIR}/{spec.password.key}"


def _selector(spec: InClusterRedisSpec) -> dict[str, str]:
    return {**k8s.selector(COMPONENT), **spec.instance_labels}


def _labels(spec: InClusterRedisSpec) -> dict[str, str]:
    return {**k8s.labels(COMPONENT), **spec.instance_labels}


def _meta(name: str, spec: InClusterRedisSpec, **kw: Any) -> dict[str, Any]:
    meta = k8s.metadata(name, spec.namespace, COMPONENT, **kw)
    meta["labels"].update(spec.instance_labels)
    return meta


def _probe(spec: InClusterRedisSpec, period: int, timeout: int, failures: int, **script: Any) -> dict[str, Any]:
    command = rc.probe_script(tls=True, password_file=_password_file(spec), ca_file=f"{TLS_DIR}/ca.crt", **script)
    return {"exec": {"command": ["sh", "-c", command]}, "periodSeconds": period, "timeoutSeconds": timeout,
            "failureThreshold": failures}


def _exporter(spec: InClusterRedisSpec) -> list[dict[str, Any]]:
    if spec.exporter_image is None:
        return []
    mounts = [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
              {"name": "password", "mountPath": SECRET_DIR, "readOnly": True}]
    return [exporters.redis_exporter_container(spec.exporter_image, password_file=_password_file(spec),
                                               ca_file=f"{TLS_DIR}/ca.crt", mounts=mounts)]


def statefulset_manifest(spec: InClusterRedisSpec) -> dict[str, Any]:
    """The single-replica StatefulSet: AOF on a PVC, TLS, password from the n8n Secret, restricted security."""
    conf_hash = hashlib.sha256(in_cluster_conf(spec).encode()).hexdigest()[:16]
    revision = ({names.SECRETS_REVISION_ANNOTATION: spec.secrets_revision}
                if spec.secrets_revision is not None else {})
    container = {
        "name": "redis",
        "image": spec.image,
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", rc.start_script(f"{CONF_DIR}/redis.conf", _password_file(spec), AUTH_INCLUDE,
                                                STARTED_MARKER)],
        "ports": [{"name": "redis", "containerPort": rc.PORT, "protocol": "TCP"}],
        "resources": k8s.resources(resource_settings(spec.cpu_request, spec.cpu_limit, spec.memory, spec.memory)),
        "securityContext": k8s.container_security_context(),
        # Up to 10 minutes to load a large AOF before liveness applies.
        "startupProbe": _probe(spec, 10, 5, 60),
        "livenessProbe": _probe(spec, 15, 5, 3, accept_loading=True, cert_file=f"{TLS_DIR}/tls.crt",
                                started_marker=STARTED_MARKER),
        "readinessProbe": _probe(spec, 5, 3, 2),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "config", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
            {"name": "password", "mountPath": SECRET_DIR, "readOnly": True},
            {"name": "run", "mountPath": RUN_DIR},
        ],
    }
    pod = {
        "serviceAccountName": spec.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": k8s.pod_security_context(),
        "terminationGracePeriodSeconds": 60,
        "containers": [container, *_exporter(spec)],
        "volumes": [
            {"name": "config", "configMap": {"name": spec.config_map, "defaultMode": 0o440}},
            {"name": "tls", "secret": {"secretName": spec.tls_secret, "defaultMode": 0o440}},
            {"name": "password", "secret": {"secretName": spec.password.secret, "defaultMode": 0o440, "items": [
                {"key": spec.password.key, "path": spec.password.key}]}},
            k8s.empty_dir("run", "1Mi", medium="Memory"),
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(spec.name, spec, annotations=k8s.checkov_skips(k8s.PINNED_TAG_SKIP)),
        "spec": {
            "serviceName": spec.headless,
            "replicas": 1,
            "selector": {"matchLabels": _selector(spec)},
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {"labels": _labels(spec),
                             "annotations": {"n8n.io/redis-conf-sha256": conf_hash,
                                             **k8s.checkov_skips(k8s.PINNED_TAG_SKIP), **revision}},
                "spec": pod,
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": _labels(spec)},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": spec.storage_class,
                         "resources": {"requests": {"storage": spec.storage_size}}},
            }],
        },
    }


def certificate_manifest(spec: InClusterRedisSpec) -> dict[str, Any]:
    """cert-manager Certificate from the issuer for the Service names, the pod, localhost and 127.0.0.1."""
    ns, svc = spec.namespace, spec.name
    host = redis_host(ns, svc)
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": _meta(spec.tls_secret, spec),
        "spec": {
            "secretName": spec.tls_secret,
            "secretTemplate": {"labels": _labels(spec)},
            "issuerRef": {"name": spec.issuer.name, "kind": spec.issuer.kind, "group": "cert-manager.io"},
            "commonName": host,
            "dnsNames": [svc, text(svc, ".", ns), host, text(host, ".cluster.local"),
                         text(svc, "-0.", spec.headless, ".", ns, ".svc"), "localhost"],
            "ipAddresses": ["127.0.0.1"],
            "duration": "2160h",
            "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["server auth", "digital signature", "key encipherment"],
        },
    }


def in_cluster_manifests(spec: InClusterRedisSpec) -> list[dict[str, Any]]:
    """Every object of in-cluster Redis, in apply order (the StatefulSet last)."""
    ports = [{"name": "redis", "port": rc.PORT, "targetPort": "redis", "protocol": "TCP"}]
    selector = _selector(spec)
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec.name, spec),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec.config_map, spec),
         "data": {"redis.conf": in_cluster_conf(spec)}},
        certificate_manifest(spec),
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec.headless, spec),
         "spec": {"clusterIP": "None", "selector": selector, "ports": ports}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec.name, spec),
         "spec": {"type": "ClusterIP", "selector": selector, "ports": ports}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(spec.name, spec),
         "spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                  "selector": {"matchLabels": selector}}},
        statefulset_manifest(spec),
    ]


def in_cluster_connection(spec: InClusterRedisSpec) -> RedisConnection:
    """How n8n reaches in-cluster Redis."""
    return RedisConnection(host=redis_host(spec.namespace, spec.name), port=rc.PORT, tls=True,
                           password=spec.password, ca=CaBundle(CaSource.SECRET, spec.tls_secret, "ca.crt"),
                           managed=False)


def quota(memory: str = DEFAULTS.memory, exporter: bool = False) -> QuotaWorkload:
    """What in-cluster Redis with this memory limit (and the metrics sidecar, when ``exporter``) takes from the
    namespace budget: one pod (for ``N8nNamespace``'s ``quota_workloads``; also ``Redis.quota``)."""
    memory = quantity("Redis.quota", "memory", memory)
    redis = resource_settings(InClusterRedisSpec.cpu_request, InClusterRedisSpec.cpu_limit, memory, memory)
    return QuotaWorkload("redis", 1, (redis, *((exporters.REDIS_EXPORTER_RESOURCES,) if exporter else ())))


class RedisArgs(TypedDict):
    """In-cluster Redis (settings ``redis.inCluster``). Only ``namespace`` is required; the rest default to the
    platform's values."""

    namespace: pulumi.Input[str]
    """Namespace Redis runs in (next to n8n; created beforehand)."""
    name: NotRequired[str]
    """Name of the Service, StatefulSet and ServiceAccount (default ``redis``); the others are ``<name>-headless``,
    ``<name>-config`` and ``<name>-tls``. A plain value: it names Kubernetes objects and Pulumi resources."""
    image: NotRequired[pulumi.Input[str]]
    """Pinned Redis image containing sh and redis-cli (default ``docker.io/library/redis:7.4.6-alpine``)."""
    memory: NotRequired[str]
    """Container memory limit (= request), default ``1Gi``; maxmemory is 80% of it (a plain value: computed with)."""
    storage_size: NotRequired[pulumi.Input[str]]
    """PVC size for the append-only file (default ``10Gi``)."""
    storage_class: NotRequired[pulumi.Input[str]]
    """StorageClass of the PVC (default ``gp3``)."""
    issuer_name: NotRequired[str]
    """cert-manager issuer that signs the server certificate; its certificates must carry ``ca.crt`` (a CA issuer).
    Default ``n8n-internal-ca``, which :class:`ClusterAddons` creates; it must exist before Redis."""
    issuer_kind: NotRequired[str]
    """``ClusterIssuer`` (default) or ``Issuer`` (then in the Redis namespace)."""
    password_secret: NotRequired[str]
    """Secret holding the password Redis requires (default ``n8n-secrets``, written by :class:`Secrets`); it must
    exist before Redis starts."""
    password_key: NotRequired[str]
    """Key of the password in that Secret (default ``redis-password``)."""
    protect: NotRequired[bool]
    """Protect the StatefulSet (its PVC holds the queue) from deletion (default false)."""
    retain_on_delete: NotRequired[bool]
    """Leave the StatefulSet in the cluster when the component is deleted; default: the value of ``protect``.
    The PVC is retained by Kubernetes either way (``persistentVolumeClaimRetentionPolicy: Retain``)."""
    secrets_revision: NotRequired[pulumi.Input[str]]
    """``Secrets.revision``; a changed Redis password then restarts Redis with it (n8n rolls with it too)."""
    exporter_image: NotRequired[str | None]
    """Pinned redis_exporter image of the metrics sidecar (scraped by the Observability PodMonitor); omitted or
    None: no exporter."""


def spec_from_args(args: RedisArgs) -> InClusterRedisSpec:
    """The builders' input from the component's Args, with the platform's defaults; every argument checked where it
    enters, each error naming Redis, the argument, the value and what is allowed."""
    where = "Redis"
    known(where, args, RedisArgs)
    name = dns_label(where, "name", args.get("name", SERVICE), room=len("-headless"))
    kind = one_of(where, "issuer_kind", args.get("issuer_kind", "ClusterIssuer"), ("ClusterIssuer", "Issuer"))
    exporter = args.get("exporter_image")
    return InClusterRedisSpec(
        namespace=namespace(where, required(where, args, "namespace", "the namespace Redis runs in")), name=name,
        image=string(where, "image", args.get("image", DEFAULTS.image), placed=True),
        memory=quantity(where, "memory", args.get("memory", DEFAULTS.memory)),
        storage_size=placed_quantity(where, "storage_size", args.get("storage_size", DEFAULTS.storage_size)),
        storage_class=string(where, "storage_class", args.get("storage_class", DEFAULTS.storage_class), placed=True),
        issuer=Issuer(object_name(where, "issuer_name", args.get("issuer_name", names.INTERNAL_CA_ISSUER)), kind),
        password=SecretKeyRef(object_name(where, "password_secret",
                                          args.get("password_secret", DEFAULT_PASSWORD.secret)),
                              secret_key(where, "password_key", args.get("password_key", DEFAULT_PASSWORD.key))),
        secrets_revision=placeable_revision(args.get("secrets_revision")),
        exporter_image=None if exporter is None else string(where, "exporter_image", exporter))


class Redis(pulumi.ComponentResource):
    """Redis as a single-replica StatefulSet: AOF on a PVC, noeviction, TLS from a cert-manager CA issuer, password
    from a Secret. Needs first: the namespace, the issuer (``issuer_name``) and the password Secret.
    On delete: the PVC always stays (Retain policy); the StatefulSet stays when ``retain_on_delete`` (default:
    ``protect``)."""

    connection: RedisConnection
    """How n8n reaches this Redis (TLS, the password Secret key, the CA in the ``<name>-tls`` Secret)."""
    host: pulumi.Output[str]
    """DNS name of the ClusterIP Service (``<name>.<namespace>.svc``)."""
    port: pulumi.Output[int]
    """TCP port (6379, TLS)."""
    ca_secret: pulumi.Output[str]
    """Secret whose ``ca.crt`` verifies the server certificate."""

    @staticmethod
    def quota(args: "RedisArgs | dict[str, Any] | None" = None) -> QuotaWorkload:
        """The share of a namespace budget (``N8nNamespace``'s ``quota_workloads``) a Redis with these Args takes:
        one pod with its ``memory`` (and the exporter sidecar with ``exporter_image``). Other Args may be left
        out."""
        given: dict[str, Any] = dict(args or {})
        return quota(given.get("memory", DEFAULTS.memory), exporter=given.get("exporter_image") is not None)

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:Redis", name, None, opts)
        spec = spec_from_args(args)
        protect = flag("Redis", "protect", args.get("protect", False))
        *supporting, statefulset = in_cluster_manifests(spec)
        wait_for = waits_for("Redis", opts)  # e.g. the password Secret and the issuer
        created = [k8s.apply(name, m, pulumi.ResourceOptions(parent=self, depends_on=wait_for or None))
                   for m in supporting]
        k8s.apply(name, statefulset, pulumi.ResourceOptions(parent=self, depends_on=[*wait_for, *created],
                                                            protect=protect,
                                                            retain_on_delete=retain_on_delete(args, protect,
                                                                                             "Redis")))
        self.connection = in_cluster_connection(spec)
        self.host = pulumi.Output.from_input(self.connection.host)
        self.port = pulumi.Output.from_input(rc.PORT)
        self.ca_secret = pulumi.Output.from_input(spec.tls_secret)
        self.register_outputs({"host": self.host, "port": self.port, "ca_secret": self.ca_secret})
