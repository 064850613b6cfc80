"""The Moderation page's "Add a served model" form under AppTest: an organizer adds one against the stand-in (the
key is given by name only), a bad endpoint gets one line and adds nothing, and the page never shows the key."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from submissions.accounts import create_user
from submissions.tables import ModelEntry, Submission
from tests.pages import shown
from tests.served.conftest import STUB_MODEL
from tests.served.test_served_runs import page_source

MODERATION = Path(__file__).resolve().parents[2] / "submissions" / "pages" / "moderation.py"


def moderation_as(user_id: int) -> AppTest:
    app = AppTest.from_file(str(MODERATION), default_timeout=30)
    app.session_state["user_id"] = user_id
    return app.run()


def test_organizer_adds_a_served_model_from_the_moderation_page(engine, api_settings, stub, api_key) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    app = moderation_as(org.id)
    app.text_input(key="served_endpoint").input("http://127.0.0.1:9/v1")
    app.text_input(key="served_model_name").input(STUB_MODEL)
    app.button[-1].click().run()  # the form's "Check and add"
    assert [shown(e.value) for e in app.error] == ["Nothing was added: http://127.0.0.1:9/v1: the endpoint could not "
                                                   "be reached (tried 2 times)"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ModelEntry)).one() == 0

    app.text_input(key="served_endpoint").input(stub.url)
    app.text_input(key="served_key_name").input("STUB")
    app.text_input(key="served_label").input("vendor/chat-pro")
    app.number_input(key="served_price_in").set_value(1.5)
    app.button[-1].click().run()
    assert not app.error and any("Added vendor/chat-pro" in s.value for s in app.success)
    with Session(engine) as session:
        model = session.exec(select(ModelEntry)).one()
        sub = session.exec(select(Submission)).one()
    assert (model.source, model.hub_id, sub.state, sub.submitter_id) == ("api", "vendor/chat-pro", "approved", org.id)
    assert model.served["key_name"] == "STUB" and model.served["decoding"]["price_input_per_1m"] == 1.5
    assert api_key not in page_source(app) and api_key not in str(model.served)


def test_cli_adds_a_served_model_and_refuses_a_missing_key_in_one_line(engine, api_settings, stub, api_key) -> None:
    from typer.testing import CliRunner

    from cli import _register_groups, app

    if not app.registered_groups:
        _register_groups()
    base = ["users", "add-served-model", "--endpoint", stub.url, "--model-name", STUB_MODEL]
    missing = CliRunner().invoke(app, [*base, "--key-name", "NOPE"])
    assert missing.exit_code == 1 and missing.stderr.strip().startswith("error: no API key named NOPE")
    added = CliRunner().invoke(app, [*base, "--key-name", "STUB", "--price-output", "3"])
    assert added.exit_code == 0 and "approved" in added.stdout and api_key not in added.stdout + added.stderr
    with Session(engine) as session:
        model = session.exec(select(ModelEntry)).one()
    assert model.served["decoding"]["price_output_per_1m"] == 3.0
