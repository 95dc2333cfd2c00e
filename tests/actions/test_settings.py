from __future__ import annotations

from pathlib import Path

from actions.settings import DEMO_IDENTITY_SECRET, load_settings


def test_defaults(tmp_path):
    settings = load_settings({}, repo_root=tmp_path)
    assert settings.db_path == tmp_path / "var" / "subscribers.sqlite3"
    assert settings.identity_secret == DEMO_IDENTITY_SECRET
    assert settings.identity_secret_is_demo
    assert settings.router_url is None and settings.service_token is None


def test_environment_overrides(tmp_path):
    env = {
        "ASSISTANT_DB_PATH": "data/x.sqlite3",
        "ASSISTANT_IDENTITY_SECRET": "s3cret-value",
        "ASSISTANT_ROUTER_URL": "http://127.0.0.1:8100/",
        "ASSISTANT_SERVICE_TOKEN": "tok-123",
    }
    settings = load_settings(env, repo_root=tmp_path)
    assert settings.db_path == tmp_path / "data" / "x.sqlite3"
    assert settings.router_url == "http://127.0.0.1:8100"
    assert not settings.identity_secret_is_demo
    assert "s3cret-value" not in repr(settings) and "tok-123" not in repr(settings)


def test_absolute_db_path_kept(tmp_path):
    target = tmp_path / "elsewhere.sqlite3"
    assert load_settings({"ASSISTANT_DB_PATH": str(target)}).db_path == target


def test_default_root_is_the_repository():
    assert (load_settings({}).repo_root / "catalog" / "plans.yml").exists()
    assert isinstance(load_settings({}).catalog_root, Path)
