"""AppTest of the sign-in gate and the roles: what a visitor, a viewer and an operator get.

Streamlit's real OpenID Connect flow is tested in tests/e2e/test_sign_in.py against a local
provider; here `AppTest.user` stands in for the identity cookie, and `AppTest.secrets` for
`.streamlit/secrets.toml`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

OpenPage = Callable[..., AppTest]
PIPELINE = "app_pages/pipeline_runs.py"
DATA = "app_pages/data.py"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-test-secret-that-is-long-enough",
    "client_id": "baton",
    "client_secret": "not-used-here",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ROLES = {"operators": ["olga@example.com"], "viewers": ["@example.com"]}


def signed_in(email: str, **claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, "email_verified": True, **claims}


@pytest.fixture
def with_sign_in(app: AppTest) -> Callable[[dict[str, Any]], AppTest]:
    """The app with sign-in configured, for a given st.user."""

    def configure(user: dict[str, Any], roles: dict[str, Any] = ROLES) -> AppTest:
        app.secrets["auth"] = AUTH
        app.secrets["baton"] = {"roles": roles}
        app.user = user
        return app

    return configure


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def texts(at: AppTest) -> str:
    """Everything written on the page and in the sidebar, as one string."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [t.value for t in at.title] + [str(w.value) for w in at.warning]
    return "\n".join(parts)


def test_a_visitor_who_is_not_signed_in_sees_only_the_sign_in_screen(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in({"is_logged_in": False})

    at.run()

    assert not at.exception
    assert [t.value for t in at.title] == ["Baton"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.sidebar.children) == 0, "no sidebar facts before sign-in"
    assert not at.get("metric") and not at.get("arrow_data_frame") and not at.dataframe
    assert "Newest data:" not in texts(at)


def test_a_viewer_sees_the_pipeline_but_cannot_rebuild_or_choose_the_model(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("vera@example.com"))
    at.run()
    at.switch_page(PIPELINE).run()

    assert not at.exception
    assert button(at, "Rebuild").disabled
    assert button(at, "Use and rebuild").disabled
    assert "you are signed in as vera@example.com, a viewer" in texts(at)
    assert "Signed in as **vera@example.com** (viewer)" in texts(at)
    assert "Newest data:" in texts(at), "a viewer sees the sidebar facts"


def test_a_viewer_gets_no_upload_or_import_on_the_data_page(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("vera@example.com"))
    at.run()
    at.switch_page(DATA).run()

    assert not at.exception
    assert not at.get("file_uploader")
    assert not [b for b in at.button if b.label in ("Validate", "Import")]
    assert "Uploading and importing data is for operators" in texts(at)


def test_an_operator_may_rebuild_choose_the_model_and_import(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("Olga@Example.com"))
    at.run()
    at.switch_page(PIPELINE).run()

    assert not at.exception
    assert not button(at, "Rebuild").disabled
    assert not button(at, "Use and rebuild").disabled
    assert "Signed in as **Olga@Example.com** (operator)" in texts(at)
    at.switch_page(DATA).run()
    assert at.get("file_uploader")


def test_an_unverified_email_does_not_make_an_operator(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("olga@example.com", email_verified=False), roles={})
    at.run()
    at.switch_page(PIPELINE).run()

    assert button(at, "Rebuild").disabled


def test_someone_signed_in_but_not_listed_sees_no_page(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("mallory@elsewhere.test"))

    at.run()

    assert not at.exception
    assert "mallory@elsewhere.test is signed in but may not open Baton" in texts(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert len(at.sidebar.children) == 0
    assert "Newest data:" not in texts(at)


def test_roles_that_cannot_be_read_show_nothing_but_the_reason(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("olga@example.com"), roles={"operators": "olga"})

    at.run()

    assert not at.exception
    assert len(at.error) == 1
    assert "'olga' is neither an email" in at.error[0].value
    assert not at.button and len(at.sidebar.children) == 0


def test_without_sign_in_the_app_acts_for_its_os_user_as_an_operator(
    serving_home: Path, open_page: OpenPage
) -> None:
    at = open_page(PIPELINE)

    assert not at.exception
    assert not button(at, "Rebuild").disabled
    assert not button(at, "Use and rebuild").disabled
    assert "Sign out" not in [b.label for b in at.button]
    sign_in_warnings = [w.value for w in at.sidebar.get("warning") if "Sign-in is off" in w.value]
    assert not sign_in_warnings, "served on 127.0.0.1: no warning about sign-in"


def test_recent_builds_name_who_triggered_each_build(
    serving_home: Path, with_sign_in: Callable[..., AppTest]
) -> None:
    at = with_sign_in(signed_in("vera@example.com"))
    at.run()
    at.switch_page(PIPELINE).run()

    recent = at.dataframe[0].value
    assert "By" in recent.columns
    # The session's build ran from the CLI: it is recorded as the OS user.
    assert set(recent["By"]) == {getpass.getuser()}
