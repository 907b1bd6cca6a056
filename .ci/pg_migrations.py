"""CI gate: the migrations build the schema on an empty PostgreSQL schema and match the models."""

import os
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text

URL = os.environ.get("REVIEWAPP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> int:
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    env = {
        **os.environ,
        "REVIEWAPP_SECRET_KEY": "ci",
        "REVIEWAPP_DATABASE_URL": f"{URL}?options=-csearch_path%3D{schema}",
    }
    try:
        for command in (["db", "upgrade"], ["db", "check"]):
            done = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app", *command], env=env
            )
            if done.returncode != 0:
                return done.returncode
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    print("PostgreSQL: migrations build the schema and match the models.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
