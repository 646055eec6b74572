"""The architecture picture is drawn from what the program registered: its arrows are real input dependencies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.harness import run_stack
from tools.docs.diagram import architecture_svg, components, flows, layers


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod")


def test_arrows_follow_the_connections_from_the_data_layer_to_the_workloads(prod):
    boxes = components(prod)
    kinds = {b.name: b.type.rsplit(":", 1)[1] for b in boxes}
    edges = {(kinds[a], kinds[b]) for a, b in flows(prod, boxes)}
    assert {("RdsDatabase", "N8nApp"), ("ElastiCacheRedis", "N8nApp"), ("Secrets", "N8nApp"),
            ("ArchiveBucket", "DatabaseDumps"), ("N8nApp", "WorkerAutoscaling")} <= edges
    assert ("N8nApp", "RdsDatabase") not in edges  # connections flow one way


def test_every_arrow_points_to_a_later_column(prod):
    boxes = components(prod)
    edges = flows(prod, boxes)
    column = layers([b.name for b in boxes], edges)
    assert edges and all(column[a] < column[b] for a, b in edges)


def test_the_svg_is_well_formed_with_one_box_per_component(prod):
    svg = ET.fromstring(architecture_svg(prod))
    ns = "{http://www.w3.org/2000/svg}"
    boxes = [r for r in svg.iter(f"{ns}rect") if r.get("rx")]
    assert len(boxes) == len(components(prod))
    arrows = [p for p in svg.iter(f"{ns}path") if p.get("marker-end")]
    assert len(arrows) == len(flows(prod, components(prod)))
