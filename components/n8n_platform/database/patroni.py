"""In-cluster PostgreSQL for n8n: a Zalando postgres-operator ``acid.zalan.do/v1`` ``postgresql`` cluster (Spilo =
PostgreSQL + Patroni + WAL-G), TLS from cert-manager, WAL archiving to S3 through IRSA, and the n8n role bootstrap.

Written against the CRD of postgres-operator **v2.0.1** (Spilo 4.x; the ``postgresql`` fields listed in
tools/ci/gates.CUSTOM_RESOURCES). What the operator decides, not this resource, and how we cope:

- **Zone anti-affinity** is operator configuration (``enable_pod_antiaffinity`` +
  ``pod_antiaffinity_topology_key``). The CR offers ``topologySpreadConstraints``, which we use to spread members
  across zones (at most one more in any zone), and ``nodeAffinity``, which keeps them off the spot worker pool.
- **PodDisruptionBudget**: the operator creates ``postgres-<cluster>-pdb`` (``enable_pod_disruption_budget``,
  default on; minAvailable 1 on the primary). We add none: two PDBs over one pod make evictions fail.
- **Pod service account**: the operator runs every Spilo pod as ``pod_service_account_name`` (default
  ``postgres-pod``) and the CR cannot annotate it; Patroni needs its API token (Kubernetes DCS). WAL-G gets AWS
  credentials from a projected web-identity token we mount via ``additionalVolumes`` plus ``AWS_ROLE_ARN`` (see
  database/common.py); the IRSA role trusts ``system:serviceaccount:<namespace>:postgres-pod``.
- **Pod Security**: Spilo runs as uid 101 / gid 103 here (``spiloRunAsUser/Group``, ``spiloFSGroup`` so it can read
  the TLS key), but seccomp, ``allowPrivilegeEscalation`` and capabilities come from the operator's pod template:
  the namespace needs ``baseline`` unless the operator is configured for ``restricted``.
- **WAL archive layout**: ``s3://<bucket>/<prefix><cluster>/<major>`` (``WALE_S3_PREFIX``/``WALG_S3_PREFIX`` set
  explicitly so every object stays under the writer role's prefix). WAL-G's retention delete after each base
  backup fails by design (the role has no Delete): Object Lock + lifecycle expire the archive.
- **Connection pooler** (``database.pooler``, on by default): the operator runs PgBouncer pods in transaction
  mode behind ``<cluster>-pooler`` (database/pooler.py: why, and how it is sized); n8n connects there, the
  bootstrap and dump Jobs to the primary directly. The pooler pods share the Spilo pods' Pod Security caveat (the
  operator's template sets only ``allowPrivilegeEscalation: false``) and serve TLS with the cluster's certificate,
  which therefore names the pooler Service too.
- **Admin login**: the CR declares ``dbadmin`` (CREATEROLE, CREATEDB, not superuser); the operator stores its
  password in ``dbadmin.<cluster>.credentials.postgresql.acid.zalan.do`` (default ``secret_name_template``), which
  the bootstrap Job reads.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
from typing import Any, NotRequired, TypedDict

import pulumi

from .. import k8s, names
from ..arguments import dns_label, known, plain, retain_on_delete, settings_section, structured, waits_for
from ..connections import CaBundle, DatabaseConnection, Pooler, SecretKeyRef
from ..irsa import OidcProvider, irsa_role
from ..namespace import POSTGRES_PORT, QuotaWorkload, spilo_selector
from ..observability import exporters
from ..storage import writer_policy
from . import pooler as pgbouncer
from .bootstrap import apply_bootstrap
from .common import AdminLogin, S3Location, aws_web_identity, check_args, n8n_database
from .patroni_config import dcs_settings, initdb_options, pg_hba, postgresql_parameters
from .spec import N8nDatabase, PatroniSettings, PoolerSettings

TEAM_ID = "n8n"
ADMIN_USER = "dbadmin"
POD_SERVICE_ACCOUNT = "postgres-pod"
"""The operator's default ``pod_service_account_name``."""
SPILO_UID, SPILO_GID = 101, 103
COMPONENT = "postgres"


