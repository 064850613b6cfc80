"""Intake: form checks, Hugging Face hub and ModelScope checks, queue states, moderation, identities and the audit log.

Modules, one job each (pages call these, never SQL):

- ``forms``: the submission form's fields and their validation (pydantic), one message per bad field.
- ``hub``: the hub endpoint read at call time (``HF_ENDPOINT``), short timeouts; used by the worker too.
- ``modelscope``: the same for ``modelscope:<org>/<name>`` models, through the ``modelscope`` client.
- ``checks``: ``check_validity(hub_id, revision, use_chat_template=...)``: every hub check, with messages;
  ``check_modelscope(repo_id, revision, ...)`` the same checks for a ModelScope model.
- ``intake``: ``submit_model(user_id, **form)``: form -> hub checks -> locked duplicate and rate-limit decision.
- ``states`` / ``queue``: the queue's states and ``set_state``, the only writer of ``Submission.state``.
- ``moderation``: ``moderate(actor_id, action, ids, reason)``: organizer actions, all-or-nothing, audited.
- ``audit``: writing, filtering and exporting the audit log.
- ``accounts``: local accounts (argon2), OIDC identities, the organizer role; ``session``: who is signed in.
- ``views``: read API for pages (queue overview, own submissions, all submissions, history).
- ``ui``: escaping user text for markdown, the organizer gate for pages.
"""

from common.db import register_tables  # noqa: E402  (the storage layer learns the schema from the packages)

register_tables(f"{__name__}.tables")
