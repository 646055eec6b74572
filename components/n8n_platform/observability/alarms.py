"""CloudWatch alarms for what Prometheus cannot scrape: RDS, its RDS Proxy and ElastiCache. Plain data; the component
creates one ``aws.cloudwatch.MetricAlarm`` per entry, all notifying one SNS topic (alarm and recovery).

RDS Multi-AZ instances have no ReplicaLag metric (the standby is not readable; failover is synchronous); the lag
alarm exists for ElastiCache replicas, per member node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30
PROXY_BORROW_LATENCY_US = 100_000
"""Average wait of a query for one of the proxy's database connections (``DatabaseConnectionsBorrowLatency``, in
microseconds) that alarms when it lasts 15 minutes: a failover makes it spike for a minute or two, a pool at its
limit (``MaxConnectionsPercent``, the n8n role's CONNECTION LIMIT) or pinned sessions keep it up."""


@dataclass(frozen=True)
class Alarm:
    """One CloudWatch metric alarm."""

    name: str
    """Suffix of the alarm's name (the component prefixes the stack's)."""
    namespace: str
    metric: str
    dimensions: dict[str, Any]
    statistic: str
    comparison: str
    threshold: float
    description: str
    period: int = 300
    evaluation_periods: int = 3
    treat_missing_data: str = "missing"

    def args(self) -> dict[str, Any]:
        """Keyword arguments of ``aws.cloudwatch.MetricAlarm`` (without the actions)."""
        return {"namespace": self.namespace, "metric_name": self.metric, "dimensions": self.dimensions,
                "statistic": self.statistic, "comparison_operator": self.comparison, "threshold": self.threshold,
                "period": self.period, "evaluation_periods": self.evaluation_periods,
                "datapoints_to_alarm": self.evaluation_periods, "treat_missing_data": self.treat_missing_data,
                "alarm_description": self.description}


def rds_alarms(identifier: Any, *, allocated_gb: int, connection_limit: int, t: Any) -> list[Alarm]:
    """CPU, memory, free storage and connections of the n8n RDS instance (``identifier`` may be an Input)."""
    dims = {"DBInstanceIdentifier": identifier}
    ns = "AWS/RDS"
    return [
        Alarm("rds-cpu", ns, "CPUUtilization", dims, "Average", "GreaterThanThreshold", t.cpu_percent,
              f"RDS CPU above {t.cpu_percent}% for 15 minutes"),
        Alarm("rds-memory", ns, "FreeableMemory", dims, "Average", "LessThanThreshold", 256 * 2**20,
              "RDS freeable memory below 256 MiB: the instance swaps; move to a larger class"),
        Alarm("rds-storage", ns, "FreeStorageSpace", dims, "Minimum", "LessThanThreshold",
              allocated_gb * GIB * t.free_storage_percent // 100,
              f"RDS free storage below {t.free_storage_percent}% of {allocated_gb} GB (autoscaling at its ceiling?)",
              evaluation_periods=1),
        Alarm("rds-connections", ns, "DatabaseConnections", dims, "Maximum", "GreaterThanThreshold",
              connection_limit * t.connections_percent // 100,
              f"RDS connections above {t.connections_percent}% of the n8n role's limit ({connection_limit})"),
    ]


def rds_proxy_alarms(proxy_name: Any, *, clients: int, t: Any) -> list[Alarm]:
    """Borrow latency, client connections, availability and failed logins of the RDS Proxy n8n connects through
    (``proxy_name`` may be an Input). ``clients``: the most connections n8n's roles open at their most replicas
    (``n8n.app.database_clients``), the proxy's client load at full scale. AWS publishes ``AvailabilityPercentage``
    per target group and role only."""
    if clients < 1:
        raise ValueError(f"rds_proxy_alarms: clients must be at least 1, got {clients}")
    dims = {"ProxyName": proxy_name}
    ns = "AWS/RDS"
    near = clients * t.connections_percent // 100
    return [
        Alarm("rds-proxy-borrow-latency", ns, "DatabaseConnectionsBorrowLatency", dims, "Average",
              "GreaterThanThreshold", PROXY_BORROW_LATENCY_US,
              f"RDS Proxy: queries waited over {PROXY_BORROW_LATENCY_US // 1000} ms on average for a database "
              "connection for 15 minutes: the pool is at its limit or sessions are pinned "
              "(DatabaseConnectionsCurrentlySessionPinned)"),
        Alarm("rds-proxy-clients", ns, "ClientConnections", dims, "Maximum", "GreaterThanThreshold", near,
              f"RDS Proxy: client connections above {t.connections_percent}% of the {clients} n8n's pools open at "
              "full scale: no headroom left to scale out (raise the pools and database.connectionLimit together), "
              "or something other than n8n connects"),
        Alarm("rds-proxy-availability", ns, "AvailabilityPercentage",
              {**dims, "TargetGroup": "default", "TargetRole": "READ_WRITE"}, "Minimum", "LessThanThreshold", 100,
              "RDS Proxy: the instance was unavailable to the proxy (failover, reboot or outage); n8n's queries "
              "waited in the proxy up to its borrow timeout", evaluation_periods=1),
        Alarm("rds-proxy-auth-failures", ns, "ClientConnectionsSetupFailedAuth", dims, "Sum",
              "GreaterThanThreshold", 0,
              "RDS Proxy: client logins failed: the n8n Secret's db-password and the proxy's login secret differ "
              "(a password rotation half applied?) or something else tries to log in",
              evaluation_periods=1, treat_missing_data="notBreaching"),
    ]


def elasticache_alarms(members: list[Any], *, t: Any) -> list[Alarm]:
    """CPU, memory, evictions and replication lag of every node of the queue's replication group."""
    ns = "AWS/ElastiCache"
    out: list[Alarm] = []
    for n, member in enumerate(members, start=1):
        dims = {"CacheClusterId": member}
        out += [
            Alarm(f"cache-{n}-cpu", ns, "EngineCPUUtilization", dims, "Average", "GreaterThanThreshold",
                  t.cpu_percent, f"Redis engine CPU above {t.cpu_percent}% (node {n})"),
            Alarm(f"cache-{n}-memory", ns, "DatabaseMemoryUsagePercentage", dims, "Maximum", "GreaterThanThreshold",
                  t.redis_memory_percent,
                  f"Redis memory above {t.redis_memory_percent}% of maxmemory (node {n}); noeviction refuses jobs "
                  "when full", evaluation_periods=1),
            Alarm(f"cache-{n}-evictions", ns, "Evictions", dims, "Sum", "GreaterThanThreshold", 0,
                  f"Redis evicted keys (node {n}): queued jobs were lost; maxmemory-policy must be noeviction",
                  evaluation_periods=1, treat_missing_data="notBreaching"),
        ]
        if n > 1:
            out.append(Alarm(f"cache-{n}-replication-lag", ns, "ReplicationLag", dims, "Maximum",
                             "GreaterThanThreshold", t.replication_lag_seconds,
                             f"Redis replica {n} lags more than {t.replication_lag_seconds} s"))
    return out


def alarm_topic_key_statement(account_id: str) -> dict[str, Any]:
    """Key-policy statement letting CloudWatch alarms publish to an SNS topic encrypted with the key."""
    return {
        "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }


__all__ = ["Alarm", "alarm_topic_key_statement", "elasticache_alarms", "rds_alarms", "rds_proxy_alarms"]
