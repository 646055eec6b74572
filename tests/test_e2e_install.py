"""The real-n8n installer (tools/testing/e2e/install.py) for more than one version: each its own cache dir and
overrides."""

from __future__ import annotations

import pytest

from tools.testing.e2e import install


def test_the_default_version_keeps_its_package_and_cache_dir():
    assert install.package_json() == {"name": "n8n-e2e", "private": True, "version": "0.0.0",
                                      "dependencies": {"n8n": install.N8N_VERSION}, "overrides": install.OVERRIDES}
    assert install.install_dir().name.startswith(f"n8n-{install.N8N_VERSION}-")


def test_an_older_version_gets_its_own_dir_and_the_legacy_overrides():
    older = install.package_json(install.OLDER_VERSION)
    assert older["dependencies"] == {"n8n": install.OLDER_VERSION}
    assert older["overrides"]["xlsx"].startswith("npm:@e965/xlsx@")
    assert install.install_dir(install.OLDER_VERSION) != install.install_dir()
    assert install.install_dir(install.OLDER_VERSION).name.startswith(f"n8n-{install.OLDER_VERSION}-")


def test_a_version_that_is_not_a_2x_release_is_refused():
    with pytest.raises(ValueError, match=r"version '1\.123\.0' must be an n8n 2\.x release"):
        install.install_n8n("1.123.0")
