"""The Streamlit entry: ``streamlit run app.py``. Builds the navigation; every page lives in its package."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from common.db import DatabaseConfigError, init_db
from common.display import md_escape
from common.i18n import language_switch, t
from common.settings import SettingsError, get_settings

# a local favicon: a Material or emoji icon is fetched from fonts.gstatic.com, unreachable offline and from mainland China
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
st.set_page_config(page_title="MedBench Leaderboard · 中文医疗大模型评测", page_icon=str(FAVICON), layout="wide")


@st.cache_resource(show_spinner="Preparing the database…")
def _database_ready(url: str) -> bool:
    """Migrate once per process and database URL; pages then use common.db.session_scope()."""
    init_db(url)
    return True


@st.cache_resource
def _swept_uploads() -> bool:
    """Once per process: remove suite uploads staged by sessions that ended without importing or cancelling."""
    from evaluator.benchmark.suites.uploads import sweep_stale_uploads

    sweep_stale_uploads()
    return True


try:
    _database_ready(get_settings().resolved_database_url)
    _swept_uploads()
except (DatabaseConfigError, SettingsError) as exc:
    st.error(md_escape(exc))
    st.stop()

from submissions.session import is_organizer, sync_cookie  # noqa: E402  (needs the database)

language_switch()  # before the navigation, whose titles are in the chosen language
# Phone width (390 px): the page title wrapped to four lines at Streamlit's 2.75rem, and Plotly's toolbar covered
# the legend above the charts (there is no touch hover to reveal it anyway). Trusted text, no user input.
st.html("<style>@media (max-width: 640px) {"
        " [data-testid='stHeading'] h1 { font-size: 1.6rem; line-height: 1.25; padding-top: 0.5rem; }"
        " .modebar-container { display: none; } }</style>")

public = [
    st.Page("leaderboard/pages/leaderboard.py", title=t("nav.leaderboard"), icon=":material/leaderboard:",
            default=True),
    st.Page("leaderboard/pages/model.py", title=t("nav.model"), icon=":material/biotech:", url_path="model"),
    st.Page("leaderboard/pages/compare.py", title=t("nav.compare"), icon=":material/compare_arrows:",
            url_path="compare"),
    st.Page("submissions/pages/submit.py", title=t("nav.submit"), icon=":material/upload:", url_path="submit"),
    st.Page("submissions/pages/queue.py", title=t("nav.queue"), icon=":material/hourglass_top:", url_path="queue"),
    st.Page("leaderboard/pages/methodology.py", title=t("nav.methodology"), icon=":material/menu_book:",
            url_path="methodology"),
    st.Page("submissions/pages/account.py", title=t("nav.account"), icon=":material/person:", url_path="account"),
    st.Page("leaderboard/pages/about.py", title=t("nav.about"), icon=":material/info:", url_path="about"),
]
# Organizer pages are always registered, so their URLs answer everyone: a visitor who is not an organizer gets the
# page's own "sign in as an organizer" notice (submissions.ui.require_organizer_page) instead of "Page not found",
# and does not see them in the navigation.
signed_in_organizer = is_organizer()
organizer_visibility = "visible" if signed_in_organizer else "hidden"
organizer = [
    st.Page("submissions/pages/moderation.py", title=t("nav.moderation"), icon=":material/gavel:",
            url_path="moderation", visibility=organizer_visibility),
    st.Page("evaluator/pages/runs.py", title=t("nav.runs"), icon=":material/settings:", url_path="runs",
            visibility=organizer_visibility),
    st.Page("evaluator/pages/suites.py", title=t("nav.suites"), icon=":material/library_books:", url_path="suites",
            visibility=organizer_visibility),
    st.Page("evaluator/pages/tag_review.py", title=t("nav.tag_review"), icon=":material/label:", url_path="tag-review",
            visibility=organizer_visibility),
    st.Page("submissions/pages/audit.py", title=t("nav.audit"), icon=":material/history:", url_path="audit",
            visibility=organizer_visibility),
]
pages: dict[str, list] = {t("nav.section_public"): public}
if signed_in_organizer:
    pages[t("nav.section_organizers")] = organizer
else:  # registered but hidden: reachable by URL, where the page explains who may use it
    public.extend(organizer)
sync_cookie()  # after is_organizer(): a new session has restored a remembered sign-in by now
st.navigation(pages).run()
