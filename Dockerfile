# One image for the Dagster webserver, the daemon and the user-code gRPC server (docs/operations.md).
FROM python:3.11-slim

ENV DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_DISABLE_TELEMETRY=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    CLOSE_WAREHOUSE=/data/warehouse.duckdb \
    CLOSE_EXPORT_DIR=/data/exports

WORKDIR /opt/stripe-close
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY exporters exporters
COPY orchestration orchestration
COPY sandbox sandbox
COPY dbt_project dbt_project
# Editable, so the code finds dbt_project/ beside its packages; the dbt manifest is built into the
# image, not at the first start of a container.
RUN pip install --no-cache-dir -e . dagster-postgres==1.13.27 \
    && python -c "from orchestration.defs.transform.project import prepare_manifest; prepare_manifest(force=True)"

# The embedded dagster.yaml (SQLite); in production mount one with the postgres storage block here.
COPY dagster.yaml ${DAGSTER_HOME}/dagster.yaml
VOLUME ["/data"]
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "orchestration.definitions"]
