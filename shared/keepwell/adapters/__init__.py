"""Thin wrappers over AWS services other than DynamoDB; clients are built once per container, lazily."""
