"""Intake: form checks, Hugging Face hub checks, queue states, moderation, identities and the audit log."""
