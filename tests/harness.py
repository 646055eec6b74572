"""Test conveniences over the offline runtime (tools.offline): run a component or a whole stack under mocks."""

from tools.offline import (  # noqa: F401  (re-exported for tests)
    INVOKES,
    Recording,
    Registration,
    is_secret,
    load_stack_config,
    manifest,
    plain,
    redacted,
    run,
    run_stack,
)
