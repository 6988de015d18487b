#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# the app gets a role of its own that is not a superuser (no COPY ... TO PROGRAM, no server
# files, no new roles) but owns its database, so it runs the migrations. The superuser
# (POSTGRES_USER, POSTGRES_PASSWORD) stays with the operator; the app never sees its password.
# pgvector is a superuser-only extension: it is created here, in the app's database.
set -eu
: "${REPORUNNER_DB_PASSWORD:?set REPORUNNER_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v app_password="$REPORUNNER_DB_PASSWORD" <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE reporunner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'app_password';
CREATE DATABASE reporunner OWNER reporunner;
\connect reporunner
CREATE EXTENSION IF NOT EXISTS vector;
SQL
