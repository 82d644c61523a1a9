#!/usr/bin/env bash
# Prove a backup restores: restore DUMP into a scratch database, compare row counts of every table with
# the source database, drop the scratch database. Exit 0 when every table matches.
#   deploy/backup/restore_check.sh DUMP postgres://user@host:5432/jirasync [SCRATCH_NAME]
# The counts only match when nothing wrote to the source since the dump (stop the workers, or run it on
# the dump of a quiet moment); for a real restore use: pg_restore --clean --if-exists --no-owner -d URL DUMP
set -euo pipefail
dump="${1:?dump file}"
source_url="${2:?source database URL}"
scratch="${3:-jirasync_restore_check_$$}"
base="${source_url%/*}"
scratch_url="$base/$scratch"
admin_url="$base/postgres"

psql -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "DROP DATABASE IF EXISTS \"$scratch\"" -c "CREATE DATABASE \"$scratch\""
trap 'psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$scratch\"" >/dev/null 2>&1 || true' EXIT
pg_restore --no-owner --exit-on-error --dbname="$scratch_url" "$dump"

count_rows() {
    psql -X -At -v ON_ERROR_STOP=1 "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I;', table_name, table_schema, table_name)
FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
ORDER BY table_name
\gexec
SQL
}
diff <(count_rows "$source_url") <(count_rows "$scratch_url") > /tmp/restore_check_diff.$$ || {
    echo "restore check FAILED: row counts differ (source < > restored):" >&2
    cat /tmp/restore_check_diff.$$ >&2
    rm -f /tmp/restore_check_diff.$$
    exit 1
}
rm -f /tmp/restore_check_diff.$$
tables=$(count_rows "$scratch_url" | wc -l)
echo "restore check passed: $tables tables, every row count equal"
