"""Storage: the only package that talks to DynamoDB (pynamodb models, key builders, repositories)."""
