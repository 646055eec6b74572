"""Entry point the Pulumi CLI runs for `--policy-pack policy`: serves the n8n platform's rules."""

from n8n_policy import NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
