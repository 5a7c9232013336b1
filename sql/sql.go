// Package sql embeds unitcost's ClickHouse migrations and shipped queries, so the binary
// carries them and tests can check every statement against each server version.
//
// Files use {db} where the database name goes.
package sql

import "embed"

// Migrations holds migrations/NNNN_name.sql, applied in order by `unitcost migrate`.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Queries holds queries/*.sql, served by `unitcost report` and the HTTP API.
//
//go:embed queries/*.sql
var Queries embed.FS
