#!/usr/bin/env bash
# The private refx stack: PostgreSQL 15, two refx-fcgi workers, the mailer and nginx.
#
#   scripts/stack.sh start     start (idempotent), run migrations, print the URL
#   scripts/stack.sh stop      stop exactly what start started; keeps the data
#   scripts/stack.sh status    show what runs (exit 0: all up, 3: not all up)
#   scripts/stack.sh destroy   stop, then delete the runtime dir and the state dir
#
# Environment:
#   REFX_VAR_DIR    state dir (config, master key, logs, pid files); default <checkout>/var
#   REFX_HTTP_PORT  HTTP port on 127.0.0.1; default 8080
#   REFX_BIN_DIR    where refx-fcgi and refx-admin are; default <checkout>/build
#   REFX_PG_BIN     PostgreSQL programs; default /usr/lib/postgresql/15/bin
#   REFX_RT_BASE    where the runtime dir is made; default /var/tmp
#   REFX_THREADS, REFX_LOG_LEVEL   written into refx.conf
#   REFX_EXTRA_CONF raw lines appended to refx.conf (test-only sections)
#   REFX_TEST_FAST=1  PostgreSQL without fsync (tests only)
# Anything else in the environment (ASAN_OPTIONS, REFX_* overrides) reaches the workers.
#
# Layout. The checkout may sit in a directory that postgres and www-data cannot
# traverse (e.g. a 0700 home), so everything they must reach lives in a runtime
# dir RT=/var/tmp/refx-rt.XXXXXX (0755), recorded in $VAR/runtime-dir:
#   RT/pgdata  cluster (postgres, 0700)     RT/pg     PostgreSQL socket (postgres, 0755)
#   RT/pg.log  PostgreSQL log               RT/fcgi   worker sockets (w1.sock, w2.sock)
#   RT/nginx   nginx prefix (conf, logs, temp, pid)
#   RT/static  copy of <checkout>/static, served at /static/
# $VAR holds refx.conf, master.key (0600), log/ (worker logs and links to the
# others) and run/ (worker pid files).
set -eEuo pipefail
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)

