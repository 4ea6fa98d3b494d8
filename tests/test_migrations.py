"""The Alembic migrations build exactly the schema the models describe (a model change without a migration fails)."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import SQLModel

from models.db import alembic_config, migrate


def test_the_migrated_schema_is_the_models_schema(engine: Engine):
    migrate(engine)  # a second run finds the schema up to date and changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
        assert differences == [], f"models/ and models/migrations/ disagree; add a migration: {differences}"
        assert context.get_current_revision() is not None
    assert "alembic_version" in inspect(engine).get_table_names()


def test_plan_actions_sent_before_the_lacking_column_are_counted_by_the_word_they_held(tmp_path: Path):
    """0008 fills `lacking` for the rows 0006 wrote: their scales all ended in "Tidak"."""
    engine = create_engine(f"sqlite:///{tmp_path / 'p2ham.db'}")  # not make_engine: it migrates to the newest
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006_action_plans")
        for kode, keadaan in (("sarana.3", "Tidak"), ("sarana.4", "Proses"), ("sdm.1", "Ada")):
            connection.execute(
                text(
                    "INSERT INTO plan_action (year, unit, kode, region, keadaan, done) "
                    "VALUES (2026, 'RUTAN-A', :kode, 'KANWIL-DKI', :keadaan, :done)"
                ),
                {"kode": kode, "keadaan": keadaan, "done": keadaan == "Ada"},
            )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT kode, lacking FROM plan_action ORDER BY kode")).all()
    assert [(kode, bool(lacking)) for kode, lacking in rows] == [
        ("sarana.3", True),
        ("sarana.4", False),
        ("sdm.1", False),
    ]
    engine.dispose()
