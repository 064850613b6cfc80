"""The submissions pages, run by Streamlit's AppTest against a real SQLite database and the hub stand-in."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from submissions.accounts import create_user
from submissions.moderation import moderate
from evaluator.tables import EvalRun
from submissions.tables import AuditLog, ModelEntry, Submission, User
from tests.hub_stub import HubStub
from tests.pages import shown
from tests.submissions.factories import add_run, add_submission

PAGES = Path(__file__).resolve().parents[2] / "submissions" / "pages"
SCRIPT = "<script>alert('x')</script> [click](javascript:alert(1))"
OIDC_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s3cret",
                "huggingface": {"client_id": "id", "client_secret": "secret",
                                "server_metadata_url": "https://huggingface.co/.well-known/openid-configuration"}}


def page(name: str, user_id: int | None = None, lang: str = "en") -> AppTest:
    """A submissions page, not yet run, in ``lang`` (``?lang=``: the tests read the English texts unless they say
    otherwise; without a browser the site's default is Chinese)."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
    at.query_params["lang"] = lang
    if user_id is not None:
        at.session_state["user_id"] = user_id
    return at


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def rendered_markdown(at: AppTest) -> str:
    """Everything Streamlit would render as markdown (where HTML or links could come alive)."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [e.value for e in at.success]
    parts += [e.value for e in at.info] + [e.value for e in at.caption]
    return "\n".join(parts)


def test_account_create_sign_in_and_out(engine) -> None:
    at = page("account").run()
    assert not at.exception
    assert not [b for b in at.button if b.label.startswith("Sign in with")]  # OIDC not configured: no button
    at.text_input(key="new_username").input("dr-li")
    at.text_input(key="new_password").input("long enough pass")
    at.text_input(key="new_password_repeat").input("long enough pass")
    button(at, "Create account").click().run()
    assert not at.exception and not at.error
    assert "Signed in as **dr-li**" in at.success[0].value
    assert any("keeps you signed in for 14 days" in c.value for c in at.caption)
    with Session(engine) as s:
        user = s.exec(select(User)).one()
    assert user.username == "dr-li" and user.password_hash.startswith("$argon2id$")
    assert at.session_state["user_id"] == user.id
    button(at, "Sign out").click().run()
    assert "user_id" not in at.session_state
    at.text_input(key="login_username").input("dr-li")
    at.text_input(key="login_password").input("wrong password")
    button(at, "Sign in").click().run()
    assert at.error[0].value == "Unknown user name or wrong password." and "user_id" not in at.session_state
    at.text_input(key="login_password").input("long enough pass")
    button(at, "Sign in").click().run()
    assert at.session_state["user_id"] == user.id


def test_account_refusals_are_shown_escaped_and_change_nothing(engine) -> None:
    create_user("taken", "amber falcon 77")
    at = page("account").run()
    at.text_input(key="new_username").input("taken")
    at.text_input(key="new_password").input("long enough pass")
    at.text_input(key="new_password_repeat").input("long enough pass")
    button(at, "Create account").click().run()
    assert "taken" in at.error[0].value and "user_id" not in at.session_state
    at.text_input(key="new_username").input("<b>x</b>")
    button(at, "Create account").click().run()
    assert "User name:" in shown(at.error[0].value)
    at.text_input(key="new_username").input("newbie")
    at.text_input(key="new_password_repeat").input("different!")
    button(at, "Create account").click().run()
    assert at.error[0].value == "The two passwords differ."
    with Session(engine) as s:
        assert [u.username for u in s.exec(select(User))] == ["taken"]


def test_oidc_button_only_when_configured_and_identity_maps_to_a_user(engine, monkeypatch) -> None:
    at = page("account")
    at.secrets["auth"] = OIDC_SECRETS
    at.run()
    assert [b.label for b in at.button if b.label.startswith("Sign in with")] == ["Sign in with Huggingface"]
    monkeypatch.setenv("MEDBENCH_ORGANIZERS", "dr-wang")  # no longer grants anything: the name proves nothing
    from common.settings import get_settings

    get_settings.cache_clear()
    at = page("account")
    at.secrets["auth"] = OIDC_SECRETS
    at.user = {"is_logged_in": True, "sub": "hf-42", "iss": "https://huggingface.co",
               "preferred_username": "dr-wang", "email": "wang@example.org"}
    at.run()
    assert not at.exception
    assert "Signed in as **dr-wang** (submitter)" in at.success[0].value
    assert not at.expander  # password, sign-outs and deletion are the identity provider's
    with Session(engine) as s:
        user = s.exec(select(User)).one()
        assert s.exec(select(AuditLog)).all() == []
    assert (user.oidc_subject, user.password_hash, user.is_organizer) == ("https://huggingface.co|hf-42", None, False)


def test_submit_page_anonymous_cannot_submit(engine) -> None:
    at = page("submit").run()
    assert not at.exception
    assert "Sign in" in at.info[0].value and not at.text_input


def submit(at: AppTest, hub_id: str, **fields: object) -> AppTest:
    at.text_input(key="hub_id").input(hub_id)
    for key, value in fields.items():
        widget = at.selectbox(key=key) if key in ("precision", "model_type") else at.text_input(key=key)
        widget.set_value(value)
    return button(at, "Submit").click().run()


def test_submit_page_every_outcome(engine, hub: HubStub, shapes: dict[str, str]) -> None:
    user = create_user("sub", "amber falcon 77", email="sub@example.org")
    at = page("submit", user.id).run()
    assert at.text_input(key="contact").value == "sub@example.org"
    assert (at.selectbox(key="model_type").value, at.selectbox(key="precision").value) == ("chat", "bfloat16")
    submit(at, shapes["good"])
    assert not at.exception
    sha = hub.repos[shapes["good"]].branches["main"].sha
    assert "Accepted as submission" in at.success[0].value and sha in at.success[0].value
    table = at.dataframe[0].value
    assert list(table["state"]) == ["approved"] and list(table["commit"]) == [sha[:12]]
    events = at.dataframe[1].value
    assert list(zip(events["to"], events["who"], events["why"])) == [
        ("submitted", "sub", "submitted"), ("approved", "system", "all hub checks passed")]
    submit(at, shapes["good"])  # the same again: duplicate, naming the entry
    assert "already submitted: submission #" in shown(at.error[0].value)
    submit(at, shapes["pickle_only"])
    assert "pickle" in at.error[0].value and any("✘ weights" in t.value for t in at.text)
    submit(at, shapes["remote_code"])
    assert "organizer reviews it" in at.info[-1].value
    submit(at, "not-a-repo-id")
    assert "Model id: give the full model id" in shown(at.error[0].value)
    hub.stop()
    submit(at, shapes["good"], precision="float32")
    assert at.error, (at.success, at.info, at.exception)
    assert "could not be reached" in shown(at.error[0].value)
    # a URL right before an escaped ')' would be autolinked with the backslash: the message keeps a space after it
    assert not re.search(r"https?://\S*\\", at.error[0].value), at.error[0].value
    with Session(engine) as s:
        assert len(s.exec(select(Submission)).all()) == 2


def test_submit_page_takes_modelscope_ids_and_names_both_sites(engine, modelscope, ms_shapes) -> None:
    user = create_user("mei", "amber falcon 77", email="mei@example.cn")
    at = page("submit", user.id).run()
    assert any(shown(c.value).endswith(f"ModelScope ids on {modelscope.url}.") for c in at.caption)
    assert "modelscope:qwen/Qwen2.5-0.5B-Instruct" in at.text_input(key="hub_id").help
    submit(at, "modelscope:org/good")
    sha = modelscope.repos["org/good"].branches["master"].sha
    assert f"modelscope:org/good pinned to {sha}" in shown(at.success[0].value)
    url = modelscope.url
    modelscope.stop()
    submit(at, "modelscope:org/good", precision="float32")
    assert f"ModelScope at {url} could not be reached" in shown(at.error[0].value)
    assert "://" not in at.error[0].value  # the address is not turned into a link (common.display.md_escape)


def test_user_text_is_shown_escaped(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    user = create_user("ulla", "quiet meadow 19")
    sub = add_submission(engine, user.id)
    moderate(org.id, "reject", [sub], reason=SCRIPT)
    at = page("submit", user.id).run()
    assert list(at.dataframe[0].value["reason"]) == [SCRIPT]  # shown as data in a grid, not rendered
    assert list(at.dataframe[1].value["why"])[-1] == SCRIPT and list(at.dataframe[1].value["who"])[-1] == "olga"
    assert "<script>" not in rendered_markdown(at) and "](javascript" not in rendered_markdown(at)
    mod = page("moderation", org.id)
    mod.run()
    mod.multiselect(key="states").set_value(["rejected"]).run()
    assert SCRIPT in list(mod.dataframe[0].value["reason"])
    assert "<script>" not in rendered_markdown(mod)


def test_queue_page_shows_waiting_running_and_failed(engine) -> None:
    user = create_user("ulla", "quiet meadow 19")
    add_submission(engine, user.id, state="approved", hub_id="org/waiting")
    running = add_submission(engine, user.id, state="running", hub_id="org/running")
    run_id = add_run(engine, running, done=30, total=120, eta=1500)
    failed = add_submission(engine, user.id, state="failed", hub_id="org/failed")
    add_run(engine, failed, status="failed", error=SCRIPT)
    with Session(engine) as s:
        run = s.get(EvalRun, run_id)
        run.progress_detail = {"Med-Exam": [20, 20], "MedSafety": [10, 60], "MedHC": [0, 40]}
        s.add(run)
        demo = s.get(ModelEntry, s.get(Submission, add_submission(engine, None, state="approved",
                                                                  hub_id="demo/tiny")).model_id)
        demo.is_demo = True
        s.add(demo)
        s.commit()
    at = page("queue").run()
    assert not at.exception
    waiting = at.dataframe[0].value
    assert list(waiting["model"]) == ["org/waiting", "demo/tiny"] and list(waiting["position"]) == [1, 2]
    assert list(waiting["note"]) == ["", "demo model"]
    assert all(when.endswith(" UTC") for when in waiting["submitted"])  # the CSV download keeps the zone
    progress = at.get("progress")[0]
    assert progress.value == 25
    assert "30/120 answers · 1/3 tasks done · about 25 min left" in progress.proto.text
    assert list(at.dataframe[1].value["reason"]) == [SCRIPT]
    assert "<script>" not in rendered_markdown(at)
    assert "Nothing finished yet." in [c.value for c in at.caption]
    with Session(engine) as s:
        finished_demo = s.get(Submission, add_submission(engine, None, state="finished", hub_id="demo/done"))
        s.get(ModelEntry, finished_demo.model_id).is_demo = True
        s.commit()
    at = page("queue").run()
    finished = at.dataframe[-1].value  # nothing cancelled: the last table is the finished one
    assert list(zip(finished["model"], finished["note"])) == [("demo/done", "demo model")]


def test_queue_page_shows_a_cancel_as_cancelling_then_in_the_cancelled_section(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    sub = add_submission(engine, None, state="running", hub_id="org/stopped")
    run_id = add_run(engine, sub, done=30, total=120, eta=1500)
    moderate(org.id, "cancel", [sub], reason="wrong revision")
    at = page("queue").run()
    assert not at.exception and at.subheader[0].value == "Running (1)"
    assert "cancelling: still running until the worker stops it · 30/120 answers" in at.get("progress")[0].proto.text
    assert "Nothing was cancelled." in [c.value for c in at.caption]
    with Session(engine) as s:  # the worker stops the run
        s.get(EvalRun, run_id).status = "cancelled"
        s.commit()
    at = page("queue").run()
    assert at.subheader[0].value == "Running (0)" and at.subheader[-1].value == "Recently cancelled (1)"
    cancelled = at.dataframe[-1].value
    assert list(zip(cancelled["model"], cancelled["by"], cancelled["reason"])) == [
        ("org/stopped", "organizer", "wrong revision")]
    assert cancelled["cancelled"][0] is not None


@pytest.mark.parametrize("name", ["moderation", "audit"])
def test_organizer_pages_refuse_others_opened_directly(engine, name: str) -> None:
    user = create_user("ulla", "quiet meadow 19")
    sub = add_submission(engine, user.id)
    for who in (None, user.id):
        at = page(name, who).run()
        assert not at.exception
        assert [e.value for e in at.error] == ["This page is for organizers. Sign in with an organizer account on "
                                               "the Account page."]
        assert not at.button and not at.dataframe and not at.multiselect
    with Session(engine) as s:
        assert s.get(Submission, sub).state == "submitted" and not s.exec(select(AuditLog)).all()


def test_moderation_bulk_approve_then_audit_page_and_export(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    user = create_user("ulla", "quiet meadow 19")
    subs = [add_submission(engine, user.id) for _ in range(3)]
    at = page("moderation", org.id).run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    at.multiselect(key="selected").set_value(subs[:2])
    at.selectbox(key="action").set_value("approve")
    button(at, "Apply").click().run()
    assert "2 changes applied" in at.success[0].value
    assert list(at.dataframe[0].value["#"]) == [subs[2]]  # the table is drawn after the change: only one left
    assert at.multiselect(key="selected").value == []
    at.multiselect(key="selected").set_value([subs[2]])
    at.selectbox(key="action").set_value("reject")
    button(at, "Apply").click().run()  # no reason: refused, nothing changed
    assert "needs a reason" in at.error[0].value
    with Session(engine) as s:
        assert [s.get(Submission, i).state for i in subs] == ["approved", "approved", "submitted"]
    audit = page("audit", org.id).run()
    assert not audit.exception
    table = audit.dataframe[0].value
    assert list(table["action"]) == ["approve", "approve", "grant_organizer"]  # newest first
    assert sorted(table["target_id"][:2]) == sorted(subs[:2]) and set(table["actor_name"][:2]) == {"olga"}
    assert (table["actor_name"].iloc[-1], table["actor_id"].iloc[-1]) == ("CLI", "")  # create_user(organizer=True)
    audit.selectbox(key="action").set_value("approve").run()
    assert list(audit.dataframe[0].value["action"]) == ["approve", "approve"]
    assert [b.label for b in audit.get("download_button")] == ["Export CSV", "Export JSON lines"]
    assert all(at_.endswith(" UTC") for at_ in audit.dataframe[0].value["at"])  # times name their zone
    from submissions.audit import as_rows, list_entries
    assert all(row["at"].endswith("+00:00") for row in as_rows(list_entries()))  # exports: ISO with the offset
    assert any("Select a row to see its before and after" in c.value for c in audit.caption)
    audit.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    audit.run()  # a long "after" is cut in its cell: the selected entry in full
    assert len(audit.json) == 2 and audit.json[1].value  # before, after


def test_moderation_history_stays_on_the_acted_on_row_and_params_read_short(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    first, acted, newest = (add_submission(engine, None) for _ in range(3))
    with Session(engine) as s:
        for sub_id, params in ((first, 205_120), (acted, 7_200_000_000), (newest, None)):
            s.get(ModelEntry, s.get(Submission, sub_id).model_id).params = params
        s.commit()
    at = page("moderation", org.id).run()
    table = at.dataframe[0].value
    assert list(zip(table["#"], table["params"])) == [(newest, ""), (acted, "7.2B"), (first, "205K")]
    assert at.selectbox(key="history_of").value == newest  # the first row until an action

    at.multiselect(key="selected").set_value([acted])
    at.selectbox(key="action").set_value("approve")
    button(at, "Apply").click().run()
    assert list(at.dataframe[0].value["#"]) == [newest, first]  # approved: no longer "submitted"...
    assert at.selectbox(key="history_of").value == acted  # ...but its history is the one shown
    assert list(at.dataframe[1].value["to"])[-1] == "approved" and "7.2B" in at.text[-1].value

    at.multiselect(key="selected").set_value([first])
    at.selectbox(key="action").set_value("reject")
    at.text_area(key="reason").input("not a medical model")
    button(at, "Apply").click().run()
    assert at.selectbox(key="history_of").value == first
    assert list(at.dataframe[1].value["who"])[-1] == "olga"


def test_moderation_page_grants_the_organizer_role(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    create_user("ulla", "quiet meadow 19")
    at = page("moderation", org.id).run()
    at.text_input(key="role_username").input("ulla")
    button(at, "Grant organizer role").click().run()
    assert "ulla is now an organizer" in at.success[0].value
    at.text_input(key="role_username").input("nobody")
    button(at, "Grant organizer role").click().run()
    assert "No user named" in at.error[0].value


def test_app_navigation_registers_organizer_pages_for_organizers_only(engine) -> None:
    app = str(PAGES.parents[1] / "app.py")
    user = create_user("ulla", "quiet meadow 19")
    org = create_user("olga", "amber falcon 77", organizer=True)
    at = AppTest.from_file(app, default_timeout=60)
    at.session_state["user_id"] = user.id
    at.run()
    for name in ("moderation", "audit"):  # registered but hidden (issue 17): the URL explains, shows nothing else
        at.switch_page(str(PAGES / f"{name}.py")).run()
        assert not at.exception and not at.title and not at.dataframe
        assert [e.value for e in at.error] == ["This page is for organizers. Sign in with an organizer account on "
                                               "the Account page."]
    at = AppTest.from_file(app, default_timeout=60)
    at.session_state["user_id"] = org.id
    at.run()
    at.switch_page(str(PAGES / "moderation.py")).run()
    assert not at.exception and at.title[0].value == "Moderation · 审核"


def test_moderation_with_nothing_waiting_says_where_accepted_submissions_are(engine) -> None:
    org = create_user("olga", "amber falcon 77", organizer=True)
    add_submission(engine, org.id, state="approved", hub_id="org/accepted")
    at = page("moderation", org.id).run()
    assert not at.exception and not at.dataframe
    assert "Apply" not in [b.label for b in at.button]  # no empty form: nothing to act on
    assert [m.key for m in at.multiselect] == ["states"]
    captions = [c.value for c in at.caption]
    assert any("add *approved*, *running* or *finished*" in c for c in captions)
    assert any("Pick states above" in c for c in captions)
    at.multiselect(key="states").set_value(["approved"]).run()
    assert list(at.dataframe[0].value["model"]) == ["org/accepted"]


def test_own_finished_submission_links_to_its_results(engine) -> None:
    user = create_user("ulla", "quiet meadow 19")
    done = add_submission(engine, user.id, state="finished", hub_id="org/done")
    add_submission(engine, user.id, state="approved", hub_id="org/waiting")
    at = page("submit", user.id).run()
    assert not at.exception
    mine = at.dataframe[0].value.set_index("model")
    with Session(engine) as s:
        model_id = s.get(Submission, done).model_id
    assert mine.loc["org/done", "results"] == f"model?model={model_id}"
    assert pd.isna(mine.loc["org/waiting", "results"])


def test_account_submit_and_queue_pages_speak_chinese(engine) -> None:
    """The pages' own labels, help and messages follow ?lang=; widget keys stay as they are."""
    at = page("account", lang="zh").run()
    assert not at.exception and at.title[0].value == "账户 · Account"
    assert at.text_input(key="login_username").label == "用户名"
    assert [b.label for b in at.button if b.label == "登录"]
    at = page("queue", lang="zh").run()
    assert not at.exception and "目前没有正在运行的评测。" in [c.value for c in at.caption]
    assert "队列为空。" in [c.value for c in at.caption]
    user = create_user("wen", "amber falcon 77")
    at = page("submit", user.id, lang="zh").run()
    assert not at.exception and at.text_input(key="hub_id").label == "hub 或 ModelScope 上的模型 id"
    assert any(c.value.startswith("在当前") for c in at.caption)
