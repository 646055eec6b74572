"""tools/testing/mutate.py (make mutate): the mutation config is consistent, modules are found by file or name, mutmut
gets the settings this repository needs, and the score counts what the issue asks for."""

from __future__ import annotations

import tomllib

import pytest

from tools.offline import ROOT
from tools.testing import mutate


def test_every_module_names_existing_files_and_tests():
    config = mutate.load_config()
    modules = mutate.modules(config)
    assert [m.name for m in modules][:4] == ["redis_conf", "settings", "n8n_env", "namespace"]
    for module in modules:
        assert all((ROOT / f).is_file() for f in module.files), module.name
        assert all((ROOT / t.partition("::")[0]).is_file() for t in module.tests), module.name
        assert all((ROOT / t.partition("::")[0]).is_file() for t in module.deselect), module.name


def test_every_equivalent_mutant_belongs_to_a_module_and_says_why():
    config = mutate.load_config()
    stems = {f.rsplit("/", 1)[-1].removesuffix(".py") for m in mutate.modules(config) for f in m.files}
    for key, reason in config.get("equivalent", {}).items():
        where, _, line = key.partition(" | ")
        assert where.split(".")[0] in stems and line, key
        assert len(reason.split()) >= 3, f"{key}: say why no test can tell it from the original"


def test_modules_are_selected_by_file_by_name_or_by_convention():
    config = mutate.load_config()
    assert [m.name for m in mutate.select(config, "components/n8n_platform/schema.py")] == ["settings"]
    assert [m.name for m in mutate.select(config, "./components/n8n_platform/redis/conf.py")] == ["redis_conf"]
    assert [m.name for m in mutate.select(config, "namespace")] == ["namespace"]
    assert len(mutate.select(config, None)) == len(config["modules"])
    [k8s] = mutate.select(config, "components/n8n_platform/k8s.py")  # not listed: tests/test_k8s.py by convention
    assert (k8s.files, k8s.tests) == (["components/n8n_platform/k8s.py"], ["tests/test_k8s.py"])
    with pytest.raises(SystemExit, match="neither a module"):
        mutate.select(config, "components/n8n_platform/nothing.py")


def test_mutmut_runs_in_forkserver_mode_on_the_sandboxed_library_with_the_module_tests():
    config = mutate.load_config()
    [module] = mutate.select(config, "namespace")
    section = mutate.mutmut_section(module, config)
    assert section["process_isolation"] == "forkserver"
    assert section["only_mutate"] == ["src/n8n_platform/namespace.py"]
    assert section["source_paths"] == ["src/n8n_platform"]
    assert {"tools", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"} <= set(section["also_copy"])
    assert section["pytest_add_cli_args_test_selection"] == module.tests
    args = section["pytest_add_cli_args"]
    assert "no:xdist" in args and args.count("--deselect") == len(module.deselect)
    text = "".join(f"{key} = {mutate.toml_value(value)}\n" for key, value in section.items())
    assert tomllib.loads(text) == section


def test_score_counts_reached_mutants_and_leaves_equivalent_ones_out():
    result = mutate.Result(mutate.Module("m", [], []), mutants=14, killed=9, not_reached=2,
                           survivors={"a": "m.f | x"}, equivalent={"b": "m.f | y"})
    assert result.reached == 11
    assert result.score == 90.0
    assert mutate.Result(mutate.Module("m", [], [])).score == 100.0
    assert mutate.toml_value([True, 1, "a\"b"]) == '[true, 1, "a\\"b"]'


def test_the_policy_rules_are_mutated_where_they_are_with_the_pack_config_beside_them():
    config = mutate.load_config()
    [policy] = mutate.select(config, "policy/n8n_policy/k8s.py")
    assert policy.name == "policy" and mutate.outside_library(policy) == ["policy"]
    section = mutate.mutmut_section(policy, config)
    assert section["only_mutate"] == policy.files  # not moved to src/ like the library: imported as policy.n8n_policy
    assert section["source_paths"] == ["src/n8n_platform", "policy/n8n_policy"]
    assert {"policy/config", "policy/PulumiPolicy.yaml", "policy/__main__.py"} <= set(section["also_copy"])
    assert not any(path.startswith("policy/n8n_policy") for path in section["also_copy"])
    assert mutate.in_sandbox("components/n8n_platform/k8s.py") == "src/n8n_platform/k8s.py"
    assert mutate.in_sandbox("policy/n8n_policy/k8s.py") == "policy/n8n_policy/k8s.py"


def test_a_module_with_warm_up_calls_gets_a_fork_server_that_collects_and_then_makes_them(tmp_path):
    config = mutate.load_config()
    [policy] = mutate.select(config, "policy")
    section = mutate.mutmut_section(policy, config)
    assert section["forkserver_warmup"] == "import" and mutate.WARM_UP in section["also_copy"]
    source = mutate.warm_up_module(policy, section)
    compile(source, mutate.WARM_UP, "exec")
    assert "'--collect-only', '-qqq', 'tests/test_policy.py'" in source
    assert "['tests.test_policy', 'recording', 'prod']" in source
    [namespace] = mutate.select(config, "namespace")
    assert "forkserver_warmup" not in mutate.mutmut_section(namespace, config)  # mutmut's own warm-up: collecting
