"""Outbound webhook delivery rules: the retry schedule and the SSRF guard for subscriber URLs."""
