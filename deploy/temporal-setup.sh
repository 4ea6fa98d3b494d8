#!/bin/sh
# One-shot setup of Temporal for P2HAM, idempotent (safe on every `docker compose up`). `temporal-setup.sh STEP`:
#   schema     1. the schemas of Temporal's two PostgreSQL databases (temporal, temporal_visibility) created or
#                 updated with temporal-sql-tool: before the server starts (the temporal-schema service);
#   namespace  2. the namespace created with the history retention P2HAM_HISTORY_RETENTION (default 3653d, ten years), or its
#      retention set if it exists;
#              3. the four search attributes the case workflow upserts (workflows/unit.py, SEARCH_ATTRIBUTES), and no
#                 others: once the server is healthy (the temporal-setup service, and tests/test_topology.py, whose
#                 dev server keeps its own SQLite schema).
set -eu

NAMESPACE="${P2HAM_TEMPORAL_NAMESPACE:-p2ham}"
RETENTION="${P2HAM_HISTORY_RETENTION:-3653d}"
TEMPORAL="${TEMPORAL_CLI:-temporal}"
# TEMPORAL_ADDRESS and the TEMPORAL_TLS_* variables are read by the temporal CLI itself.

STEP="${1:?usage: temporal-setup.sh schema|namespace}"

if [ "$STEP" = "schema" ]; then
  SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
  for db in temporal temporal_visibility; do
    case "$db" in
      temporal) dir="$SCHEMA_DIR/temporal/versioned" ;;
      *) dir="$SCHEMA_DIR/visibility/versioned" ;;
    esac
    sql() {
      temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
        -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" "$@"
    }
    sql create-database 2>/dev/null || true   # exists after the first run
    sql setup-schema -v 0.0 2>/dev/null || true  # the version table; refused once it exists
    sql update-schema -d "$dir"
  done
  echo "schemas of temporal and temporal_visibility up to date"
  exit 0
fi
[ "$STEP" = "namespace" ] || { echo "unknown step $STEP: schema or namespace" >&2; exit 2; }

echo "waiting for the Temporal frontend at ${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
tries=0
until "$TEMPORAL" operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 150 ]; then echo "Temporal frontend not healthy after 5 minutes" >&2; exit 1; fi
  sleep 2
done

if "$TEMPORAL" operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  "$TEMPORAL" operator namespace update --namespace "$NAMESPACE" --retention "$RETENTION"
else
  "$TEMPORAL" operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
fi

# A new namespace reaches every frontend within seconds: retry until the attributes are accepted. Registering an
# attribute that exists with the same type succeeds, so this is idempotent.
tries=0
until "$TEMPORAL" operator search-attribute create --namespace "$NAMESPACE" \
    --name P2hamStage --type Keyword \
    --name P2hamYear --type Int \
    --name P2hamRegion --type Keyword \
    --name P2hamUnit --type Keyword
do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "search attributes not registered" >&2; exit 1; fi
  sleep 2
done
echo "namespace $NAMESPACE: retention $RETENTION, search attributes P2hamStage P2hamYear P2hamRegion P2hamUnit"
