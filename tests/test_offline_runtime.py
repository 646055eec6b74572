"""The offline runtime the tests and the plan stand on: it must catch what the real engine would reject and what
the mock runtime silently lets through."""

from __future__ import annotations

import pulumi
import pulumi_random as random
import pytest

from tools import offline


def test_duplicate_names_fail_like_the_real_engine():
    def program():
        random.RandomPassword("same", length=16)
        random.RandomPassword("same", length=16)

    with pytest.raises(Exception, match="duplicate resource name"):
        offline.run(program)


def test_unknown_invokes_raise_instead_of_returning_nothing():
    import pulumi_aws as aws

    def program():
        return aws.ec2.get_vpc_output(id="vpc-1").cidr_block

    with pytest.raises(Exception, match="no answer for invoke aws:ec2/getVpc:getVpc"):
        offline.run(program)


def test_an_output_in_an_f_string_fails_loudly():
    def program():
        password = random.RandomPassword("p", length=16)
        return f"{password.result}"

    with pytest.raises(Exception, match="Calling __str__ on an Output"):
        offline.run(program)


def test_registrations_carry_parent_options_and_secret_inputs():
    class Box(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("n8n:index:Box", name, None, None)
            self.password = random.RandomPassword(f"{name}-pw", length=20,
                                                  opts=pulumi.ResourceOptions(parent=self, protect=True,
                                                                              retain_on_delete=True))
            random.RandomString(f"{name}-user", length=8, keepers={"pw": self.password.result},
                                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.password]))
            self.register_outputs({})

    recording = offline.run(lambda: Box("box"))
    pw = recording.one("random:index/randomPassword:RandomPassword")
    assert (pw.parent, pw.options["protect"], pw.options["retain_on_delete"]) == ("box", True, True)
    user = recording.one("random:index/randomString:RandomString", "box-user")
    assert offline.is_secret(user.inputs["keepers"]) or offline.is_secret(user.inputs["keepers"]["pw"])
    assert user.options["input_dependencies"] == ["box-pw"]
    assert [r.name for r in recording.descendants("box")] == ["box-pw", "box-user"]
    assert offline.redacted(user.inputs)["keepers"] == {"pw": "[secret]"}


def test_stack_config_merges_defaults_and_hides_secure_values(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: n8n\nruntime: python\nconfig:\n  n8n:namespace:\n"
                                          "    type: string\n    default: n8n\n")
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  aws:region: eu-west-1\n  n8n:environment: dev\n"
                                             "  n8n:encryptionKey:\n    secure: v1:abc\n")
    raw, secrets = offline.load_stack_config("qa", {"namespace": "other"}, root=tmp_path)
    assert raw["namespace"] == "other" and raw["environment"] == "dev" and "region" not in raw
    assert secrets == ["encryptionKey"] and raw["encryptionKey"].startswith("dummy-secret-")


def test_a_missing_stack_file_names_the_stacks_there(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: n8n\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    with pytest.raises(FileNotFoundError, match="stacks here: dev"):
        offline.load_stack_config("prod", root=tmp_path)
