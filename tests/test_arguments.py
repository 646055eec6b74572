"""The shared Args helpers: an Output where a plain value is needed fails at once naming the argument (also where
users run, without PULUMI_ERROR_OUTPUT_STRING), resources as a plain mapping, retain_on_delete following protect."""

import os
import subprocess
import sys

import pulumi
import pytest

from n8n_platform.arguments import (
    PlainValueRequired,
    container_resources,
    dns_label,
    known,
    plain,
    retain_on_delete,
    text,
)
from n8n_platform.vocabulary import Resources
from tools.offline import PYTHONPATH, ROOT

DEFAULT = Resources()


def test_plain_values_pass_through_and_outputs_fail_naming_component_and_argument():
    assert plain("Redis", "memory", "1Gi") == "1Gi"
    assert plain("X", "ids", ["a", "b"]) == ["a", "b"]
    with pytest.raises(PlainValueRequired, match=r"Redis: argument 'memory' must be a plain value"):
        plain("Redis", "memory", pulumi.Output.from_input("1Gi"))
    with pytest.raises(PlainValueRequired, match=r"argument 'ids\[1\]'"):
        plain("X", "ids", ["a", pulumi.Output.from_input("b")])
    with pytest.raises(PlainValueRequired, match=r"argument 'limits.cpu'"):
        plain("X", "limits", {"cpu": pulumi.Output.from_input("1")})


def test_unknown_argument_keys_fail_instead_of_silently_taking_the_default():
    from n8n_platform.redis import RedisArgs

    assert known("Redis", {"namespace": "n"}, RedisArgs) == {"namespace": "n"}
    with pytest.raises(TypeError, match=r"Redis: unexpected argument 'storgae_size'"):
        known("Redis", {"namespace": "n", "storgae_size": "1Gi"}, RedisArgs)


@pytest.mark.parametrize(("given", "protect", "kept"), [
    ({}, True, True), ({}, False, False), ({"retain_on_delete": True}, False, True),
    ({"retain_on_delete": False}, True, False), ({"retain_on_delete": None}, True, True)])
def test_retain_on_delete_follows_protect_unless_given(given, protect, kept):
    assert retain_on_delete(given, protect) is kept


def test_resources_as_a_mapping_in_either_spelling_with_defaults_for_the_rest():
    assert container_resources("N8nApp", "main_resources", None, DEFAULT) is DEFAULT
    r = Resources(cpu_request="1", cpu_limit="2", memory_request="1Gi", memory_limit="2Gi")
    assert container_resources("N8nApp", "main_resources", r, DEFAULT) is r
    got = container_resources("N8nApp", "main_resources", {"cpuRequest": "100m", "memory_limit": "2Gi"}, DEFAULT)
    assert got == Resources(cpu_request="100m", cpu_limit=DEFAULT.cpu_limit, memory_request=DEFAULT.memory_request,
                            memory_limit="2Gi")
    with pytest.raises(TypeError, match=r"N8nApp: argument 'main_resources' has unknown key 'cpu'"):
        container_resources("N8nApp", "main_resources", {"cpu": "1"}, DEFAULT)
    with pytest.raises(TypeError, match=r"must be a mapping"):
        container_resources("N8nApp", "main_resources", "1 cpu", DEFAULT)


def test_dns_labels_are_checked_with_room_for_suffixes():
    assert dns_label("Redis", "name", "queue-b") == "queue-b"
    for bad in ("Queue", "-a", "a_b", "x" * 60):
        with pytest.raises(ValueError, match=r"Redis: argument 'name'"):
            dns_label("Redis", "name", bad, room=9)


def test_text_stays_plain_for_plain_parts_and_becomes_an_output_otherwise():
    assert text("redis", ".", "n8n", ".svc") == "redis.n8n.svc"
    assert isinstance(text("redis.", pulumi.Output.from_input("n8n")), pulumi.Output)


# What a user's program sees: no PULUMI_ERROR_OUTPUT_STRING (our test runtime sets it), so str(Output) is garbage
# text, not an error. The component must fail by itself.
USER_PROGRAM = """
import os, pulumi
assert "PULUMI_ERROR_OUTPUT_STRING" not in os.environ
assert "Calling __str__" in f"{pulumi.Output.from_input('x')}"   # what would reach names and hosts unchecked

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "_id", args.inputs
    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), preview=False)
from n8n_platform import PlainValueRequired, Redis
try:
    Redis("r", {"namespace": "n8n", "name": pulumi.Output.from_input("queue")})
except PlainValueRequired as e:
    print(e)
else:
    raise SystemExit("no error")
"""


def test_an_output_for_a_plain_argument_fails_clearly_where_users_run():
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_ERROR_OUTPUT_STRING"}
    env["PYTHONPATH"] = PYTHONPATH
    done = subprocess.run([sys.executable, "-c", USER_PROGRAM], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Redis: argument 'name' must be a plain value known when the program runs, not an Output" in done.stdout


def test_structured_builds_connection_types_from_mappings_as_other_languages_send_them():
    from n8n_platform.arguments import structured
    from n8n_platform.connections import CaSource, RedisConnection, SecretKeyRef

    got = structured("N8nApp", "redis", RedisConnection, {
        "host": "r", "port": 6379, "tls": True, "managed": False, "prefix": "bull",
        "password": {"secret": "s", "key": "k"}, "ca": {"source": "secret", "name": "r-tls", "key": "ca.crt"}})
    assert got.password == SecretKeyRef("s", "k") and got.ca.source is CaSource.SECRET
    assert structured("N8nApp", "redis", RedisConnection, got) is got
    left_out = structured("N8nApp", "redis", RedisConnection,
                          {"host": "r", "port": 6379, "tls": False, "managed": True, "prefix": "bull"})
    assert left_out.password is None and left_out.ca is None
    with pytest.raises(TypeError, match=r"argument 'redis' lacks required field\(s\) \['port'\]"):
        structured("N8nApp", "redis", RedisConnection, {"host": "r", "tls": False, "managed": True})
    with pytest.raises(TypeError, match=r"argument 'redis.password' has unexpected field\(s\) \['name'\]"):
        structured("N8nApp", "redis", RedisConnection, {"host": "r", "port": 1, "tls": False, "managed": True,
                                                        "password": {"name": "x"}})
    with pytest.raises(PlainValueRequired, match="argument 'redis'"):
        structured("N8nApp", "redis", RedisConnection, pulumi.Output.from_input({}))
