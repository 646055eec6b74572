"""The live-vs-desired comparison the engine tests rely on (pure; runs in the default `make test`)."""

from fractions import Fraction

from tools.testing.engine.compare import SECRET, differences, quantity


def test_quantities_compare_by_value():
    assert quantity("500m") == quantity("0.5") == Fraction(1, 2)
    assert quantity("1Gi") == 2**30 and quantity("1G") == 10**9
    assert quantity("http") is None and quantity(True) is None


def test_live_defaults_are_allowed_but_every_desired_field_must_match():
    desired = {"spec": {"replicas": 2, "template": {"containers": [{"name": "n8n", "resources": {"limits": {
        "cpu": "1000m"}}}]}}}
    live = {"spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"containers": [{
        "name": "n8n", "imagePullPolicy": "IfNotPresent", "resources": {"limits": {"cpu": "1"}}}]}}}
    assert differences(desired, live) == []
    live["spec"]["replicas"] = 3
    assert differences(desired, live) == [".spec.replicas: expected 2, found 3"]


def test_a_missing_false_or_a_shorter_list_is_a_difference_and_secrets_are_skipped():
    assert differences({"automountServiceAccountToken": False}, {}) != []
    assert differences({"ports": [1, 2]}, {"ports": [1]}) != []
    assert differences({"stringData": SECRET}, {"stringData": "anything"}) == []
    assert differences({"labels": {}}, {}) == []
