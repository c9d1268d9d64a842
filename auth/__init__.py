"""Authentication: bearer tokens for the API, browser sessions (flask-login), the request guard, the CLI."""
