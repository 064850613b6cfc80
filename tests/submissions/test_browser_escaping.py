"""In a real Chromium, outsiders' text on the real site places no image, link or request: every reflected URL
parameter and every page showing stored hostile text (hub id, licence, card fields, flag and moderation reasons,
suite item text, model outputs, tag methods, suite names) is loaded, and

- a request-recording HTTP server on 127.0.0.1, the target of every payload, receives nothing,
- the browser fetches nothing outside the app,
- no rendered ``<a>``/``<img>``/``<iframe>`` points anywhere but the site's own links (same origin, in-page anchors,
  arXiv and the hub's model card), so no ``data:``/``javascript:`` link, autolink or tracking pixel came alive,
- and the hostile text is there, shown literally (so the test cannot pass by showing nothing).

AppTest sees Markdown source only; what Streamlit's renderer makes of it is what visitors meet, hence
``streamlit run app.py`` (one server for the module) driven by Debian's chromium (one browser).
"""
from __future__ import annotations

import http.server
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from bench.seed_results import ModelProfile, add_model, create_suite, new_run, seed_run_results
from evaluator.tables import EvalRun, ItemResult
from submissions.accounts import create_user
from submissions.moderation import moderate
from submissions.tables import Submission
from tests.browser_site import TIMEOUT_MS, chromium, requires_chromium, seeded_database, serve_app, settle, sign_in
from tests.submissions.factories import add_run, add_submission

ORGANIZER, PASSWORD = "esc-orga", "Tq8#vL2!mZ9@wR4$"
MARKER = "sign in again"  # the visible text of the phishing link: present on every page showing stored text
OWN_LINKS = ("https://arxiv.org/abs/", "https://huggingface.co/")  # the site's own external links

pytestmark = requires_chromium


def hostile(base: str) -> str:
    """Every way Markdown, HTML and Streamlit could turn text into a link, an image or a request."""
    return (f"![x]({base}/pixel.png) [{MARKER}]({base}/phish) <img src={base}/img.png> "
            f"<a href=data:text/html,<b>hi</b>>d</a> [d](data:text/html;base64,PGI+aGk8L2I+) "
            f"[j](javascript:alert(1)) :red[x] :material/home: <{base}/auto> {base}/bare www.example.org "
            f"me@mail.example $x^2$ **b** `c`\n# heading\n- item\n1. item")


def hub_id(base: str) -> str:
    """A stored hub id as an attacker would like it (intake validates ids; stored rows are not trusted)."""
    return f"evil/![h]({base}/hub.png)"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request; a request here means a payload came alive in the browser."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    do_POST = do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Site:
    base: str
    bait: str  # the recording server's URL
    text: str  # the hostile text
    models: dict[str, int] = field(default_factory=dict)


def seed(engine: Any, text: str, bait: str) -> dict[str, int]:
    """A suite, three evaluated models (one with a hostile hub id, one flagged with hostile licence and card),
    hostile item text and outputs, submissions rejected / failed / running with hostile reasons, an organizer."""
    organizer = create_user(ORGANIZER, PASSWORD, organizer=True)
    with Session(engine) as session:
        suite, items = create_suite(session, "seed", items_per_task=1)
        suite.name = f"suite {text[:60]}"
        for item in items:  # every question, option, reference answer and answer point
            data = dict(item.data)
            data["question"] = f"问 {text}"
            data["passage"] = f"段落 {text}"
            if data["options"]:
                data["options"] = {**data["options"], "A": text}
            if isinstance(data["answer"], list) and data["answer"] and isinstance(data["answer"][0], dict):
                data["answer"] = [{"entity": text, "type": "疾病", text[:30]: "x"}]
            elif isinstance(data["answer"], dict):
                data["answer"] = {**data["answer"], text[:40]: text}
            elif isinstance(data["answer"], str):
                data["answer"] = text
            data["answer_points"] = [[text, "y"]]
            item.data = data
            session.add(item)
        ids = {}
        for profile in (ModelProfile("plain/model-7b", skill=0.7),
                        ModelProfile("evil/model-7b", skill=0.4, license=text, seed=1),
                        ModelProfile(hub_id(bait), skill=0.5, seed=2)):
            model = add_model(session, profile)
            model.card_data = {"license": text, "model_name": text}
            run = new_run(session, model, suite)
            seed_run_results(session, run, items, profile)
            ids[profile.hub_id] = model.id
        session.execute(update(ItemResult).values(  # every model output, parsed answer and tag method
            raw_output=text, parsed_answer=text,
            error_tags={"primary": "Omissions", "secondary": [text], "method": f"judge:{text}"}))
        for sub in session.exec(select(Submission)):
            sub.submitter_id = organizer.id  # the organizer's Submit page lists them too
            session.add(sub)
        session.commit()
    with Session(engine) as session:
        evil = session.exec(select(Submission.id).where(Submission.model_id == ids["evil/model-7b"])).one()
    moderate(organizer.id, "flag", [evil], reason=text)
    waiting = add_submission(engine, organizer.id, hub_id=hub_id(bait))
    moderate(organizer.id, "reject", [waiting], reason=text)
    add_submission(engine, organizer.id, hub_id=hub_id(bait), reason=text)  # stays submitted: moderation lists it
    running = add_submission(engine, organizer.id, state="running", hub_id=hub_id(bait))
    add_run(engine, running, done=3, total=10, eta=60)
    failed = add_submission(engine, organizer.id, state="failed", hub_id=hub_id(bait))
    add_run(engine, failed, status="failed", error=text)
    with Session(engine) as session:  # the run of the flagged model shows its public failure reason first
        for run in session.exec(select(EvalRun).where(EvalRun.status == "failed")):
            run.error_public = text
            session.add(run)
        session.commit()
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The recording server, a seeded SQLite database and ``streamlit run app.py`` on it."""
    recorder = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    bait = f"http://127.0.0.1:{recorder.server_address[1]}"
    text = hostile(bait)
    folder = tmp_path_factory.mktemp("escaping")
    env, models = seeded_database(folder, lambda engine: seed(engine, text, bait))
    try:
        with serve_app(env, folder) as base:
            yield Site(base, bait, text, models)
    finally:
        recorder.shutdown()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    """One Chromium for the module; each test opens its own context (cookies)."""
    with chromium() as launched:
        yield launched


def foreign_elements(page: Any, base: str) -> list[str]:
    """Links, images and frames that are not the site's own (same origin, in-page anchors, arXiv, the hub)."""
    found = page.eval_on_selector_all(
        "a, img, iframe, image, object, embed, video, audio, source",
        """els => els.map(e => [e.tagName, e.getAttribute('href') || e.getAttribute('xlink:href')
                                 || e.getAttribute('src') || e.getAttribute('data') || ''])""")
    return [f"{tag} {target}" for tag, target in found
            if not (target.startswith(("#", base)) or (tag.lower() == "a" and target.startswith(OWN_LINKS))
                    or (tag.lower() == "img" and target.startswith("/")) or (tag == "A" and target == ""))]


