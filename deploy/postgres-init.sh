#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): the read model's own role and database. Temporal's setup
# uses the superuser for its two databases; the API and the workers only ever log in as p2ham.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres <<SQL
CREATE ROLE p2ham LOGIN PASSWORD '${P2HAM_DB_PASSWORD}';
CREATE DATABASE p2ham OWNER p2ham;
REVOKE ALL ON DATABASE p2ham FROM PUBLIC;
SQL