def operator_secret(user: str, cluster: str) -> str:
    """Name of the Secret the operator writes a CR user's credentials to (default ``secret_name_template``)."""
    return f"{user.replace('_', '-')}.{cluster}.credentials.postgresql.acid.zalan.do"


def tls_secret(cluster: str) -> str:
    """Secret cert-manager writes the server certificate (tls.crt, tls.key, ca.crt) to."""
    return f"{cluster}-tls"


def primary_host(cluster: str, namespace: str) -> str:
    """DNS name of the Service the operator points at the primary."""
    return f"{cluster}.{namespace}.svc"


def wal_s3_prefix(bucket: pulumi.Input[str], prefix: str, cluster: str, major: str) -> pulumi.Input[str]:
    """S3 URL of one cluster's WAL archive (per major version, like Spilo's own layout)."""
    tail = f"/{prefix}{cluster}/{major}"
    return f"s3://{bucket}{tail}" if isinstance(bucket, str) else pulumi.Output.concat("s3://", bucket, tail)


def certificate_manifest(cluster: str, namespace: str) -> dict[str, Any]:
    """cert-manager Certificate for the cluster's Services, signed by the internal CA (its Secret carries ca.crt)."""
    services = [cluster, f"{cluster}-repl", names.pooler_service(cluster)]
    dns = [f"{s}{suffix}" for s in services for suffix in ("", f".{namespace}", f".{namespace}.svc",
                                                            f".{namespace}.svc.cluster.local")]
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": k8s.metadata(tls_secret(cluster), namespace, COMPONENT),
        "spec": {
            "secretName": tls_secret(cluster),
            "issuerRef": {"name": names.INTERNAL_CA_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "commonName": primary_host(cluster, namespace),
            "dnsNames": dns,
            "duration": "2160h",
            "renewBefore": "360h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["server auth", "digital signature", "key encipherment"],
        },
    }


def spilo_env(*, cluster: str, patroni: PatroniSettings, archive: S3Location | None,
              role_arn: pulumi.Input[str] | None) -> list[dict[str, Any]]:
    """Spilo environment: WAL-G archiving (IRSA, SSE-KMS, zstd), base backup schedule, clone-from-archive."""
    env: list[dict[str, Any]] = [{"name": "SSL_TEST_RELOAD", "value": "true"}]
    if archive is None or role_arn is None:
        return env
    prefix = wal_s3_prefix(archive.bucket_name, archive.prefix, cluster, patroni.postgres_version)
    _, _, aws_env = aws_web_identity(role_arn, archive.region)
    aws_env = [e for e in aws_env if e["name"] != "AWS_DEFAULT_REGION"]
    env += [
        {"name": "USE_WALG_BACKUP", "value": "true"},
        {"name": "USE_WALG_RESTORE", "value": "true"},
        {"name": "WAL_S3_BUCKET", "value": archive.bucket_name},
        {"name": "WAL_BUCKET_SCOPE_PREFIX", "value": ""},
        {"name": "WAL_BUCKET_SCOPE_SUFFIX", "value": ""},
        {"name": "WALE_S3_PREFIX", "value": prefix},
        {"name": "WALG_S3_PREFIX", "value": prefix},
        *aws_env,
        {"name": "WALG_S3_SSE", "value": "aws:kms"},
        {"name": "WALG_S3_SSE_KMS_ID", "value": archive.kms_key_arn},
        {"name": "WALG_COMPRESSION_METHOD", "value": "zstd"},
        {"name": "WALG_BACKUP_COMPRESSION_METHOD", "value": "zstd"},
        {"name": "BACKUP_SCHEDULE", "value": patroni.base_backup_schedule},
        {"name": "BACKUP_NUM_TO_RETAIN", "value": str(patroni.base_backups_to_retain)},
    ]
    if patroni.restore is not None:  # Spilo reads the clone's storage settings with a CLONE_ prefix
        env.append({"name": "CLONE_USE_WALG_RESTORE", "value": "true"})
        env += [{"name": f"CLONE_{e['name']}", "value": e["value"]} for e in aws_env]
    return env


