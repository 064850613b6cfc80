"""Shared foundation: settings, the storage layer (engine, sessions, migrations) and the CLI root."""
