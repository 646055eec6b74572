"""CloudWatch alarms for what Prometheus cannot scrape: RDS and ElastiCache. Plain data; the component creates one
``aws.cloudwatch.MetricAlarm`` per entry, all notifying one SNS topic (alarm and recovery).

RDS Multi-AZ instances have no ReplicaLag metric (the standby is not readable; failover is synchronous); the lag
alarm exists for ElastiCache replicas, per member node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30


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


__all__ = ["Alarm", "alarm_topic_key_statement", "elasticache_alarms", "rds_alarms"]
