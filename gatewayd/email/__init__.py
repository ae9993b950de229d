"""Outgoing e-mail: the SMTP sender draining the persisted outbox (gatewayd.store.email_outbox)."""
