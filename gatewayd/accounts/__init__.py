"""Accounts: console users (passwords, roles) and API keys (scopes)."""