def connection_pooler(pooler: PoolerSettings, server_connections: int) -> dict[str, Any]:
    """The CR's ``connectionPooler``: PgBouncer pods in transaction mode opening at most ``server_connections``
    to the primary between them (database/pooler.py)."""
    pgbouncer.pod_pools(server_connections, pooler.instances)  # raises when each pod would get fewer than 2
    return {"numberOfInstances": pooler.instances, "mode": pgbouncer.POOL_MODE,
            "maxDBConnections": server_connections, "resources": k8s.resources(pooler.resources)}


def postgresql_manifest(*, cluster: str, namespace: str, patroni: PatroniSettings, archive: S3Location | None,
                        role_arn: pulumi.Input[str] | None, docker_image: str | None = None,
                        exporter_image: str | None = None,
                        pooler: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Zalando ``postgresql`` custom resource for n8n's cluster (with ``pooler``, a :func:`connection_pooler`
    spec, the operator's PgBouncer in front of the primary)."""
    if patroni.restore is not None:
        if archive is None or role_arn is None:
            raise ValueError("database.patroni.restore needs the WAL archive (an archive bucket and IRSA)")
        if patroni.restore.source_cluster == cluster:
            raise ValueError(f"database.patroni.restore.sourceCluster must differ from the new cluster ({cluster}): "
                             "restore into a new cluster name so both timelines keep their own archive")
    spec: dict[str, Any] = {
        "teamId": TEAM_ID,
        "numberOfInstances": patroni.members,
        "postgresql": {"version": patroni.postgres_version, "parameters": postgresql_parameters()},
        "volume": {"size": patroni.volume_size, "storageClass": patroni.storage_class},
        "resources": k8s.resources(patroni.resources),
        "patroni": {**dcs_settings(patroni.synchronous), "pg_hba": pg_hba(), "initdb": initdb_options()},
        "users": {ADMIN_USER: ["createrole", "createdb"]},
        "tls": {"secretName": tls_secret(cluster), "caFile": "ca.crt"},
        "spiloRunAsUser": SPILO_UID,
        "spiloRunAsGroup": SPILO_GID,
        "spiloFSGroup": SPILO_GID,
        "enableMasterLoadBalancer": False,
        "enableReplicaLoadBalancer": False,
        "enableConnectionPooler": pooler is not None,
        "enableLogicalBackup": False,
        "enableShmVolume": True,
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
            "matchExpressions": [{"key": names.WORKER_POOL_LABEL[0], "operator": "NotIn",
                                  "values": [names.WORKER_POOL_LABEL[1]]}]}]}},
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": spilo_selector(cluster)}],
        "env": spilo_env(cluster=cluster, patroni=patroni, archive=archive, role_arn=role_arn),
    }
    if archive is not None and role_arn is not None:
        volume, mount, _ = aws_web_identity(role_arn, archive.region)
        spec["additionalVolumes"] = [{"name": volume["name"], "mountPath": mount["mountPath"],
                                      "volumeSource": {"projected": volume["projected"]}}]
    if patroni.restore is not None:  # checked above: it has an archive
        spec["clone"] = {
            "cluster": patroni.restore.source_cluster,
            "timestamp": patroni.restore.target_time,
            "s3_wal_path": wal_s3_prefix(archive.bucket_name, archive.prefix, patroni.restore.source_cluster,
                                         patroni.postgres_version),
        }
    if pooler is not None:
        spec["connectionPooler"] = pooler
    if docker_image:
        spec["dockerImage"] = docker_image
    if exporter_image:  # the operator hands every sidecar POSTGRES_USER/POSTGRES_PASSWORD
        spec["sidecars"] = [exporters.postgres_exporter_sidecar(exporter_image)]
    return {"apiVersion": "acid.zalan.do/v1", "kind": "postgresql",
            "metadata": k8s.metadata(cluster, namespace, COMPONENT), "spec": spec}


