"""Keepwell's common package: schemas, domain, storage and adapters shared by every Lambda."""