PORT=${REFX_HTTP_PORT:-8080}
if [[ ! $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
    echo "stack.sh: REFX_HTTP_PORT must be a port number, not '$PORT'" >&2
    exit 2
fi
# Unix socket only: the port just names the socket file (.s.PGSQL.N), but keep
# it per stack so two stacks never share a name.
PGPORT=$((20000 + PORT % 10000))
BIN=${REFX_BIN_DIR:-$ROOT/build}
PGBIN=${REFX_PG_BIN:-/usr/lib/postgresql/15/bin}
RT_BASE=${REFX_RT_BASE:-/var/tmp}
NGINX=${REFX_NGINX:-/usr/sbin/nginx}
VAR_IN=${REFX_VAR_DIR:-$ROOT/var}
case $VAR_IN in /*) ;; *) VAR_IN=$PWD/$VAR_IN ;; esac
VAR=$VAR_IN # made canonical once it exists
RT=""

IS_ROOT=0
((EUID == 0)) && IS_ROOT=1
if ((IS_ROOT)); then
    PG_USER=postgres
    WEB_USER=www-data
    WEB_GROUP=www-data
else
    PG_USER=$(id -un)
    WEB_USER=$(id -un)
    WEB_GROUP=$(id -gn)
fi

# Knobs of this script only: kept away from refx-fcgi and refx-admin, which
# read REFX_<SECTION>_<KEY> overrides from the environment.
STACK_ENV_UNSET=()
for v in REFX_VAR_DIR REFX_HTTP_PORT REFX_BIN_DIR REFX_PG_BIN REFX_RT_BASE REFX_NGINX \
    REFX_THREADS REFX_LOG_LEVEL REFX_EXTRA_CONF REFX_TEST_FAST; do
    STACK_ENV_UNSET+=(-u "$v")
done
unset v

msg() { printf 'stack: %s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die() {
    warn "error: $*"
    exit 1
}

# Run a command as the PostgreSQL user, from a directory that user can read.
as_pg() {
    if ((IS_ROOT)); then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        "$@"
    fi
}

# True if the pid in file $1 runs and its command line contains $2.
pidfile_alive() {
    local file=$1 pattern=$2 pid
    [[ -s $file ]] || return 1
    pid=$(head -n1 "$file" 2>/dev/null) || return 1
    pid_alive "$pid" "$pattern"
}
pid_alive() {
    local pid=$1 pattern=$2 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    proc_running "$pid" || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$pattern"* ]]
}
pidfile_pid() { head -n1 "$1" 2>/dev/null || true; }

# True if pid $1 exists and is not a zombie (an exited daemon stays a zombie
# until init reaps it, which can take seconds).
proc_running() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# Wait up to $2 tenths of a second for pid $1 to exit.
wait_gone() {
    local pid=$1 n=$2
    while ((n-- > 0)); do
        proc_running "$pid" || return 0
        sleep 0.1
    done
    ! proc_running "$pid"
}

# ---------------------------------------------------------------- paths

# Make $VAR canonical; create it when $1 is "create".
resolve_var() {
    if [[ ! -d $VAR_IN ]]; then
        [[ ${1:-} == create ]] || return 1
        mkdir -p "$VAR_IN"
        chmod 0700 "$VAR_IN"
    fi
    VAR=$(cd "$VAR_IN" && pwd -P)
    [[ $VAR != / && $VAR != "$ROOT" ]] || die "refusing to use '$VAR' as state dir"
    if [[ ${1:-} == create ]]; then
        : >"$VAR/.refx-var"
        mkdir -p "$VAR/log" "$VAR/run"
    fi
    return 0
}

# Set RT from $VAR/runtime-dir if it is recorded and exists.
load_rt() {
    RT=""
    [[ -s $VAR/runtime-dir ]] || return 1
    local rt
    rt=$(head -n1 "$VAR/runtime-dir")
    [[ $rt == /* && -d $rt && -e $rt/.refx-rt ]] || return 1
    RT=$rt
    set_rt_paths
}

set_rt_paths() {
    PGDATA=$RT/pgdata
    PGSOCK=$RT/pg
    PGLOG=$RT/pg.log
    FCGI=$RT/fcgi
    NGX=$RT/nginx
}

create_rt() {
    if load_rt; then
        return 0
    fi
    mkdir -p "$RT_BASE"
    RT=$(mktemp -d "$RT_BASE/refx-rt.XXXXXX")
    chmod 0755 "$RT"
    printf '%s\n' "$VAR" >"$RT/.refx-rt"
    printf '%s\n' "$RT" >"$VAR/runtime-dir"
    set_rt_paths
    msg "runtime dir $RT"
}

# Check that user $1 can traverse every directory up to $2.
check_reachable() {
    local user=$1 path=$2
    ((IS_ROOT)) || return 0
    runuser -u "$user" -- test -x "$path" ||
        die "$user cannot reach $path (check the modes of its parent directories)"
}

# ---------------------------------------------------------------- PostgreSQL

pg_running() {
    [[ -n $RT && -f $PGDATA/postmaster.pid ]] || return 1
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

psql_super() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT" -U postgres "$@"
}

pg_init() {
    if [[ -f $PGDATA/PG_VERSION ]]; then
        return 0
    fi
    msg "initdb $PGDATA"
    rm -rf "$PGDATA"
    mkdir -m 0700 "$PGDATA"
    ((IS_ROOT)) && chown "$PG_USER:" "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$RT/initdb.log" 2>&1 || {
        tail -n 20 "$RT/initdb.log" >&2
        die "initdb failed (log: $RT/initdb.log)"
    }
}

pg_start() {
    mkdir -p "$PGSOCK"
    chmod 0755 "$PGSOCK"
    touch "$PGLOG"
    if ((IS_ROOT)); then
        chown "$PG_USER:" "$PGSOCK" "$PGLOG"
    fi
    chmod 0640 "$PGLOG"
    ln -sfn "$PGLOG" "$VAR/log/postgresql.log"
    check_reachable "$PG_USER" "$PGSOCK"
    pg_init
    if pg_running; then
        local running_port
        running_port=$(sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null || true)
        [[ $running_port == "$PGPORT" ]] ||
            die "PostgreSQL of this stack runs with port $running_port, not $PGPORT: run 'stack.sh stop' first"
        return 0
    fi
    local opts="-c listen_addresses='' -p $PGPORT -k $PGSOCK -c unix_socket_permissions=0700"
    # Socket 0700: only the postgres user and root (the stack's users) may connect;
    # auth is "trust".  Error lines stay terse and statements are not logged:
    # a failing row's DETAIL would carry patient data into the log.
    opts+=" -c log_error_verbosity=terse -c log_min_error_statement=panic"
    if [[ ${REFX_TEST_FAST:-0} == 1 ]]; then
        opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    msg "starting PostgreSQL (socket $PGSOCK/.s.PGSQL.$PGPORT)"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 -s start -o "$opts" 9>&- ||
        {
            tail -n 20 "$PGLOG" >&2
            die "PostgreSQL did not start (log: $PGLOG)"
        }
}

pg_setup() {
    psql_super -d postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refx_owner') THEN
        CREATE ROLE refx_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'refx_app') THEN
        CREATE ROLE refx_app LOGIN NOINHERIT;
    END IF;
END
$$;
SQL
    if [[ -z $(psql_super -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = 'refx'") ]]; then
        msg "creating database refx"
        psql_super -d postgres -c "CREATE DATABASE refx OWNER refx_owner ENCODING 'UTF8' TEMPLATE template0"
    fi
    psql_super -d refx <<'SQL'
REVOKE ALL ON DATABASE refx FROM PUBLIC;
GRANT CONNECT ON DATABASE refx TO refx_app;
ALTER SCHEMA public OWNER TO refx_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO refx_app;
SQL
}

pg_stop() {
    pg_running || return 0
    msg "stopping PostgreSQL"
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 -s stop; then
        warn "fast shutdown failed; trying immediate"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 -s stop || true
    fi
}

# ---------------------------------------------------------------- config, key

make_master_key() {
    local key=$VAR/master.key
    if [[ -e $key ]]; then
        [[ -f $key ]] || die "$key is not a regular file"
        chmod 0600 "$key"
        return 0
    fi
    msg "creating master key $key"
    local hex tmp
    if command -v openssl >/dev/null 2>&1; then
        hex=$(openssl rand -hex 32)
    else
        hex=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    fi
    [[ $hex =~ ^[0-9a-f]{64}$ ]] || die "could not generate a master key"
    tmp=$(mktemp "$VAR/.master.key.XXXXXX")
    chmod 0600 "$tmp"
    printf '%s\n' "$hex" >"$tmp"
    # ln (not mv) fails if a key appeared meanwhile: never overwrite one.
    if ! ln "$tmp" "$key" 2>/dev/null; then
        rm -f "$tmp"
        [[ -f $key ]] || die "could not create $key"
        return 0
    fi
    rm -f "$tmp"
}

write_config() {
    local conf=$VAR/refx.conf tmp
    tmp=$(mktemp "$VAR/.refx.conf.XXXXXX")
    chmod 0600 "$tmp"
    {
        echo "; written by scripts/stack.sh on every start: edits are lost"
        echo "[server]"
        echo "listen = $FCGI/w1.sock"
        echo "listen_mode = 0660"
        echo "listen_group = $WEB_GROUP"
        echo "threads = ${REFX_THREADS:-8}"
        echo "base_url = http://127.0.0.1:$PORT"
        echo "instance_name = refx"
        echo "log_level = ${REFX_LOG_LEVEL:-info}"
        echo ""
        echo "[database]"
        echo "conninfo = host=$PGSOCK port=$PGPORT dbname=refx user=refx_app"
        echo ""
        echo "[security]"
        echo "master_key_file = $VAR/master.key"
        echo ""
        echo "[paths]"
        echo "migrations = $ROOT/migrations"
        echo "templates = $ROOT/templates"
        echo "locale = $ROOT/po"
        if [[ -n ${REFX_EXTRA_CONF:-} ]]; then
            echo ""
            echo "; from REFX_EXTRA_CONF"
            printf '%s\n' "$REFX_EXTRA_CONF"
        fi
    } >"$tmp"
    mv -f "$tmp" "$conf"
}

run_migrations() {
    [[ -x $BIN/refx-admin ]] || die "$BIN/refx-admin not found: build first (make), or set REFX_BIN_DIR"
    msg "running migrations"
    env "${STACK_ENV_UNSET[@]}" \
        REFX_DATABASE_CONNINFO="host=$PGSOCK port=$PGPORT dbname=refx user=refx_owner" \
        "$BIN/refx-admin" -c "$VAR/refx.conf" migrate 9>&- ||
        die "migrations failed ($BIN/refx-admin -c $VAR/refx.conf migrate as refx_owner)"
}

# The first admin account, once: password from REFX_ADMIN_PASSWORD, else
# generated; written to $VAR/admin-password (0600) either way.
ensure_admin() {
    local out
    out=$(env "${STACK_ENV_UNSET[@]}" "$BIN/refx-admin" -c "$VAR/refx.conf" \
        user ensure-admin admin --display "Administrator" 9>&-) ||
        die "creating the first admin failed"
    if [[ -n $out ]]; then
        (umask 077 && printf '%s\n' "$out" >"$VAR/admin-password")
        msg "created the first admin account 'admin' (password in $VAR/admin-password)"
    fi
}

# ---------------------------------------------------------------- workers

worker_pidfile() { echo "$VAR/run/refx-fcgi-$1.pid"; }
worker_sock() { echo "$FCGI/w$1.sock"; }
worker_log() { echo "$VAR/log/refx-fcgi-$1.log"; }
# Pattern that identifies a worker of this stack in /proc/PID/cmdline.
worker_pattern() { echo "refx-fcgi -c $VAR/refx.conf"; }

worker_running() { pidfile_alive "$(worker_pidfile "$1")" "$(worker_pattern)"; }

# Launch worker $1 in its own session; the child writes its own pid file.
worker_launch() {
    local i=$1 sock pidf log
    sock=$(worker_sock "$i")
    pidf=$(worker_pidfile "$i")
    log=$(worker_log "$i")
    rm -f "$sock" "$pidf"
    printf '=== %s stack.sh: starting worker %s\n' "$(date '+%F %T')" "$i" >>"$log"
    # shellcheck disable=SC2016 # $$ and $1 belong to the inner bash
    env "${STACK_ENV_UNSET[@]}" REFX_SERVER_LISTEN="$sock" setsid bash -c 'echo $$ >"$1" && shift && exec "$@"' \
        refx-worker "$pidf" "$BIN/refx-fcgi" -c "$VAR/refx.conf" \
        </dev/null >>"$log" 2>&1 9>&- &
}

workers_start() {
    [[ -x $BIN/refx-fcgi ]] || die "$BIN/refx-fcgi not found: build first (make), or set REFX_BIN_DIR"
    mkdir -p "$FCGI"
    chmod 0755 "$FCGI"
    local i started=()
    for i in 1 2; do
        if worker_running "$i" && [[ -S $(worker_sock "$i") ]]; then
            continue
        fi
        worker_stop_one "$i" quiet
        worker_launch "$i"
        started+=("$i")
    done
    ((${#started[@]})) || return 0
    msg "started worker(s) ${started[*]}"
    local deadline=$((SECONDS + 10)) pending
    while :; do
        pending=()
        for i in "${started[@]}"; do
            local pidf sock pid
            pidf=$(worker_pidfile "$i")
            sock=$(worker_sock "$i")
            pid=$(pidfile_pid "$pidf")
            if [[ -n $pid ]] && ! proc_running "$pid"; then
                worker_fail "$i" "worker $i exited during start-up"
            fi
            [[ -S $sock ]] || pending+=("$i")
        done
        ((${#pending[@]})) || break
        ((SECONDS < deadline)) || worker_fail "${pending[0]}" "no socket $(worker_sock "${pending[0]}") after 10 s"
        sleep 0.05
    done
    if ((IS_ROOT)); then
        for i in "${started[@]}"; do
            runuser -u "$WEB_USER" -- test -w "$(worker_sock "$i")" ||
                worker_fail "$i" "$WEB_USER cannot write to $(worker_sock "$i"); the worker must apply listen_mode/listen_group ($(stat -c '%U:%G %a' "$(worker_sock "$i")"))"
        done
    fi
}

worker_fail() {
    local i=$1 log
    log=$(worker_log "$i")
    warn "$2"
    warn "last lines of $log:"
    tail -n 30 "$log" >&2 || true
    exit 1
}

# Stop worker $1: TERM, up to 10 s, then KILL.
worker_stop_one() {
    local i=$1 quiet=${2:-} pidf pid
    pidf=$(worker_pidfile "$i")
    pid=$(pidfile_pid "$pidf")
    if pid_alive "$pid" "$(worker_pattern)"; then
        [[ -n $quiet ]] || msg "stopping worker $i (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 100; then
            warn "worker $i (pid $pid) still runs after 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || true
        fi
    fi
    rm -f "$pidf"
    [[ -z $RT ]] || rm -f "$(worker_sock "$i")"
}

# ---------------------------------------------------------------- mailer

# The outgoing mail sender: "refx-admin mail send --loop" drains the
# mail_queue table every 2 s ([mail] smtp_url; without a relay mail waits).
mailer_pidfile() { echo "$VAR/run/refx-mailer.pid"; }
mailer_log() { echo "$VAR/log/refx-mailer.log"; }
mailer_pattern() { echo "refx-admin -c $VAR/refx.conf mail send --loop"; }
mailer_running() { pidfile_alive "$(mailer_pidfile)" "$(mailer_pattern)"; }

mailer_start() {
    mailer_running && return 0
    local pidf log
    pidf=$(mailer_pidfile)
    log=$(mailer_log)
    rm -f "$pidf"
    printf '=== %s stack.sh: starting mailer\n' "$(date '+%F %T')" >>"$log"
    # shellcheck disable=SC2016 # $$ and $1 belong to the inner bash
    env "${STACK_ENV_UNSET[@]}" setsid bash -c 'echo $$ >"$1" && shift && exec "$@"' \
        refx-mailer "$pidf" "$BIN/refx-admin" -c "$VAR/refx.conf" mail send --loop \
        </dev/null >>"$log" 2>&1 9>&- &
    local deadline=$((SECONDS + 5))
    until mailer_running; do
        ((SECONDS < deadline)) || { warn "the mailer did not start; $log:"; tail -n 10 "$log" >&2; exit 1; }
        sleep 0.05
    done
    msg "started the mailer"
}

mailer_stop() {
    local pid
    pid=$(pidfile_pid "$(mailer_pidfile)")
    if pid_alive "$pid" "$(mailer_pattern)"; then
        msg "stopping the mailer (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 100; then
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || true
        fi
    fi
    rm -f "$(mailer_pidfile)"
}

# ---------------------------------------------------------------- nginx

nginx_pid() { pidfile_pid "$NGX/nginx.pid"; }
nginx_running() { [[ -n $RT ]] && pidfile_alive "$NGX/nginx.pid" "$NGX"; }

nginx_render() {
    mkdir -p "$NGX/logs" "$NGX/tmp"
    chmod 0755 "$NGX"
    cp "$ROOT/conf/fastcgi_params" "$NGX/fastcgi_params"
    local tmp
    tmp=$(mktemp "$NGX/.nginx.conf.XXXXXX")
    local user_expr="s|@USER@|$WEB_USER|g"
    # Without root, nginx ignores "user" with a warning: leave the line out.
    ((IS_ROOT)) || user_expr='/^user @USER@;/d'
    sed -e "$user_expr" \
        -e "s|@PREFIX@|$NGX|g" \
        -e "s|@RT@|$RT|g" \
        -e "s|@PORT@|$PORT|g" \
        -e "s|@FCGI_PARAMS@|$NGX/fastcgi_params|g" \
        "$ROOT/conf/nginx.conf.in" >"$tmp"
    if grep -n '@[A-Z_]*@' "$tmp" >&2; then
        rm -f "$tmp"
        die "conf/nginx.conf.in has placeholders stack.sh does not know (above)"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$NGX/nginx.conf"
    ln -sfn "$NGX/logs/error.log" "$VAR/log/nginx-error.log"
    ln -sfn "$NGX/logs/access.log" "$VAR/log/nginx-access.log"
}

static_copy() {
    rm -rf "$RT/static.new"
    mkdir -p "$RT/static.new"
    if [[ -d $ROOT/static ]]; then
        cp -R "$ROOT/static/." "$RT/static.new/"
    fi
    chmod -R u+rwX,go+rX,go-w "$RT/static.new"
    rm -rf "$RT/static"
    mv "$RT/static.new" "$RT/static"
    check_reachable "$WEB_USER" "$RT/static"
}

nginx_start() {
    nginx_render
    local ngx_args=(-p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log")
    "$NGINX" -t -q "${ngx_args[@]}" 9>&- || die "nginx rejects $NGX/nginx.conf"
    if nginx_running; then
        msg "reloading nginx"
        "$NGINX" "${ngx_args[@]}" -s reload 9>&-
        return 0
    fi
    rm -f "$NGX/nginx.pid"
    msg "starting nginx on 127.0.0.1:$PORT"
    "$NGINX" "${ngx_args[@]}" 9>&- || {
        tail -n 10 "$NGX/logs/error.log" >&2 || true
        die "nginx did not start (port $PORT in use?)"
    }
}

nginx_stop() {
    [[ -n $RT ]] || return 0
    local pid children
    pid=$(nginx_pid)
    pid_alive "$pid" "$NGX" || {
        rm -f "$NGX/nginx.pid"
        return 0
    }
    msg "stopping nginx (pid $pid)"
    # Its workers do not die with a killed master: remember them.
    children=$(pgrep -P "$pid" || true)
    kill -QUIT "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 100; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" 50; then
            warn "nginx (pid $pid) still runs: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 30 || true
        fi
    fi
    local c
    for c in $children; do
        if proc_running "$c"; then
            kill -KILL "$c" 2>/dev/null || true
        fi
    done
    rm -f "$NGX/nginx.pid"
}

# ---------------------------------------------------------------- health

http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/status.php" 2>/dev/null || true
}

wait_healthy() {
    local deadline=$((SECONDS + 10)) code
    while :; do
        code=$(http_status)
        [[ $code == 200 ]] && return 0
        if ((SECONDS >= deadline)); then
            warn "http://127.0.0.1:$PORT/status.php answers '${code:-nothing}' after 10 s"
            warn "nginx error log ($NGX/logs/error.log):"
            tail -n 10 "$NGX/logs/error.log" >&2 || true
            local i
            for i in 1 2; do
                warn "worker $i log ($(worker_log "$i")):"
                tail -n 10 "$(worker_log "$i")" >&2 || true
            done
            exit 1
        fi
        sleep 0.1
    done
}

all_running() {
    [[ -n $RT ]] && pg_running && worker_running 1 && worker_running 2 && mailer_running &&
        [[ -S $(worker_sock 1) && -S $(worker_sock 2) ]] && nginx_running
}

# ---------------------------------------------------------------- lock

# One start/stop at a time per state dir. Every child started below gets
# "9>&-" so no daemon keeps the lock.
take_lock() {
    exec 9>>"$VAR/.lock"
    flock -w 300 9 || die "another stack.sh holds $VAR/.lock"
}

# ---------------------------------------------------------------- commands

STARTING=0
on_error() {
    local rc=$?
    # The ERR trap is inherited by $(...) subshells (set -E): act in the main shell only.
    [[ $BASHPID == "$$" ]] || return 0
    ((STARTING)) || return 0
    STARTING=0
    trap - ERR
    warn "start failed (exit $rc); stopping what runs of this stack"
    do_stop >&2 || true
    exit "$rc"
}
on_exit() {
    local rc=$?
    if ((STARTING && rc != 0)); then
        STARTING=0
        warn "start failed; stopping what runs of this stack"
        do_stop >&2 || true
    fi
}

cmd_start() {
    resolve_var create
    take_lock
    local saved_port
    saved_port=$(cat "$VAR/http-port" 2>/dev/null || true)
    if load_rt && nginx_running && [[ -n $saved_port && $saved_port != "$PORT" ]]; then
        die "this stack already runs on port $saved_port: run 'stack.sh stop' first"
    fi
    if [[ -n $RT ]] && all_running && [[ $(http_status) == 200 ]]; then
        msg "already running"
        echo "refx is running at http://127.0.0.1:$PORT/"
        return 0
    fi

    STARTING=1
    trap on_error ERR
    trap on_exit EXIT
    create_rt
    check_reachable "$PG_USER" "$RT"
    check_reachable "$WEB_USER" "$RT"
    printf '%s\n' "$PORT" >"$VAR/http-port"

    pg_start
    pg_setup
    make_master_key
    write_config
    run_migrations
    ensure_admin
    workers_start
    mailer_start
    static_copy
    nginx_start
    wait_healthy
    STARTING=0
    trap - ERR EXIT
    echo "refx is running at http://127.0.0.1:$PORT/"
}

do_stop() {
    local i leftovers=()
    nginx_stop
    mailer_stop
    for i in 1 2; do
        worker_stop_one "$i"
    done
    [[ -z $RT ]] || pg_stop

    # Verify that nothing of this stack is left.
    for i in 1 2; do
        local pid
        pid=$(pidfile_pid "$(worker_pidfile "$i")")
        [[ -z $pid ]] || ! proc_running "$pid" || leftovers+=("worker $i pid $pid")
    done
    pid=$(pidfile_pid "$(mailer_pidfile)")
    [[ -z $pid ]] || ! pid_alive "$pid" "$(mailer_pattern)" || leftovers+=("mailer pid $pid")
    if [[ -n $RT ]]; then
        local p
        for p in $(pgrep -f -- "nginx: .* -p $NGX/" || true) $(pgrep -f -- "-D $PGDATA( |$)" || true) \
            $(pgrep -f -- "refx-fcgi -c $VAR/refx.conf" || true); do
            leftovers+=("pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)")
        done
    fi
    if ((${#leftovers[@]})); then
        warn "still running after stop:"
        printf '  %s\n' "${leftovers[@]}" >&2
        return 1
    fi
    return 0
}

cmd_stop() {
    if ! resolve_var; then
        msg "nothing to stop ($VAR_IN does not exist)"
        return 0
    fi
    take_lock
    load_rt || true
    if ! worker_running 1 && ! worker_running 2 && ! mailer_running &&
        { [[ -z $RT ]] || { ! pg_running && ! nginx_running; }; }; then
        msg "nothing running"
        return 0
    fi
    do_stop
    msg "stopped"
}

cmd_destroy() {
    if ! resolve_var; then
        msg "nothing to destroy ($VAR_IN does not exist)"
        return 0
    fi
    [[ -e $VAR/.refx-var ]] || die "$VAR has no .refx-var marker; not deleting it"
    take_lock
    load_rt || true
    do_stop
    if [[ -n $RT ]]; then
        [[ -e $RT/.refx-rt ]] || die "$RT has no .refx-rt marker; not deleting it"
        msg "removing $RT"
        rm -rf -- "$RT"
    fi
    msg "removing $VAR"
    rm -rf -- "$VAR"
}

cmd_status() {
    if ! resolve_var || ! load_rt; then
        echo "refx stack: not set up (state dir $VAR_IN)"
        return 3
    fi
    local up=1 pid i port
    port=$(cat "$VAR/http-port" 2>/dev/null || echo "$PORT")
    echo "refx stack: state $VAR, runtime $RT"
    if pg_running; then
        pid=$(head -n1 "$PGDATA/postmaster.pid")
        printf '  %-11s running  pid %-8s %s\n' postgresql "$pid" "$PGSOCK/.s.PGSQL.$(sed -n 4p "$PGDATA/postmaster.pid")"
    else
        printf '  %-11s stopped\n' postgresql
        up=0
    fi
    for i in 1 2; do
        if worker_running "$i"; then
            printf '  %-11s running  pid %-8s %s\n' "worker $i" "$(pidfile_pid "$(worker_pidfile "$i")")" "$(worker_sock "$i")"
        else
            printf '  %-11s stopped\n' "worker $i"
            up=0
        fi
    done
    if mailer_running; then
        printf '  %-11s running  pid %-8s %s\n' mailer "$(pidfile_pid "$(mailer_pidfile)")" "$(mailer_log)"
    else
        printf '  %-11s stopped\n' mailer
        up=0
    fi
    if nginx_running; then
        printf '  %-11s running  pid %-8s http://127.0.0.1:%s/\n' nginx "$(nginx_pid)" "$port"
        local code
        code=$(PORT=$port http_status)
        printf '  %-11s %s\n' health "status.php -> ${code:-no answer}"
        [[ $code == 200 ]] || up=0
    else
        printf '  %-11s stopped\n' nginx
        up=0
    fi
    ((up)) || return 3
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
destroy) cmd_destroy ;;
*)
    echo "usage: $0 start|stop|status|destroy" >&2
    exit 2
    ;;
esac
