#!/bin/sh
# One-shot step of docker-compose.yml (service temporal-schema), run in the
# temporalio/admin-tools image: creates Temporal's main and visibility
# databases on PostgreSQL and brings both schemas up to the version that
# this admin-tools release ships. Safe to re-run: an existing database is
# kept, setup-schema leaves a versioned schema alone and update-schema only
# applies what is missing, so upgrading the images and re-running
# `docker compose up` migrates the schema.
#
# temporal-sql-tool reads its connection from SQL_PLUGIN, SQL_HOST,
# SQL_PORT, SQL_USER and SQL_PASSWORD, set by the compose file.
set -eu

: "${SQL_PLUGIN:?}" "${SQL_HOST:?}" "${SQL_PORT:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

# PostgreSQL has no CREATE DATABASE IF NOT EXISTS, so "already exists" is
# the one failure that is fine; any other (bad password, host down) stops us.
create_database() {
	db=$1
	if out=$(temporal-sql-tool --db "$db" create 2>&1); then
		echo "created database $db"
	elif printf '%s\n' "$out" | grep -q 'already exists'; then
		echo "database $db already exists"
	else
		printf '%s\n' "$out" >&2
		echo "cannot create database $db on $SQL_HOST:$SQL_PORT as $SQL_USER" >&2
		return 1
	fi
}

setup_database() {
	db=$1
	versioned_dir=$2
	create_database "$db"
	temporal-sql-tool --db "$db" setup-schema -v 0.0
	temporal-sql-tool --db "$db" update-schema -d "$versioned_dir"
}

setup_database "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
setup_database "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"
echo "temporal schemas ready in $DBNAME and $VISIBILITY_DBNAME"
