"""Web console: thin views over the same services as the API."""
