"""What an n8n deployment is asked to be: version, roles, runners, execution-data policy.

:class:`N8nSettings` is the ``n8n`` section of the stack settings and the vocabulary of
:class:`~n8n_platform.n8n.app.N8nApp`; its defaults are the platform's."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ..schema import Section, at_least, between, matches, non_empty, setting
from ..vocabulary import Resources, resources

N8N_VERSION = "2.40.7"
"""The n8n version the real-n8n end-to-end test runs; the default image tag, so what we deploy is what we proved."""


N8N_VERSION_PATTERN = r"2\.[0-9]+\.[0-9]+"
"""An n8n 2.x release, pinned (``2.40.7``): what ``n8n.version`` and N8nApp's ``version`` accept."""


@dataclass(frozen=True, kw_only=True)
class RoleSettings(Section):
    """Replicas and resources of one n8n role (main or webhook processors)."""

    replicas: int = setting("Replicas (the minimum when autoscaled).", 1, check=at_least(0))
    max_replicas: int = setting("Upper bound for the HorizontalPodAutoscaler (webhook processors).", 1,
                                check=at_least(1))
    resources: Resources = setting("Container resources.", Resources())


@dataclass(frozen=True, kw_only=True)
class WorkerSettings(Section):
    """The worker pool that runs executions."""

    min_replicas: int = setting("Fewest workers; KEDA never scales below it.", 3, check=at_least(0))
    max_replicas: int = setting("Most workers; KEDA never scales above it.", 20, check=at_least(1))
    concurrency: int = setting("Executions one worker runs at once (`n8n worker --concurrency`); 5 or more.", 10,
                               check=between(5, 200))
    resources: Resources = setting("Container resources.", resources("500m", "2", "1Gi", "2Gi"))


class LogLevel(StrEnum):
    """n8n log level (``N8N_LOG_LEVEL``)."""

    ERROR = "error"
    """Errors only."""
    WARN = "warn"
    """Warnings and errors."""
    INFO = "info"
    """Normal operation."""
    DEBUG = "debug"
    """Everything (verbose)."""


LogLevelName = Literal["error", "warn", "info", "debug"]
"""The values of :class:`LogLevel`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    LogLevelArg = LogLevel | LogLevelName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    LogLevelArg = LogLevel


@dataclass(frozen=True, kw_only=True)
class N8nSettings(Section):
    """The n8n application: version, roles, runners and execution-data policy."""

    version: str = setting("n8n version; the tag of both the n8n and the n8nio/runners images.", N8N_VERSION,
                           check=matches(N8N_VERSION_PATTERN, "an n8n 2.x release such as 2.40.7 (pinned)"))
    image: str = setting("n8n image repository.", "docker.n8n.io/n8nio/n8n", check=non_empty)
    runners_image: str = setting("External task-runner image repository (same tag as n8n).",
                                 "docker.n8n.io/n8nio/runners", check=non_empty)
    multi_main: bool = setting("Run several mains (leader election). Needs an Enterprise license in "
                               "`n8n:licenseActivationKey`.", False)
    main: RoleSettings = setting("The main process: editor, REST API, triggers and timers.",
                                 RoleSettings(replicas=1, max_replicas=1,
                                              resources=resources("500m", "2", "1Gi", "2Gi")))
    webhook: RoleSettings = setting("Webhook processors: receive production webhooks and enqueue them.",
                                    RoleSettings(replicas=2, max_replicas=10,
                                                 resources=resources("250m", "1", "512Mi", "1Gi")))
    worker: WorkerSettings = setting("Workers: run the queued executions.", WorkerSettings())
    runners: Resources = setting("The n8nio/runners sidecar next to every worker (the only role that runs code).",
                                 resources("100m", "1", "256Mi", "512Mi"))
    graceful_shutdown_seconds: int = setting(
        "`N8N_GRACEFUL_SHUTDOWN_TIMEOUT`: how long a stopping process lets running executions finish.", 60,
        check=between(10, 3600))
    execution_max_age_hours: int = setting("Prune execution data older than this (`EXECUTIONS_DATA_MAX_AGE`).", 336,
                                           check=at_least(1))
    execution_max_count: int = setting("Keep at most this many executions (`EXECUTIONS_DATA_PRUNE_MAX_COUNT`).",
                                       50000, check=at_least(100))
    timezone: str = setting("`GENERIC_TIMEZONE` for schedule triggers.", "UTC", check=non_empty)
    log_level: LogLevel = setting("`N8N_LOG_LEVEL`.", LogLevel.INFO)


def multi_main_problem(multi_main: bool, licensed: bool) -> str | None:
    """The license rule of several mains (the one place it is written): n8n runs leader election between mains only
    under an Enterprise license, so more than one main without one is refused."""
    return "multi-main needs an Enterprise license" if multi_main and not licensed else None