def patroni_connection(cluster: str, namespace: str, database: N8nDatabase,
                       pooled: bool = False) -> DatabaseConnection:
    """The primary Service (``pooled``: the pooler's), TLS verified against the internal CA in the certificate's
    Secret (the pooler serves the same certificate)."""
    host = f"{names.pooler_service(cluster)}.{namespace}.svc" if pooled else primary_host(cluster, namespace)
    return DatabaseConnection(
        host=host, port=POSTGRES_PORT, database=database.name, user=database.user,
        schema=database.schema, password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True,
        ca=CaBundle("secret", tls_secret(cluster), "ca.crt"), pooler=Pooler.PGBOUNCER if pooled else None)


def quota(patroni: PatroniSettings, exporter: bool = False) -> QuotaWorkload:
    """The Patroni members' share of the namespace budget (with the postgres_exporter sidecar when ``exporter``)."""
    sidecar = (exporters.POSTGRES_EXPORTER_RESOURCES,) if exporter else ()
    return QuotaWorkload("patroni", patroni.members, (patroni.resources, *sidecar))


def pooler_quota(pooler: PoolerSettings) -> QuotaWorkload:
    """The PgBouncer pods' share of the namespace budget."""
    return QuotaWorkload("pooler", pooler.instances, (pooler.resources,))


class PatroniDatabaseArgs(TypedDict):
    """An HA PostgreSQL cluster in Kubernetes (Zalando operator) with WAL archiving and n8n's role. Only
    ``namespace`` is required."""

    namespace: str
    """Namespace of n8n; the cluster, its Secrets and the bootstrap Job live there (plain: part of the host)."""
    cluster_name: NotRequired[str]
    """Cluster name (DNS label, default ``patroni.cluster_name``, i.e. ``n8n-postgres``); names the primary
    Service ``<cluster>.<namespace>.svc`` and the WAL prefix. Never rename a running cluster; restore into a new
    name."""
    database: NotRequired[N8nDatabase]
    """Database name, n8n role, schema and limits; default: ``n8n`` everywhere."""
    patroni: NotRequired[PatroniSettings]
    """Members, synchronous replication, storage, base backups, restore; default: the platform's (3 synchronous
    members)."""
    pooler: NotRequired[PoolerSettings]
    """The PgBouncer pooler n8n connects through; default: on, 2 instances."""
    archive: NotRequired[S3Location | None]
    """WAL archive bucket/prefix/KMS key; None (default) runs without archiving (no PITR: dev only)."""
    oidc: NotRequired[OidcProvider | None]
    """The cluster's IAM OIDC provider for WAL-G's IRSA role; None disables archiving."""
    pod_service_account: NotRequired[str | None]
    """The operator's ``pod_service_account_name``; default ``postgres-pod``."""
    docker_image: NotRequired[str | None]
    """Spilo image override; default: the operator's."""
    exporter_image: NotRequired[str | None]
    """Pinned postgres_exporter image run as a sidecar of every member (port 9187); omitted or None: none."""
    protect: NotRequired[bool]
    """Protect the ``postgresql`` resource from deletion: deleting it deletes the database (default false)."""
    retain_on_delete: NotRequired[bool]
    """Leave the ``postgresql`` resource (and so the database) in the cluster when the component is deleted;
    default: the value of ``protect``."""
    clients: NotRequired[int]
    """Most connections n8n's processes open at full scale (``n8n.env.db_connections``); sizes the pooler's server
    connections (database/pooler.py). Default: the n8n role's CONNECTION LIMIT less the direct reserve."""
    secrets_revision: NotRequired[pulumi.Input[str] | None]
    """``Secrets.revision`` (hash of the n8n Secret's values), placed on the bootstrap Job's pod template (without its
    secret flag, see ``secrets.placeable_revision``): a new n8n password replaces the Job, which sets it on the role.
    Omitted or None: the Job runs only when first created."""


