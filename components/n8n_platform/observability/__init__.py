"""Monitoring of the platform: scrape targets, alert rules, the dashboard, exporters and CloudWatch alarms.

Pure builders (:mod:`.monitors`, :mod:`.rules`, :mod:`.dashboard`, :mod:`.exporters`, :mod:`.alarms`) under one thin
component (:mod:`.component`)."""

from .component import AlarmSpec, CloudWatchTargets, Observability, ObservabilityArgs
from .rules import RuleInputs, RuleThresholds

__all__ = ["AlarmSpec", "CloudWatchTargets", "Observability", "ObservabilityArgs", "RuleInputs", "RuleThresholds"]
