"""About: what this leaderboard is for, who runs it, how to cite it, how to reach the organizers, and the answers
to the questions submitters ask most (why is my model not ranked yet, why did it fail, how do I reproduce a
score). Who runs it and the contact come from settings (``MEDBENCH_ABOUT_OPERATOR`` / ``_CONTACT``): they are
operator-controlled text, shown escaped, and a contact link only when it is an https URL."""
from __future__ import annotations

import streamlit as st

from common.display import md_escape
from common.settings import get_settings
from common.i18n import t
from leaderboard.labels import arxiv_link
from submissions.model_facts import https_url

BIBTEX = """@misc{medbench_leaderboard,
  title        = {MedBench Leaderboard: an open leaderboard for Chinese medical large language models},
  note         = {Scores, suite version and evaluator version as shown on the model page},
  year         = {2026}
}
@misc{medbench2024,
  title        = {MedBench: A Comprehensive, Standardized, and Reliable Benchmarking System for Evaluating
                  Chinese Medical Large Language Models},
  eprint       = {2407.10990},
  archivePrefix = {arXiv},
  year         = {2024}
}
@misc{medbench_analysis2025,
  title        = {Benchmarking Chinese Medical LLMs: A Medbench-based Analysis of Performance Gaps and
                  Hierarchical Optimization Strategies},
  eprint       = {2503.07306},
  archivePrefix = {arXiv},
  year         = {2025}
}"""

FAQ = [("about.faq_not_ranked_q", "about.faq_not_ranked_a"), ("about.faq_failed_q", "about.faq_failed_a"),
       ("about.faq_reproduce_q", "about.faq_reproduce_a"), ("about.faq_shared_rank_q", "about.faq_shared_rank_a"),
       ("about.faq_earlier_q", "about.faq_earlier_a")]  # (question, answer) keys of the translation table

settings = get_settings()
st.title(t("about.title"))
st.caption(t("app.research_notice"))

st.header(t("about.h_purpose"))
st.markdown(t("about.purpose", paper=arxiv_link("2407.10990"), advice=arxiv_link("2503.07306")))

st.header(t("about.h_operator"))
st.markdown(t("about.operator", operator=md_escape(settings.about_operator)))

st.header(t("about.h_contact"))
if link := https_url(settings.about_contact):
    st.link_button(t("about.contact_button"), link, icon=":material/mail:")
elif settings.about_contact:
    st.markdown(t("about.contact_text", contact=md_escape(settings.about_contact)))
else:
    st.markdown(t("about.no_contact"))

st.header(t("about.h_cite"))
st.markdown(t("about.cite"))
st.code(BIBTEX, language="bibtex")

st.header(t("about.h_faq"))
for question, answer in FAQ:
    with st.expander(t(question)):
        st.markdown(t(answer))
