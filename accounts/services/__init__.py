"""Account use cases, one module per concept: auth (users, sessions, passwords),
addresses, notifications."""
