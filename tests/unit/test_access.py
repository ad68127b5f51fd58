"""Roles from configuration, and every changing service function refusing a viewer."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipeline import history
from pipeline.access import (
    AccessDeniedError,
    Actor,
    Role,
    Roles,
    RolesConfigError,
    require_operator,
    shell_user,
)
from pipeline.build import rebuild as rebuild_module
from pipeline.build import registry
from pipeline.build.dbt_runner import DbtOutcome
from pipeline.build.jobs import BuildJob
from pipeline.build.lock import is_locked
from pipeline.build.rebuild import rebuild
from pipeline.history import RunRecord
from pipeline.ingest import uploads
from pipeline.ingest.importer import import_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.settings import Settings

VIEWER = Actor("vera@example.com", Role.VIEWER)
OPERATOR = Actor("olga@example.com", Role.OPERATOR)
CUSTOMERS = "id,Churn,Plan,tenure\na1,Yes,basic,3\na2,No,pro,40\na3,No,basic,12\n"
MAPPING: dict[str, Any] = {
    "name": "Flat shop",
    "kind": "flat",
    "sources": {"crm": "customers.csv"},
    "tables": {
        "customer_exports": {
            "from": "crm",
            "columns": {"account_id": "id", "churned": "Churn", "plan": "Plan"},
        }
    },
    "features": {"tenure": {"label": "Months as a customer", "kind": "numeric"}},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()


def mapping_file(settings: Settings) -> Path:
    data = settings.data_dirs[0]
    (data / "customers.csv").write_text(CUSTOMERS)
    path = data / "flat.yml"
    path.write_text(yaml.safe_dump(MAPPING, sort_keys=False))
    return path


# --- roles from configuration ----------------------------------------------------------


def test_operators_are_listed_by_email_or_whole_domain_case_insensitively() -> None:
    roles = Roles.from_config({"operators": ["Olga@Example.com", "@ops.example.org"]})

    assert roles.role_of("olga@example.com") is Role.OPERATOR
    assert roles.role_of("OLGA@EXAMPLE.COM") is Role.OPERATOR
    assert roles.role_of("sam@ops.example.org") is Role.OPERATOR
    # A domain entry is that domain only: not a lookalike, not a subdomain.
    assert roles.role_of("sam@evil-ops.example.org") is Role.VIEWER
    assert roles.role_of("sam@eu.ops.example.org") is Role.VIEWER
    assert roles.role_of("olga@example.com.evil.test") is Role.VIEWER


def test_without_a_viewers_list_everyone_signed_in_views_and_nobody_operates() -> None:
    roles = Roles.from_config(None)

    assert roles.role_of("anyone@example.com") is Role.VIEWER
    assert roles.role_of(None) is Role.VIEWER  # a provider that gives no email
    assert roles.operators == ()


def test_with_a_viewers_list_only_listed_people_and_operators_get_in() -> None:
    roles = Roles.from_config({"operators": ["olga@example.com"], "viewers": ["@example.com"]})

    assert roles.role_of("vera@example.com") is Role.VIEWER
    assert roles.role_of("olga@example.com") is Role.OPERATOR
    assert roles.role_of("mallory@gmail.com") is None
    assert roles.role_of(None) is None


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"operators": "olga"}, "'olga' is neither an email"),
        ({"operators": [1, 2]}, "must be a list of emails or @domains"),
        ({"viewer": ["@example.com"]}, "not viewer"),
    ],
)
def test_a_roles_setting_that_means_nothing_is_refused_with_what_to_write(
    config: dict[str, Any], says: str
) -> None:
    with pytest.raises(RolesConfigError, match=says):
        Roles.from_config(config)


def test_a_shell_acts_as_its_os_user_with_the_operator_role() -> None:
    assert shell_user() == Actor(getpass.getuser(), Role.OPERATOR)
    assert require_operator(None, "rebuilding") == shell_user()
    assert require_operator(OPERATOR, "rebuilding") == OPERATOR


def test_the_refusal_names_the_person_the_action_and_what_to_do() -> None:
    with pytest.raises(AccessDeniedError) as refused:
        require_operator(VIEWER, "rebuilding")

    message = str(refused.value)
    assert "vera@example.com is a viewer: rebuilding is for operators" in message
    assert "[baton.roles]" in message


# --- every changing service function refuses a viewer ----------------------------------


def test_build_job_refuses_a_viewer_and_starts_nothing(settings: Settings) -> None:
    calls: list[Any] = []
    job = BuildJob(settings, runner=lambda *args, **kwargs: calls.append(kwargs))

    with pytest.raises(AccessDeniedError, match="rebuilding is for operators"):
        job.start(trigger="app", by=VIEWER)

    job.wait(timeout=5)
    assert calls == []
    assert not job.running


def test_build_job_passes_the_operator_to_the_build(settings: Settings) -> None:
    seen: list[Any] = []

    def runner(settings: Settings, trigger: str, by: Actor) -> RunRecord:
        seen.append((trigger, by))
        return RunRecord(build_id="b1", trigger=trigger, started_at="2026-01-01T00:00:00+00:00")

    job = BuildJob(settings, runner=runner)
    assert job.start(trigger="app", by=OPERATOR) is None
    job.wait(timeout=10)

    assert seen == [("app", OPERATOR)]


def test_rebuild_refuses_a_viewer_before_taking_the_lock_or_writing_a_record(
    settings: Settings,
) -> None:
    with pytest.raises(AccessDeniedError):
        rebuild(settings, trigger="app", by=VIEWER)

    assert history.load_all(settings) == []
    assert not is_locked(settings.lock_path)


def test_rebuild_records_who_triggered_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dbt itself is not the point here: a build that fails at once still gets its record.
    duckdb.connect(str(settings.raw_path)).close()
    monkeypatch.setattr(rebuild_module, "_take_provenance", lambda settings, record: None)
    monkeypatch.setattr(
        rebuild_module, "run_dbt", lambda *args, **kwargs: DbtOutcome(False, [], "stopped")
    )

    by_operator = rebuild(settings, trigger="app", by=OPERATOR)
    by_shell = rebuild(settings, trigger="cli")

    assert by_operator.triggered_by == "olga@example.com"
    assert by_shell.triggered_by == getpass.getuser()
    stored = {run.build_id: run.triggered_by for run in history.load_all(settings)}
    assert stored == {
        by_operator.build_id: "olga@example.com",
        by_shell.build_id: getpass.getuser(),
    }


def test_use_version_refuses_a_viewer_and_leaves_the_registry_alone(settings: Settings) -> None:
    with pytest.raises(AccessDeniedError, match="choosing the model in service is for operators"):
        registry.use_version(settings, None, by=VIEWER)

    assert not settings.registry_path.exists()
    assert history.actions(settings) == []


def test_use_version_records_the_operator_who_chose(settings: Settings) -> None:
    registry.use_version(settings, None, by=OPERATOR)

    connection = duckdb.connect(str(settings.registry_path), read_only=True)
    try:
        reason = connection.execute("select reason from service_state").fetchone()
    finally:
        connection.close()
    assert reason == ("Unpinned by olga@example.com.",)
    [action] = history.actions(settings)
    assert (action["by"], action["action"]) == ("olga@example.com", "model unpin")


def test_import_refuses_a_viewer_and_leaves_raw_data_alone(settings: Settings) -> None:
    parsed = read_mapping(mapping_file(settings), settings)

    with pytest.raises(AccessDeniedError, match="importing data is for operators"):
        import_mapping(parsed, settings, by=VIEWER)

    assert not settings.raw_path.exists()
    assert not settings.dataset_path.exists()


def test_import_by_an_operator_is_recorded_with_their_name(settings: Settings) -> None:
    import_mapping(read_mapping(mapping_file(settings), settings), settings, by=OPERATOR)

    [action] = history.actions(settings)
    assert (action["by"], action["action"]) == ("olga@example.com", "import")
    assert "Flat shop" in action["detail"]
    assert json.loads(settings.dataset_path.read_text())["name"] == "Flat shop"


def test_uploads_and_mapping_files_refuse_a_viewer(settings: Settings) -> None:
    with pytest.raises(AccessDeniedError, match="uploading data is for operators"):
        uploads.save_upload(settings, "customers.csv", CUSTOMERS.encode(), by=VIEWER)
    with pytest.raises(AccessDeniedError, match="saving a mapping is for operators"):
        uploads.write_mapping(settings, MAPPING, by=VIEWER)

    assert uploads.list_uploads(settings) == []
    assert not settings.mappings_dir.exists()
