#!/bin/sh
# The container's entrypoint (Dockerfile, and the StartOS package's main daemon and backup hook).
#
#   docker-entrypoint.sh [serve]   migrate the database, then run keysat-serve on 0.0.0.0:8080
#   docker-entrypoint.sh backup    write a consistent copy of the database to DATA/backup/keysat.db
#   docker-entrypoint.sh keysat-…  run one of the tools (keysat-migrate verify, keysat-issue …)
#
# All state lives under KEYSAT_DATA_DIR (default /data): keysat.db, signing.key and .pub (made by
# keysat-serve on its first start), admin-api-key (the master admin key, made here on the first
# start unless KEYSAT_ADMIN_API_KEY is set; the StartOS package's actions read it) and backup/.
# A data directory holding backup/keysat.db but no keysat.db is a restored backup: the copy
# becomes the database before the migration runs.
#
# Started as root, it gives the data directory to KEYSAT_USER (default keysat) and runs as that
# user; started as anyone else it runs as it is. keysat-serve replaces this shell (exec), so
# SIGTERM reaches it directly: it finishes the requests in flight and exits 0.
set -eu

data=${KEYSAT_DATA_DIR:-/data}
bin=${KEYSAT_BIN_DIR:-/usr/local/bin}
db=${KEYSAT_DB_PATH:-$data/keysat.db}
user=${KEYSAT_USER:-keysat}
command=${1:-serve}

say() { printf 'docker-entrypoint: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

case $command in
serve | backup | keysat-*) ;;
-h | --help)
    sed -n '2,17s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
*) die "unknown command '$command' (serve, backup or a keysat-* tool; --help)" ;;
esac

mkdir -p "$data" || die "cannot create the data directory $data"

# As root: hand the data directory to the service user and start again as that user. chown runs
# from each entry's own directory (-execdir) and never follows a link (-h), so entries the
# service user swaps for links meanwhile cannot make root change anything outside the directory.
if [ "$(id -u)" -eq 0 ]; then
    id "$user" >/dev/null 2>&1 || die "no user '$user' to run as (set KEYSAT_USER); not running as root"
    find "$data" -xdev -ignore_readdir_race ! -user "$user" -execdir chown -h "$user:" {} + ||
        die "cannot give $data to $user"
    exec setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$0" "$@"
fi
umask 077

case $command in
backup)
    mkdir -p "$data/backup"
    [ -f "$db" ] || die "no database at $db to back up"
    exec "$bin/keysat-migrate" backup --db "$db" --to "$data/backup/keysat.db"
    ;;
keysat-*)
    shift
    export KEYSAT_DB_PATH="$db"
    exec "$bin/$command" "$@"
    ;;
esac

# A restored backup: the data directory has the consistent copy the backup hook made but not the
# live database (the package's backup leaves keysat.db and its WAL out).
# A WAL or shared-memory file left without its database belongs to another database: it is moved
# aside, never replayed onto the copy.
if [ ! -e "$db" ] && [ -f "$data/backup/keysat.db" ]; then
    say "restoring $db from $data/backup/keysat.db (the database was missing)"
    for f in "$db-wal" "$db-shm"; do
        if [ -e "$f" ]; then
            mv "$f" "$f.orphaned-$(date -u +%Y%m%dT%H%M%SZ)"
            say "moved the orphaned $f aside"
        fi
    done
    cp "$data/backup/keysat.db" "$db.restoring"
    mv "$db.restoring" "$db"
fi

if [ -z "${KEYSAT_ADMIN_API_KEY:-}" ]; then
    keyfile=$data/admin-api-key
    if [ ! -s "$keyfile" ]; then
        key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
        [ ${#key} -eq 64 ] || die "cannot read 32 random bytes from /dev/urandom"
        printf '%s\n' "$key" >"$keyfile.new"
        mv "$keyfile.new" "$keyfile"
        say "generated the master admin API key in $keyfile"
    fi
    KEYSAT_ADMIN_API_KEY=$(head -n 1 "$keyfile")
    export KEYSAT_ADMIN_API_KEY
fi

"$bin/keysat-migrate" up --db "$db" >&2 || die "the migration of $db failed; the database is unchanged"

export KEYSAT_DATA_DIR="$data" KEYSAT_DB_PATH="$db" KEYSAT_BIND="${KEYSAT_BIND:-0.0.0.0:8080}"
exec "$bin/keysat-serve"
