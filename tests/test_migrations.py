"""The Alembic migrations build exactly the schema the models describe (a model change without a migration fails)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from models.db import migrate


def test_the_migrated_schema_is_the_models_schema(engine: Engine):
    migrate(engine)  # a second run finds the schema up to date and changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
        assert differences == [], f"models/ and models/migrations/ disagree; add a migration: {differences}"
        assert context.get_current_revision() is not None
    assert "alembic_version" in inspect(engine).get_table_names()
