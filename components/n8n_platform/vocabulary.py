"""The value types every component speaks: container resources and network ranges.

Components and the stack settings (:mod:`.settings`) both use these; nothing here knows about a stack."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
from dataclasses import dataclass

from .schema import CPU, MEMORY, matches, setting


def cidr(value: str) -> str | None:
    """An IPv4 or IPv6 network in CIDR notation, host bits zero."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return "must be a CIDR with zero host bits, such as 203.0.113.0/24 or 2001:db8::/32"
    return None if "/" in value else "must be a CIDR with a prefix length, such as 203.0.113.0/24"


@dataclass(frozen=True, kw_only=True)
class Resources:
    """CPU and memory requests and limits of one container."""

    cpu_request: str = setting("CPU the scheduler reserves.", "250m", check=CPU)
    cpu_limit: str = setting("CPU ceiling; throttled above it.", "1", check=CPU)
    memory_request: str = setting("Memory the scheduler reserves.", "512Mi", check=MEMORY)
    memory_limit: str = setting("Memory ceiling; the container is OOM-killed above it.", "1Gi", check=MEMORY)


def resources(cpu_request: str, cpu_limit: str, memory_request: str, memory_limit: str) -> Resources:
    return Resources(cpu_request=cpu_request, cpu_limit=cpu_limit, memory_request=memory_request,
                     memory_limit=memory_limit)


SUBNET_ID = matches(r"subnet-[0-9a-f]{8,17}", "an EC2 subnet id such as subnet-0a1b2c3d4e5f60718")
