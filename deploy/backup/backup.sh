#!/usr/bin/env bash
# Back up jirasync's PostgreSQL database: a compressed custom-format dump, named by date, old ones pruned.
#   deploy/backup/backup.sh postgres://user@host:5432/jirasync /var/backups/jirasync [KEEP_DAYS]
# Run it from cron or a systemd timer; restore with restore_check.sh (scratch) or pg_restore (for real).
set -euo pipefail
url="${1:?database URL}"
folder="${2:?backup folder}"
keep_days="${3:-14}"
mkdir -p "$folder"
file="$folder/jirasync-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --compress=6 --no-owner --file="$file.partial" "$url"
mv "$file.partial" "$file"   # a dump that exists is a finished one
find "$folder" -name 'jirasync-*.dump' -mtime "+$keep_days" -delete
echo "$file"
