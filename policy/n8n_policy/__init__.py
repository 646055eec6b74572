"""The n8n platform's policy pack: its rules as plain CrossGuard policies (`POLICIES`).

Only `policy/__main__.py` builds the `PolicyPack` (constructing one starts the analyzer's gRPC server); tests and
`tools.ci.policy_check` run the same policies' `validate` directly over an offline plan.
"""

from . import aws, eks, k8s, protection

POLICIES = [*aws.POLICIES, *eks.POLICIES, *k8s.POLICIES, *protection.POLICIES]
"""Every rule of the pack, in the order the README lists them."""

NAME = "n8n-platform"
