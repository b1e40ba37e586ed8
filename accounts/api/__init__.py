"""HTTP API of accounts (API.md), one module per concept: auth, addresses, notifications."""
