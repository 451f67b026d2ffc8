"""The paper store: SQLAlchemy tables, engines for SQLite and PostgreSQL, and queries."""
