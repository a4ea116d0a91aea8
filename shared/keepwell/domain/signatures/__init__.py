"""Webhook signatures: inbound provider verification and outbound Standard Webhooks signing."""
