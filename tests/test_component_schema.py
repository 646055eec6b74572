"""Components whose Args are plain values already meet Pulumi's multi-language rules: Pulumi's own analyzer (the one
`pulumi package add` runs) infers their schema, and every input and output carries the docstring users of other
languages will see. The other components take Python-only types (connections, settings sections) from their
neighbours and are composed in Python; flattening their Args is the step before serving them with
`pulumi package add`."""

from __future__ import annotations

import pytest
from pulumi.provider.experimental.analyzer import Analyzer

from n8n_platform.secrets import Secrets
from n8n_platform.storage import ArchiveBucket
from n8n_platform.worker_pool import WorkerPool

SCHEMA_READY = [ArchiveBucket, Secrets, WorkerPool]


@pytest.mark.parametrize("component", SCHEMA_READY, ids=lambda c: c.__name__)
def test_pulumi_infers_a_documented_schema(component):
    analyzed = Analyzer("n8n").analyze([component])
    definition = analyzed["component_definitions"][component.__name__]
    assert definition.description
    assert definition.inputs and definition.outputs
    undocumented = [k for k, v in {**definition.inputs, **definition.outputs}.items() if not v.description]
    assert undocumented == []
    assert all(key[0].islower() and "_" not in key for key in definition.inputs)  # camelCase wire names