class PatroniDatabase(pulumi.ComponentResource):
    """PostgreSQL run by Patroni (Spilo) under the Zalando operator, archived to S3, with n8n's least-privilege role."""

    connection: DatabaseConnection
    """How n8n connects: through the pooler when ``pooler.enabled`` (same shape as RdsDatabase's)."""
    direct_connection: DatabaseConnection
    """The primary itself, for the bootstrap and dump Jobs and session-level work (``import:entities``)."""
    cluster_name: pulumi.Output[str]
    """Name of the ``postgresql`` resource."""
    host: pulumi.Output[str]
    """Primary Service DNS name."""
    admin_secret: pulumi.Output[str]
    """Secret with the ``dbadmin`` login (written by the operator)."""
    wal_role_arn: pulumi.Output[str | None]
    """IRSA role WAL-G uses, or None without archiving."""

    def __init__(self, name: str, args: PatroniDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:PatroniDatabase", name, None, opts)
        where = "PatroniDatabase"
        known(where, args, PatroniDatabaseArgs)
        check_args(where, args, ("namespace",))
        child = pulumi.ResourceOptions(parent=self)
        database = n8n_database(where, args.get("database"))
        patroni = settings_section(where, "patroni", PatroniSettings, args.get("patroni"))
        pooler_settings = settings_section(where, "pooler", PoolerSettings, args.get("pooler"))
        namespace = plain(where, "namespace", args["namespace"])
        cluster = dns_label(where, "cluster_name", args.get("cluster_name") or patroni.cluster_name,
                            room=len("-bootstrap"))
        protect = bool(plain(where, "protect", args.get("protect", False)))
        archive, oidc = args.get("archive"), args.get("oidc")
        archive = structured(where, "archive", S3Location, archive) if archive is not None else None
        oidc = structured(where, "oidc", OidcProvider, oidc) if oidc is not None else None
        role_arn = None
        if archive is not None and oidc is not None:
            policy = pulumi.Output.json_dumps(writer_policy(archive.bucket_arn, archive.prefix, archive.kms_key_arn,
                                                            read=True))
            role = irsa_role(f"{name}-wal", oidc=oidc, namespace=namespace,
                             service_account=args.get("pod_service_account") or POD_SERVICE_ACCOUNT,
                             policy=policy, description=f"WAL-G of PostgreSQL cluster {cluster}", opts=child)
            role_arn = role.arn
        else:
            archive = None
        # The component's own depends_on (operator, CA issuer, namespace, n8n Secret) reaches its Kubernetes objects.
        wait_for = waits_for(where, opts)
        pooled = pooler_settings.enabled
        limit = database.connection_limit
        clients = plain(where, "clients", args.get("clients", limit))
        if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
            raise ValueError(f"{where}: clients must be a whole number of connections, at least 1; got {clients!r}")
        pooler = (connection_pooler(pooler_settings, pgbouncer.server_connections(clients, limit)) if pooled
                  else None)
        certificate = k8s.apply(name, certificate_manifest(cluster, namespace),
                                pulumi.ResourceOptions(parent=self, depends_on=wait_for))
        cr = k8s.apply(name, postgresql_manifest(cluster=cluster, namespace=namespace, patroni=patroni,
                                                 archive=archive, role_arn=role_arn,
                                                 docker_image=args.get("docker_image"),
                                                 exporter_image=args.get("exporter_image"), pooler=pooler),
                       pulumi.ResourceOptions(parent=self, protect=protect,
                                              retain_on_delete=retain_on_delete(args, protect, where),
                                              depends_on=[*wait_for, certificate]))
        self.connection = patroni_connection(cluster, namespace, database, pooled=pooled)
        self.direct_connection = patroni_connection(cluster, namespace, database)
        admin = AdminLogin(operator_secret(ADMIN_USER, cluster))
        apply_bootstrap(f"{name}-bootstrap", name=f"{cluster}-bootstrap", namespace=namespace,
                        connection=self.direct_connection, admin=admin, database=database,
                        secrets_revision=args.get("secrets_revision"),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[cr]))
        self.cluster_name = pulumi.Output.from_input(cluster)
        self.host = pulumi.Output.from_input(self.direct_connection.host)
        self.admin_secret = pulumi.Output.from_input(admin.secret)
        self.wal_role_arn = pulumi.Output.from_input(role_arn)
        self.register_outputs({"cluster_name": self.cluster_name, "host": self.host,
                               "admin_secret": self.admin_secret, "wal_role_arn": self.wal_role_arn})
