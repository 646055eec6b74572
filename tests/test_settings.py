"""Stack settings: both stack files are valid, and every kind of bad input stops with a message naming the key,
the value and what is allowed — before any resource is registered."""

from __future__ import annotations

import pytest

from n8n_platform.n8n.spec import N8N_VERSION, N8nSettings
from n8n_platform.schema import SettingsError, quantity_bytes
from n8n_platform.settings import from_config
from tests.harness import Recording, load_stack_config, run_stack


def settings_for(stack: str, overrides: dict | None = None):
    raw, _ = load_stack_config(stack, overrides)
    return from_config(raw)


def problems(stack: str, overrides: dict) -> str:
    with pytest.raises(SettingsError) as caught:
        settings_for(stack, overrides)
    return str(caught.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_are_valid(stack):
    s = settings_for(stack)
    assert s.environment == stack
    assert s.n8n.version == N8N_VERSION


def test_dev_overrides_the_production_defaults():
    dev, prod = settings_for("dev"), settings_for("prod")
    assert (dev.database.engine, dev.redis.mode, dev.protect) == ("patroni", "in-cluster", False)
    assert (prod.database.engine, prod.redis.mode, prod.protect) == ("rds", "elasticache", True)
    assert prod.n8n.worker.min_replicas >= 3 and prod.n8n.webhook.replicas >= 2


# Each case: overrides of the dev stack, the key the message must name, and a phrase of what is allowed.
INVALID = [
    ("unknown-top-level-key", {"databse": {"engine": "rds"}}, "n8n:databse", "unknown key"),
    ("unknown-nested-key", {"n8n": {"worker": {"concurency": 5}}}, "n8n:n8n.worker.concurency", "unknown key"),
    ("environment-not-allowed", {"environment": "staging"}, "n8n:environment", "'dev', 'prod'"),
    ("engine-not-allowed", {"database": {"engine": "mysql"}}, "n8n:database.engine", "'rds', 'patroni'"),
    ("redis-mode-not-allowed", {"redis": {"mode": "sentinel"}}, "n8n:redis.mode", "'in-cluster', 'elasticache'"),
    ("replicas-not-a-number", {"n8n": {"webhook": {"replicas": "two"}}}, "n8n:n8n.webhook.replicas",
     "whole number"),
    ("boolean-not-boolean", {"protect": "maybe"}, "n8n:protect", "boolean"),
    ("section-not-an-object", {"backups": "daily"}, "n8n:backups", "must be an object"),
    ("concurrency-below-5", {"n8n": {"worker": {"concurrency": 2}}}, "n8n:n8n.worker.concurrency", "between 5"),
    ("version-not-2x", {"n8n": {"version": "1.123.4"}}, "n8n:n8n.version", "2.x"),
    ("version-floating-tag", {"n8n": {"version": "latest"}}, "n8n:n8n.version", "pinned"),
    ("bad-cpu-quantity", {"n8n": {"main": {"resources": {"cpuLimit": "two cores"}}}},
     "n8n:n8n.main.resources.cpuLimit", "CPU quantity"),
    ("bad-memory-quantity", {"n8n": {"worker": {"resources": {"memoryLimit": "2GB"}}}},
     "n8n:n8n.worker.resources.memoryLimit", "memory quantity"),
    ("bad-subnet-id", {"cluster": {"privateSubnetIds": ["subnet-1", "subnet-0a1b2c3d4e5f60722"]}},
     "n8n:cluster.privateSubnetIds", "(bad item: 'subnet-1')"),
    ("bad-region", {"aws": {"region": "Ireland"}}, "n8n:aws.region", "AWS region"),
    ("bad-account-id", {"aws": {"accountId": "12345"}}, "n8n:aws.accountId", "12-digit"),
    ("bad-hostname", {"edge": {"hostname": "https://n8n.example.com/"}}, "n8n:edge.hostname", "hostname"),
    ("missing-required-section", {"edge": None}, "n8n:edge", "required"),
    ("bad-cron", {"backups": {"dumpSchedule": "nightly"}}, "n8n:backups.dumpSchedule", "cron"),
    ("bad-namespace", {"namespace": "N8N_Prod"}, "n8n:namespace", "DNS label"),
    ("short-encryption-key", {"encryptionKey": "short"}, "n8n:encryptionKey", "32 characters"),
    ("pi-retention-invalid", {"database": {"rds": {"performanceInsightsRetentionDays": 30}}},
     "n8n:database.rds.performanceInsightsRetentionDays", "multiple of 31"),
    ("postgres-version-unsupported", {"database": {"patroni": {"postgresVersion": "13"}}},
     "n8n:database.patroni.postgresVersion", "'16' or '17'"),
    # cross-field rules
    ("worker-min-above-max", {"n8n": {"worker": {"minReplicas": 5, "maxReplicas": 3}}},
     "n8n:n8n.worker.minReplicas", "must not exceed n8n.worker.maxReplicas"),
    ("multi-main-without-license", {"n8n": {"multiMain": True, "main": {"replicas": 2, "maxReplicas": 2}}},
     "n8n:n8n.multiMain", "licenseActivationKey"),
    ("two-mains-unlicensed", {"n8n": {"main": {"replicas": 2, "maxReplicas": 2}}}, "n8n:n8n.main.replicas",
     "must be 1 unless n8n.multiMain"),
    ("webhook-max-below-min", {"n8n": {"webhook": {"replicas": 3, "maxReplicas": 2}}},
     "n8n:n8n.webhook.maxReplicas", "at least n8n.webhook.replicas"),
    ("request-above-limit", {"n8n": {"main": {"resources": {"cpuRequest": "3", "cpuLimit": "2"}}}},
     "n8n:n8n.main.resources.cpuRequest", "must not exceed"),
    ("elasticache-without-vpc", {"redis": {"mode": "elasticache"}, "cluster": {"vpcId": None}},
     "n8n:cluster.vpcId", "need cluster.vpcId"),
    ("public-schema", {"database": {"schema": "public"}}, "n8n:database.schema", "dedicated schema"),
    ("max-storage-below-allocated", {"database": {"rds": {"allocatedStorageGb": 200, "maxAllocatedStorageGb": 100}}},
     "n8n:database.rds.maxAllocatedStorageGb", "at least database.rds.allocatedStorageGb"),
    ("synchronous-with-one-member", {"database": {"patroni": {"members": 1, "synchronous": True}}},
     "n8n:database.patroni.synchronous", "members >= 2"),
    ("unsatisfiable-patroni-pdb", {"database": {"patroni": {"members": 1}}}, "n8n:database.patroni.members",
     "can never satisfy"),
    ("restore-into-the-source-cluster", {"database": {"patroni": {"restore": {
        "sourceCluster": "n8n-postgres", "targetTime": "2026-11-20T03:00:00Z"}}}},
     "n8n:database.patroni.restore.sourceCluster", "must differ"),
    ("restore-time-without-zone", {"database": {"patroni": {"restore": {
        "sourceCluster": "n8n-old", "targetTime": "2026-11-20 03:00"}}}},
     "n8n:database.patroni.restore.targetTime", "RFC 3339"),
    ("spot-pool-too-few-types", {"workerPool": {"instanceTypes": ["m6i.large", "m6i.large", "m6a.large"]}},
     "n8n:workerPool.instanceTypes", "3 or more distinct"),
    ("graviton-in-an-x86-pool", {"workerPool": {"instanceTypes": ["m6i.xlarge", "m7g.xlarge", "m6a.xlarge"]}},
     "n8n:workerPool.instanceTypes", "Graviton types given: ['m7g.xlarge']"),
    ("desired-outside-bounds", {"workerPool": {"minNodes": 2, "desiredNodes": 1}}, "n8n:workerPool.desiredNodes",
     "must lie between"),
    ("cooldown-not-above-shutdown", {"autoscaling": {"cooldownSeconds": 60}, "n8n": {"gracefulShutdownSeconds": 90}},
     "n8n:autoscaling.cooldownSeconds", "must exceed n8n.gracefulShutdownSeconds"),
    ("shutdown-longer-than-the-spot-notice", {"n8n": {"gracefulShutdownSeconds": 150},
                                              "autoscaling": {"cooldownSeconds": 300}},
     "n8n:n8n.gracefulShutdownSeconds", "two-minute spot interruption notice"),
    ("alb-without-certificate", {"edge": {"certificateArn": None}}, "n8n:edge.certificateArn", "ACM certificate"),
    ("both-cluster-sources", {"cluster": {"kubeconfig": "~/.kube/config"}}, "n8n:cluster.name", "exactly one"),
    ("rds-minor-version-pinned", {"database": {"rds": {"engineVersion": "17.6"}}}, "n8n:database.rds.engineVersion",
     "major version only"),
    ("rds-retention-over-35-days", {"database": {"rds": {"backupRetentionDays": 60}}},
     "n8n:database.rds.backupRetentionDays", "between 1 and 35"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_names_the_key_and_what_is_allowed(overrides, key, allowed):
    message = problems("dev", overrides)
    line = next((line for line in message.splitlines() if line.strip().startswith(f"- {key} =")), None)
    assert line is not None, f"no problem names {key}:\n{message}"
    assert allowed in line


def test_prod_rules_are_stricter_than_dev():
    assert "n8n:database.patroni.members" in problems("prod", {"database": {"engine": "patroni",
                                                                            "patroni": {"members": 2}}})
    assert "n8n:redis.elasticache.nodes" in problems("prod", {"redis": {"elasticache": {"nodes": 1}}})


def test_every_problem_is_reported_at_once():
    message = problems("dev", {"environment": "qa", "namespace": "Bad_NS", "n8n": {"worker": {"concurrency": 1}}})
    assert "3 problem(s)" in message
    for key in ("n8n:environment", "n8n:namespace", "n8n:n8n.worker.concurrency"):
        assert key in message


def test_the_value_given_is_quoted_in_the_message():
    assert "'sentinel'" in problems("dev", {"redis": {"mode": "sentinel"}})


def test_numbers_set_from_the_cli_as_strings_are_accepted():
    s = settings_for("dev", {"n8n": {"worker": {"maxReplicas": "7"}}, "protect": "true"})
    assert s.n8n.worker.max_replicas == 7 and s.protect is True


def test_empty_optional_secret_means_unset():
    assert settings_for("dev", {"encryptionKey": ""}).encryption_key is None


def test_a_partly_set_section_keeps_the_defaults_of_its_own_field():
    """The webhook role's defaults differ from RoleSettings' class defaults: setting only its replicas must keep
    the webhook's resources, and an untouched main keeps main's (not a generic role's)."""
    defaults = N8nSettings()
    s = settings_for("prod", {"n8n": {"webhook": {"replicas": 3}}})
    assert s.n8n.webhook.replicas == 3
    assert s.n8n.webhook.max_replicas == 10 and s.n8n.webhook.resources == defaults.webhook.resources
    assert s.n8n.main == defaults.main and s.n8n.main.resources.memory_limit == "2Gi"


def test_quantities():
    assert quantity_bytes("512Mi") == 512 * 2**20 and quantity_bytes("2G") == 2 * 10**9


def test_bad_config_stops_the_program_before_any_resource_is_registered():
    recording = Recording()
    with pytest.raises(SettingsError) as caught:
        run_stack("dev", {"database": {"engine": "oracle"}}, recording=recording)
    assert "n8n:database.engine" in str(caught.value)
    assert recording.resources == []


def test_the_longest_allowed_shutdown_still_fits_the_spot_notice():
    from n8n_platform.n8n.workloads import termination_grace
    from n8n_platform.settings import SPOT_SAFE_SHUTDOWN_SECONDS

    assert termination_grace("worker", SPOT_SAFE_SHUTDOWN_SECONDS) <= 120
