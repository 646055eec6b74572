"""backups.replicaRegion: each rule triggered with its whole message, and the regions just inside them accepted
(the replication component's own tests build the replica; these pin the settings rules alone)."""

from __future__ import annotations

import pytest

from tests.test_settings_rules import PORTABLE, lines


def replica(region: str) -> dict:
    return {"backups": {"replicaRegion": region}}


@pytest.mark.parametrize(("stack", "overrides", "expected"), [
    ("prod", [replica("eu-west-1")], "n8n:backups.replicaRegion = 'eu-west-1': must differ from aws.region "
                                     "(eu-west-1): a replica in the same region does not survive its loss"),
    ("prod", [replica("cn-north-1")], "n8n:backups.replicaRegion = 'cn-north-1': must be in the partition of "
                                      "aws.region (eu-west-1)"),
    ("dev", [PORTABLE, replica("eu-central-1")], "n8n:backups.replicaRegion = 'eu-central-1': the backup buckets "
                                                 "exist only on AWS (cluster.name)"),
])
def test_a_replica_region_is_refused_naming_the_rule(stack, overrides, expected):
    assert lines(stack, *overrides) == [expected]


@pytest.mark.parametrize(("stack", "region"), [("prod", "eu-central-1"), ("dev", "us-east-1"), ("prod", None)])
def test_another_region_of_the_same_partition_on_eks_is_accepted(stack, region):
    assert lines(stack, replica(region)) == []
