"""Observability: the thin component over :mod:`.monitors`, :mod:`.rules`, :mod:`.dashboard` and :mod:`.alarms`."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .. import k8s
from ..arguments import LABEL_VALUE, dns_label, known, plain, refuse, required, string, structured, waits_for, whole
from . import alarms as cw
from .dashboard import config_map, panels
from .monitors import monitors
from .rules import RuleInputs, alert_thresholds, alerts, prometheus_rule


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One further CloudWatch metric alarm (``aws.cloudwatch.MetricAlarm`` arguments without actions); it notifies
    the alarm topic on alarm and on recovery."""

    namespace: str
    """CloudWatch namespace of the metric, e.g. ``AWS/S3``."""
    metric_name: str
    """Name of the metric."""
    dimensions: dict[str, pulumi.Input[str]]
    """Dimensions selecting the series."""
    statistic: str
    """Statistic compared, e.g. ``Sum``, ``Maximum``, ``Average``."""
    comparison_operator: str
    """E.g. ``GreaterThanThreshold``."""
    threshold: float
    """Value the statistic is compared with."""
    alarm_description: str
    """What the alarm means (shown in the notification)."""
    period: int = 300
    """Seconds per evaluated datapoint."""
    evaluation_periods: int = 1
    """Datapoints evaluated."""
    datapoints_to_alarm: int | None = None
    """Breaching datapoints among them that raise the alarm (default: all)."""
    treat_missing_data: str = "missing"
    """``missing``, ``notBreaching``, ``breaching`` or ``ignore``."""

    def args(self) -> dict[str, Any]:
        """Keyword arguments of ``aws.cloudwatch.MetricAlarm`` (fields left None are not passed)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class CloudWatchTargets:
    """The managed data layer to alarm on (AWS stacks); RDS, RDS Proxy and ElastiCache fields are None when not
    used."""

    kms_key_arn: pulumi.Input[str]
    """The stack's customer key; encrypts the alarms' SNS topic (its policy lets CloudWatch use it)."""
    rds_identifier: pulumi.Input[str] | None = None
    """Identifier of the RDS instance n8n uses; None: no RDS alarms."""
    rds_allocated_gb: int = 0
    """Allocated storage of that instance in GB (the free-storage alarm is a share of it)."""
    connection_limit: int = 0
    """The n8n role's CONNECTION LIMIT (``database.connectionLimit``)."""
    rds_proxy_name: pulumi.Input[str] | None = None
    """Name of the RDS Proxy n8n connects through (``RdsDatabase.proxy_name``); None: no proxy alarms."""
    rds_proxy_clients: int = 0
    """Most connections n8n's roles open at their most replicas (``n8n.app.database_clients``): the proxy's client
    load at full scale; needed with ``rds_proxy_name``."""
    elasticache_members: list[pulumi.Input[str]] = field(default_factory=list)
    """CacheClusterId of every node of the queue's replication group."""
    emails: list[str] = field(default_factory=list)
    """Addresses subscribed to the topic (each confirms once)."""
    more_alarms: dict[str, AlarmSpec] = field(default_factory=dict)
    """Further alarms by name suffix, e.g. ``ArchiveBucket.replication_alarms`` (Python also takes those mappings of
    ``MetricAlarm`` arguments as they are); they notify the same topic."""

    def __post_init__(self) -> None:
        where = "CloudWatchTargets"
        string(where, "kms_key_arn", self.kms_key_arn, placed=True)
        whole(where, "rds_allocated_gb", self.rds_allocated_gb, 0)
        whole(where, "connection_limit", self.connection_limit, 0)
        for key in ("elasticache_members", "emails"):
            if not isinstance(getattr(self, key), (list, tuple)):
                raise refuse(where, key, getattr(self, key), "a list", TypeError)
        for i, email in enumerate(self.emails):
            string(where, f"emails[{i}]", email, r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")
        if not isinstance(self.more_alarms, Mapping):
            raise refuse(where, "more_alarms", self.more_alarms, "a mapping of name suffix to alarm", TypeError)


class ObservabilityArgs(TypedDict):
    """What to monitor and where the monitoring objects go.

    Needs first: the Prometheus Operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule) and, for the database's
    monitors, the database. Pass those resources in ``opts.depends_on``: every monitor and rule waits for them.
    """

    namespace: str
    """Namespace of n8n; the monitors, the PrometheusRule and the dashboard ConfigMap are created there."""
    prometheus_release: str
    """``release`` label value kube-prometheus-stack selects monitors and rules by."""
    rules: RuleInputs
    """What the alert rules depend on: roles and their memory limits, in-cluster Redis/Patroni, dump CronJob,
    thresholds, runbook URL."""
    grafana_folder: str
    """Grafana folder of the dashboard (sidecar annotation ``grafana_folder``)."""
    cloudwatch: NotRequired[CloudWatchTargets | None]
    """RDS/ElastiCache alarms and their SNS topic; omitted or None: none (no AWS)."""


class Observability(pulumi.ComponentResource):
    """ServiceMonitors/PodMonitors for every n8n role and the in-cluster data layer, alert rules on real n8n metric
    names, a Grafana dashboard, and CloudWatch alarms for RDS, its RDS Proxy and ElastiCache."""

    alarm_topic_arn: pulumi.Output[str | None]
    """SNS topic of the CloudWatch alarms, or None without AWS targets."""
    alert_names: pulumi.Output[list[str]]
    """Names of the alerts in the PrometheusRule."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:Observability", name, None, opts)
        where = "Observability"
        known(where, args, ObservabilityArgs)
        for key in ObservabilityArgs.__required_keys__:
            required(where, args, key)
        ns = dns_label(where, "namespace", args["namespace"])
        release = string(where, "prometheus_release", args["prometheus_release"], LABEL_VALUE,
                         "a Kubernetes label value (letters, digits, '-', '_' and '.', at most 63)", placed=True)
        string(where, "grafana_folder", args["grafana_folder"], what="a non-empty folder name", placed=True)
        rules = structured("Observability", "rules", RuleInputs, args["rules"])
        plain("Observability", "rules", {f.name: getattr(rules, f.name) for f in fields(rules)})
        alert_thresholds(rules.thresholds)  # bad thresholds fail before any object is registered
        # The component's own depends_on reaches every monitor and rule (children do not inherit it).
        crds = pulumi.ResourceOptions(parent=self, depends_on=waits_for("Observability", opts))
        roles = tuple(rules.memory_limits)
        k8s.apply_all(name, [*monitors(namespace=ns, release=release, roles=roles,
                                       redis_in_cluster=rules.redis_in_cluster, patroni_cluster=rules.patroni_cluster),
                             prometheus_rule("n8n", ns, release, rules)], crds)
        specs = panels(redis_in_cluster=rules.redis_in_cluster, patroni=rules.patroni_cluster is not None)
        k8s.apply(name, config_map("n8n-dashboard", ns, args["grafana_folder"], specs),
                  pulumi.ResourceOptions(parent=self))
        self.alert_names = pulumi.Output.from_input([a.name for a in alerts(rules)])
        targets = args.get("cloudwatch")
        if targets is not None:
            targets = structured("Observability", "cloudwatch", CloudWatchTargets, targets)
        self.alarm_topic_arn = pulumi.Output.from_input(
            self._alarms(name, targets, alert_thresholds(rules.thresholds)) if targets is not None else None)
        self.register_outputs({"alarm_topic_arn": self.alarm_topic_arn, "alert_names": self.alert_names})

    def _alarms(self, name: str, targets: CloudWatchTargets, thresholds: Any) -> pulumi.Output[str]:

        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=targets.kms_key_arn, opts=child)
        for n, email in enumerate(targets.emails):
            aws.sns.TopicSubscription(f"{name}-alarms-{n}", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=child)
        specs: list[cw.Alarm] = []
        if targets.rds_identifier is not None:
            specs += cw.rds_alarms(targets.rds_identifier, allocated_gb=targets.rds_allocated_gb,
                                   connection_limit=targets.connection_limit, t=thresholds)
        if targets.rds_proxy_name is not None:
            if isinstance(targets.rds_proxy_clients, bool) or not isinstance(targets.rds_proxy_clients, int) \
                    or targets.rds_proxy_clients < 1:
                raise ValueError("Observability: cloudwatch.rds_proxy_clients must be a whole number of connections, "
                                 f"at least 1, with rds_proxy_name; got {targets.rds_proxy_clients!r}")
            specs += cw.rds_proxy_alarms(targets.rds_proxy_name, clients=targets.rds_proxy_clients, t=thresholds)
        specs += cw.elasticache_alarms(targets.elasticache_members, t=thresholds)
        more = {suffix: structured("Observability", f"cloudwatch.more_alarms.{suffix}", AlarmSpec, dict(spec))
                if isinstance(spec, Mapping) else spec for suffix, spec in targets.more_alarms.items()}
        arguments = {**{spec.name: spec.args() for spec in specs}, **{s: a.args() for s, a in more.items()}}
        for suffix, spec in arguments.items():
            aws.cloudwatch.MetricAlarm(f"{name}-{suffix}", **spec, alarm_actions=[topic.arn],
                                       ok_actions=[topic.arn], opts=child)
        return topic.arn
