"""Use cases: what a handler calls. They combine domain rules (pure) with storage (DynamoDB)."""
