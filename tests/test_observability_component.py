"""The Observability component as a public, served component: its depends_on comes through opts and reaches every
monitor and rule, thresholds and further alarms arrive as the plain mappings other languages send, and misuse fails
before anything is registered."""

import json

import pulumi
import pytest

from n8n_platform.observability import AlarmSpec, CloudWatchTargets, Observability, RuleInputs, RuleThresholds
from n8n_platform.observability.rules import alert_thresholds
from n8n_platform.observability.spec import AlertThresholds
from n8n_platform.schema import SettingsError
from tests.harness import run

RULES = RuleInputs(namespace="n8n", memory_limits={"main": "2Gi", "worker": "2Gi"}, redis_in_cluster=True,
                   patroni_cluster=None, dump_cron_job=None)
MONITORING = ("monitoring.coreos.com/v1:ServiceMonitor", "monitoring.coreos.com/v1:PodMonitor",
              "monitoring.coreos.com/v1:PrometheusRule")


def args(**over):
    return {"namespace": "n8n", "prometheus_release": "kps", "rules": RULES, "grafana_folder": "n8n", **over}


def rule_text(rec) -> str:
    return json.dumps(rec.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs)


def test_opts_depends_on_reaches_every_monitor_and_rule():
    import pulumi_kubernetes as kubernetes

    def program():
        crds = kubernetes.core.v1.Namespace("crds", metadata={"name": "monitoring"})
        Observability("obs", args(), pulumi.ResourceOptions(depends_on=[crds]))

    rec = run(program)
    monitoring = [r for r in rec.resources if r.type.split(":", 1)[-1] in MONITORING]
    assert len(monitoring) >= 3
    assert all(r.parent == "obs" and "crds" in r.options["depends_on"] for r in monitoring)


def test_thresholds_as_a_partial_mapping_override_only_what_they_name():
    rules = RuleInputs(**{**RULES.__dict__, "thresholds": RuleThresholds(queue_backlog_jobs=7)})
    rec = run(lambda: Observability("obs", args(rules=rules)))
    assert "> 7" in rule_text(rec)
    assert alert_thresholds({"queue_backlog_jobs": 7}) == AlertThresholds(queue_backlog_jobs=7)


def test_the_thresholds_type_lists_exactly_the_settings_thresholds():
    assert list(RuleThresholds.__annotations__) == list(AlertThresholds.__dataclass_fields__)


def test_further_alarms_take_alarm_specs_or_metric_alarm_mappings():
    targets = CloudWatchTargets(kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k", more_alarms={
        "typed": AlarmSpec(namespace="AWS/S3", metric_name="A", dimensions={"B": "x"}, statistic="Sum",
                           comparison_operator="GreaterThanThreshold", threshold=0, alarm_description="typed"),
        "mapping": {"namespace": "AWS/S3", "metric_name": "M", "dimensions": {"B": "y"}, "statistic": "Sum",
                    "comparison_operator": "GreaterThanThreshold", "threshold": 1, "alarm_description": "mapped",
                    "treat_missing_data": "notBreaching"}})
    rec = run(lambda: Observability("obs", args(cloudwatch=targets)))
    alarms = {r.name: r.inputs for r in rec.find("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["obs-typed"]["metricName"] == "A" and "datapointsToAlarm" not in alarms["obs-typed"]
    assert alarms["obs-mapping"]["treatMissingData"] == "notBreaching"
    assert alarms["obs-mapping"]["alarmActions"] == alarms["obs-typed"]["alarmActions"]


@pytest.mark.parametrize(("over", "error", "message"), [
    ({"depends_on": []}, TypeError, "unexpected argument 'depends_on'"),
    ({"namespace": pulumi.Output.from_input("n8n")}, TypeError, "'namespace' must be a plain value"),
    ({"rules": {**RULES.__dict__, "thresholds": {"cpu_percent": 500}}}, SettingsError,
     r"rules\.thresholds\.cpuPercent = 500"),
    ({"rules": {"namespace": "n8n"}}, TypeError, "lacks required field"),
])
def test_misuse_fails_before_anything_is_registered(over, error, message):
    with pytest.raises(error, match=message):
        run(lambda: Observability("obs", args(**over)))


def test_proxy_alarms_need_the_client_count():
    from n8n_platform.observability import CloudWatchTargets

    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    with pytest.raises(ValueError, match=r"cloudwatch\.rds_proxy_clients must be a whole number .* got 0"):
        run(lambda: Observability("obs", args(cloudwatch=CloudWatchTargets(kms_key_arn=key, rds_proxy_name="p"))))
    rec = run(lambda: Observability("obs", args(cloudwatch=CloudWatchTargets(
        kms_key_arn=key, rds_proxy_name="p", rds_proxy_clients=50))))
    proxy = [a for a in rec.find("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["dimensions"].get("ProxyName")]
    assert len(proxy) == 4 and {a.inputs["dimensions"]["ProxyName"] for a in proxy} == {"p"}
