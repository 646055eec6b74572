"""tools/mutate.py (make mutate): the mutation config is consistent, modules are found by file or name, mutmut gets
the settings this repository needs, and the score counts what the issue asks for."""

from __future__ import annotations

import tomllib

import pytest

from tools import mutate
from tools.offline import ROOT


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
    assert [m.name for m in mutate.select(config, "./components/n8n_platform/redis_conf.py")] == ["redis_conf"]
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
