"""Alembic environment: the engine comes from datong.db.migrate, never from an ini file."""

from alembic import context

from datong.db.base import Base, import_all_models

import_all_models()
config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
