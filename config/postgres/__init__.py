"""PostgreSQL backend: Django's, plus a fast answer when the server refuses connections."""