def visit(page: Any, site: Site, path: str, expect: str | None) -> None:
    """Load ``path``; nothing foreign is rendered, and ``expect`` (if given) is in the page's text, literally."""
    page.goto(site.base + path)
    settle(page)
    foreign = foreign_elements(page, site.base)
    assert not foreign, (path, foreign)
    if expect is not None:
        shown = page.evaluate("() => document.querySelector('[data-testid=stMain]').textContent")
        assert expect in shown.replace("\u2060", ""), (path, expect)


def query(**params: str | list[str]) -> str:
    return "?" + urllib.parse.urlencode(params, doseq=True)


def check_nothing_fetched(site: Site, fetched: list[str]) -> None:
    outside = sorted({u for u in fetched if not u.startswith((site.base, "data:", "blob:"))})
    assert not outside, outside
    assert Recorder.hits == [], Recorder.hits


def test_reflected_url_parameters_render_literally(site: Site, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    text, short = site.text, site.text.split("\n")[0]
    evil = str(site.models["evil/model-7b"])
    plain = str(site.models["plain/model-7b"])
    reflected = [
        ("/" + query(q=text), None), ("/" + query(q=f'license:"{short}"'), MARKER),
        ("/" + query(size=text), MARKER), ("/" + query(view=text), MARKER), ("/" + query(cols=text), MARKER),
        ("/" + query(type=text, precision=text, sort=text, asc=text, hide_flagged=text, ci=text), None),
        ("/model" + query(model=text), MARKER),
        ("/model" + query(model=evil, qt=text), MARKER), ("/model" + query(model=evil, qd=text), MARKER),
        ("/model" + query(model=evil, qo=text, qtag=text, qp=text, tab=text), MARKER),
        ("/compare" + query(models=[text, evil, plain]), MARKER),
        ("/compare" + query(models=[evil, plain], dtask=text, dpage=text), MARKER),
        ("/queue" + query(q=text), None), ("/methodology" + query(q=text), None),
        ("/account" + query(q=text), None), ("/submit" + query(hub_id=text), None),
    ]
    for path, expect in reflected:
        visit(page, site, path, expect)
    page.close()
    check_nothing_fetched(site, fetched)


def test_stored_hostile_text_renders_literally(site: Site, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    evil, masked = site.models["evil/model-7b"], site.models[hub_id(site.bait)]
    line = site.text.split("\n")[0]
    sign_in(page, site.base, ORGANIZER, PASSWORD)  # the remembered sign-in cookie keeps every page below signed in
    pages = [
        ("/", line[:60]),  # the suite's name
        (f"/model?model={evil}", line),  # licence, flag reason, questions, options, answers, outputs
        (f"/model?model={evil}&tab=Questions&qt=CMeEE", line),  # extraction answers as a table
        (f"/model?model={evil}&tab=Questions&qt=IMCS-V2-MRG", line),  # record answers: hostile field names
        (f"/model?model={masked}", hub_id(site.bait)),  # the hub id as the page title
        (f"/compare?models={evil}&models={masked}&models={site.models['plain/model-7b']}", line),
        ("/queue", hub_id(site.bait)), ("/submit", None), ("/methodology", None),
        ("/moderation", None), ("/runs", hub_id(site.bait)), ("/suites", None), ("/tag-review", line), ("/audit", None),
    ]
    for path, expect in pages:
        visit(page, site, path, expect)
    # the model picker's options (hub ids) and an opened question: nothing comes alive there either
    page.goto(site.base + "/model")
    settle(page)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option").first.wait_for()
    assert any(hub_id(site.bait) in o for o in page.get_by_role("option").all_inner_texts())
    assert not foreign_elements(page, site.base)
    page.keyboard.press("Escape")
    visit(page, site, f"/model?model={evil}&tab=Questions", line)
    page.get_by_test_id("stExpander").first.click()
    page.wait_for_timeout(500)
    assert not foreign_elements(page, site.base)
    flag = page.get_by_test_id("stAlertContainer").filter(has_text="Flagged by the organizers").inner_text()
    assert " ".join(site.text.split()) in " ".join(flag.replace("\u2060", "").split())  # every character as typed
    context.close()
    check_nothing_fetched(site, fetched)
