#!/usr/bin/env bash
# Bring up / tear down a real single-node SLURM cluster (with accounting) on
# this machine, for CI and the test suite.  Needs root and Debian's packages.
#
# Usage: tests/slurm/cluster.sh install
#        tests/slurm/cluster.sh start  [STATE_DIR]
#        tests/slurm/cluster.sh stop   [STATE_DIR]
#        tests/slurm/cluster.sh status [STATE_DIR]
#        tests/slurm/cluster.sh env    [STATE_DIR]   # eval "$(... env)"
#
# Everything lives in STATE_DIR (default /tmp/imagestores-slurm): configs in
# etc/, logs in log/, PID files in run/, spool dirs in spool/, the munge key
# and socket in munge/, a private MariaDB datadir in mysql/ (127.0.0.1 only).
# Nothing under /etc is written and no system service is started; clients
# find the cluster through SLURM_CONF (see `env`).  One outside path is used:
# /run/slurm/conf -> STATE_DIR/etc (removed by `stop`), because Snakemake's
# slurm-jobstep plugin drops SLURM_CONF before it calls srun inside a job.
# `start` stops daemons of the same STATE_DIR first, so it can be rerun; it
# ends with a smoke job (srun without SLURM_CONF) that sacct must list.
# Daemons are stopped through PID files and checked by name and STATE_DIR.
#
# Tunables (environment):
#   IMAGESTORES_SLURM_STATE_DIR   default STATE_DIR
#   IMAGESTORES_SLURM_CLUSTER     cluster name            [imagestores]
#   IMAGESTORES_SLURM_PARTITION   partition name          [debug]
#   IMAGESTORES_SLURM_ACCOUNT     account for the users   [ci]
#   IMAGESTORES_SLURM_USERS       extra users given an association (space separated)
#   IMAGESTORES_SLURM_PORT_BASE   slurmctld port; slurmd +1, slurmdbd +2 [6817]
#   IMAGESTORES_SLURM_MYSQL_PORT  MariaDB TCP port on 127.0.0.1 [3307]
#   IMAGESTORES_SLURM_MEM_MB      RealMemory of the node  [90% of `slurmd -C`]
#   IMAGESTORES_SLURM_TIMEOUT     seconds to wait for the node to be idle [60]
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server mariadb-client)

CLUSTER=${IMAGESTORES_SLURM_CLUSTER:-imagestores}
PARTITION=${IMAGESTORES_SLURM_PARTITION:-debug}
ACCOUNT=${IMAGESTORES_SLURM_ACCOUNT:-ci}
PORT_BASE=${IMAGESTORES_SLURM_PORT_BASE:-6817}
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
MYSQL_PORT=${IMAGESTORES_SLURM_MYSQL_PORT:-3307}
WAIT_IDLE=${IMAGESTORES_SLURM_TIMEOUT:-60}

log() { printf '[cluster.sh %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[cluster.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# die with the tail of a daemon log
die_log() {
    local logfile=$1; shift
    printf '[cluster.sh] ERROR: %s\n' "$*" >&2
    if [ -f "$logfile" ]; then
        printf '[cluster.sh] ---- last 40 lines of %s ----\n' "$logfile" >&2
        tail -n 40 "$logfile" >&2 || true
        printf '[cluster.sh] ---- end of %s ----\n' "$logfile" >&2
    else
        printf '[cluster.sh] (no log file %s)\n' "$logfile" >&2
    fi
    exit 1
}

set_paths() {
    local s=${1:-${IMAGESTORES_SLURM_STATE_DIR:-/tmp/imagestores-slurm}}
    case $s in /*) ;; *) s=$PWD/$s ;; esac
    S=${s%/}
    ETC=$S/etc
    LOGD=$S/log
    RUN=$S/run
    SPOOL=$S/spool
    MUNGE=$S/munge
    MYSQL=$S/mysql
    CONF=$ETC/slurm.conf
    DBDCONF=$ETC/slurmdbd.conf
    MYCNF=$ETC/my.cnf
    MUNGE_SOCKET=$MUNGE/munge.socket
    MUNGE_KEY=$MUNGE/munge.key
}

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root"; }

# --------------------------------------------------------------------- install
is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

cmd_install() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        log "install: all packages already installed (${PACKAGES[*]})"
        return 0
    fi
    need_root install
    log "install: missing: ${missing[*]}"
    # Keep the packages' maintainer scripts from starting system services (the
    # cluster runs its own daemons out of STATE_DIR).  Docker-style images ship
    # a policy-rc.d that exits 101; add one just for the install if there is none.
    local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout -k 10 600 apt-get update -q || rc=$?
    if [ "$rc" -eq 0 ]; then
        timeout -k 10 1200 apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [ "$added_policy" -eq 1 ]; then rm -f "$policy"; fi
    [ "$rc" -eq 0 ] || die "install: apt-get failed (exit $rc)"
    for p in "${PACKAGES[@]}"; do is_installed "$p" || die "install: $p still not installed"; done
    log "install: done"
}

# ------------------------------------------------------------ process handling
# Does PID belong to this STATE_DIR's cluster?  Its comm must be the expected
# daemon name and its command line or environment must mention STATE_DIR.
belongs() {
    local pid=$1 comm=$2 c=""
    { read -r c <"/proc/$pid/comm"; } 2>/dev/null || return 1
    [ "$c" = "$comm" ] || return 1
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$S/" && return 0
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF -- "SLURM_CONF=$CONF" && return 0
    return 1
}

# PIDs of this cluster's processes named COMM (PID file first, then a scan of
# /proc for leftovers that point at STATE_DIR).
cluster_pids() {
    local comm=$1 pidfile=$2 pid d
    {
        if [ -f "$pidfile" ]; then
            pid=$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)
            if [ -n "$pid" ] && belongs "$pid" "$comm"; then echo "$pid"; fi
        fi
        for d in /proc/[0-9]*; do
            pid=${d#/proc/}
            if belongs "$pid" "$comm"; then echo "$pid"; fi
        done
    } | sort -un
}

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# stop_daemon NAME COMM PIDFILE GRACE_SECONDS
stop_daemon() {
    local name=$1 comm=$2 pidfile=$3 grace=$4 pids pid left i
    pids=$(cluster_pids "$comm" "$pidfile")
    if [ -z "$pids" ]; then
        rm -f "$pidfile"
        return 0
    fi
    log "stop: $name (pid $(paste -sd' ' <<<"$pids"))"
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < grace * 5; i++)); do
        left=""
        for pid in $pids; do alive "$pid" && left="$left $pid"; done
        [ -z "$left" ] && break
        sleep 0.2
    done
    left=""
    for pid in $pids; do alive "$pid" && left="$left $pid"; done
    if [ -n "$left" ]; then
        log "stop: $name did not exit after ${grace}s, sending KILL to$left"
        for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
        sleep 0.5
    fi
    rm -f "$pidfile"
}

# srun inside a job must find the config too, but the Snakemake jobstep
# plugin (snakemake-executor-plugin-slurm-jobstep) strips every SLURM_*
# variable, SLURM_CONF included, before it calls srun.  After SLURM_CONF and
# /etc/slurm/slurm.conf, Slurm clients look for /run/slurm/conf/slurm.conf (the
# place slurmd's configless mode uses), so point /run/slurm/conf at etc/.
RUN_LINK=/run/slurm/conf

link_run_conf() {
    if [ -e /etc/slurm/slurm.conf ]; then
        log "start: WARNING: /etc/slurm/slurm.conf exists; clients without SLURM_CONF (srun in jobs) will use it"
    fi
    if [ -L "$RUN_LINK" ]; then
        local target
        target=$(readlink "$RUN_LINK")
        [ "$target" = "$ETC" ] && return 0
        if [ -e "$target/slurm.conf" ] && ! grep -q 'Generated by tests/slurm/cluster.sh' "$target/slurm.conf"; then
            log "start: WARNING: $RUN_LINK points at $target (not ours); left alone"
            return 0
        fi
        rm -f "$RUN_LINK"
    elif [ -e "$RUN_LINK" ]; then
        log "start: WARNING: $RUN_LINK exists and is not a symlink; left alone"
        return 0
    fi
    mkdir -p "$(dirname "$RUN_LINK")"
    ln -s "$ETC" "$RUN_LINK"
    log "start: $RUN_LINK -> $ETC (for srun inside jobs)"
}

unlink_run_conf() {
    if [ -L "$RUN_LINK" ] && [ "$(readlink "$RUN_LINK")" = "$ETC" ]; then
        rm -f "$RUN_LINK"
        rmdir "$(dirname "$RUN_LINK")" 2>/dev/null || true
    fi
}

cmd_stop() {
    need_root stop
    [ -d "$S" ] || { log "stop: no state dir $S, nothing to do"; return 0; }
    export SLURM_CONF=$CONF
    # Cancel jobs still known to the controller so their steps end cleanly.
    if [ -f "$CONF" ] && [ -n "$(cluster_pids slurmctld "$RUN/slurmctld.pid")" ]; then
        local jobs=()
        mapfile -t jobs < <(timeout 10 squeue -h -o %i 2>/dev/null || true)
        if [ ${#jobs[@]} -gt 0 ]; then
            log "stop: cancelling jobs ${jobs[*]}"
            timeout 10 scancel "${jobs[@]}" 2>/dev/null || true
            for _ in $(seq 1 20); do
                [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null || true)" ] && break
                sleep 0.5
            done
        fi
    fi
    stop_daemon slurmd slurmd "$RUN/slurmd.pid" 15
    stop_daemon slurmstepd slurmstepd /nonexistent 5
    stop_daemon slurmctld slurmctld "$RUN/slurmctld.pid" 15
    stop_daemon slurmscriptd slurmscriptd /nonexistent 5
    stop_daemon slurmdbd slurmdbd "$RUN/slurmdbd.pid" 15
    stop_daemon munged munged "$RUN/munged.pid" 10
    stop_daemon mariadbd mariadbd "$RUN/mysqld.pid" 60
    unlink_run_conf
    log "stop: all daemons of $S stopped"
}

# ---------------------------------------------------------------------- start
check_port_free() {
    local port=$1 what=$2 line
    line=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
    if [ -n "$line" ]; then
        die "port $port (for $what) is already in use: $line
  (another cluster or a system daemon?  set IMAGESTORES_SLURM_PORT_BASE / IMAGESTORES_SLURM_MYSQL_PORT)"
    fi
}

# wait_for SECONDS LOGFILE MESSAGE DAEMON COMMAND...: poll COMMAND every 0.5s;
# fail early if DAEMON (a process name, '-' for none) of this cluster is gone.
wait_for() {
    local secs=$1 logfile=$2 msg=$3 daemon=$4; shift 4
    local deadline=$((SECONDS + secs)) n=0
    until "$@" >/dev/null 2>&1; do
        n=$((n + 1))
        if [ "$n" -gt 1 ] && [ "$daemon" != - ] && [ -z "$(cluster_pids "$daemon" /nonexistent)" ]; then
            sleep 0.5  # let it finish writing its log
            die_log "$logfile" "$msg: $daemon is not running"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die_log "$logfile" "$msg (gave up after ${secs}s)"
        sleep 0.5
    done
}

write_configs() {
    local node cpus boards sockets cores threads realmem mem
    node=$(hostname -s)
    # Node line from `slurmd -C`, RealMemory kept below the real memory.
    local probe
    probe=$(timeout 30 slurmd -C 2>/dev/null | head -n1) || die "slurmd -C failed"
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$probe")
    boards=$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$probe")
    sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$probe")
    cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$probe")
    threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$probe")
    realmem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$probe")
    if [ -z "$cpus" ] || [ -z "$realmem" ]; then die "cannot parse 'slurmd -C' output: $probe"; fi
    mem=${IMAGESTORES_SLURM_MEM_MB:-$((realmem * 9 / 10))}
    NODE=$node

    cat >"$CONF" <<EOF
# Generated by tests/slurm/cluster.sh -- single-node test cluster in $S
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGD/slurmctld.log
SlurmdLogFile=$LOGD/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$ETC/plugstack.conf
MailProg=/bin/true
# no systemd / cgroups here
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
# accounting: the snakemake executor plugin asks sacct for job states
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# connections to slurmdbd do not use AuthInfo: this names their munge socket
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageEnforce=associations
JobCompType=jobcomp/none
# keep finished jobs visible to status queries, never requeue
MinJobAge=600
JobRequeue=0
ReturnToService=2
KillWait=5
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=256
EOF
    # Only used by cgroup plugins (none configured); present so nothing looks
    # in /etc/slurm for it.
    cat >"$ETC/cgroup.conf" <<EOF
# Generated by tests/slurm/cluster.sh -- no cgroup plugins are configured
CgroupAutomount=no
EOF
    : >"$ETC/plugstack.conf"

    [ -s "$ETC/dbpass" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ETC/dbpass"; }
    chmod 600 "$ETC/dbpass"
    DBPASS=$(cat "$ETC/dbpass")
    (
        umask 077
        cat >"$DBDCONF" <<EOF
# Generated by tests/slurm/cluster.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOGD/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
    )
    chmod 600 "$DBDCONF"

    cat >"$MYCNF" <<EOF
# Generated by tests/slurm/cluster.sh -- private MariaDB for slurmdbd
[mysqld]
user=root
datadir=$MYSQL/data
socket=$MYSQL/mysqld.sock
pid-file=$RUN/mysqld.pid
log-error=$LOGD/mysqld.log
port=$MYSQL_PORT
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=1024M
innodb_log_file_size=64M
innodb_lock_wait_timeout=900
innodb_use_native_aio=0
max_allowed_packet=16M
[client]
socket=$MYSQL/mysqld.sock
port=$MYSQL_PORT
EOF
}

start_mariadb() {
    if [ ! -d "$MYSQL/data/mysql" ]; then
        log "start: initialising MariaDB datadir $MYSQL/data"
        rm -rf "$MYSQL/data"
        mkdir -p "$MYSQL/data"
        timeout -k 5 120 mariadb-install-db --defaults-file="$MYCNF" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$LOGD/mariadb-install-db.log" 2>&1 ||
            die_log "$LOGD/mariadb-install-db.log" "mariadb-install-db failed"
    fi
    log "start: mariadbd (127.0.0.1:$MYSQL_PORT)"
    setsid mariadbd --defaults-file="$MYCNF" </dev/null >>"$LOGD/mysqld.log" 2>&1 &
    wait_for 60 "$LOGD/mysqld.log" "MariaDB did not come up" mariadbd \
        timeout 5 mariadb-admin --defaults-file="$MYCNF" -uroot ping
    local sql="CREATE DATABASE IF NOT EXISTS slurm_acct_db;"
    local h
    for h in localhost 127.0.0.1; do
        sql+="CREATE USER IF NOT EXISTS 'slurm'@'$h' IDENTIFIED BY '$DBPASS';"
        sql+="ALTER USER 'slurm'@'$h' IDENTIFIED BY '$DBPASS';"
        sql+="GRANT ALL ON slurm_acct_db.* TO 'slurm'@'$h';"
    done
    timeout 30 mariadb --defaults-file="$MYCNF" -uroot -e "$sql" >>"$LOGD/mysqld.log" 2>&1 ||
        die_log "$LOGD/mysqld.log" "creating the slurm accounting database/user failed"
}

start_munge() {
    if [ ! -s "$MUNGE_KEY" ]; then
        log "start: creating munge key"
        (umask 077; dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none)
    fi
    chmod 600 "$MUNGE_KEY"
    log "start: munged"
    timeout 30 munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
        --pid-file="$RUN/munged.pid" --log-file="$LOGD/munged.log" \
        --seed-file="$MUNGE/munged.seed" </dev/null >>"$LOGD/munged.log" 2>&1 ||
        die_log "$LOGD/munged.log" "munged failed to start"
    wait_for 15 "$LOGD/munged.log" "munge round trip failed" munged \
        sh -c "munge -n -S '$MUNGE_SOCKET' | unmunge -S '$MUNGE_SOCKET'"
}

sacctmgr_q() { timeout 30 sacctmgr -n -P "$@"; }

start_slurmdbd() {
    log "start: slurmdbd (127.0.0.1:$DBD_PORT)"
    timeout 30 slurmdbd </dev/null >>"$LOGD/slurmdbd.log" 2>&1 ||
        die_log "$LOGD/slurmdbd.log" "slurmdbd failed to start"
    wait_for 60 "$LOGD/slurmdbd.log" "slurmdbd does not answer" slurmdbd \
        timeout 10 sacctmgr -n -P list cluster
}

register_accounting() {
    local extra=() u
    if ! sacctmgr_q list cluster format=cluster | grep -qxF "$CLUSTER"; then
        log "start: registering cluster $CLUSTER in accounting"
        timeout 30 sacctmgr -i add cluster "$CLUSTER" >/dev/null ||
            die_log "$LOGD/slurmdbd.log" "sacctmgr add cluster failed"
    fi
    if ! sacctmgr_q list account format=account | grep -qxF "$ACCOUNT"; then
        log "start: adding account $ACCOUNT"
        timeout 30 sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" \
            Description="imagestores CI" Organization=imagestores >/dev/null ||
            die_log "$LOGD/slurmdbd.log" "sacctmgr add account failed"
    fi
    read -ra extra <<<"${IMAGESTORES_SLURM_USERS:-}"
    for u in $(printf '%s\n' root "${SUDO_USER:-}" "${extra[@]}" | grep -v '^$' | sort -u); do
        id "$u" >/dev/null 2>&1 || { log "start: no such user $u, skipped"; continue; }
        if ! sacctmgr_q list assoc cluster="$CLUSTER" account="$ACCOUNT" user="$u" format=user |
            grep -qxF "$u"; then
            log "start: adding user $u to account $ACCOUNT"
            timeout 30 sacctmgr -i add user "$u" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" \
                Cluster="$CLUSTER" >/dev/null ||
                die_log "$LOGD/slurmdbd.log" "sacctmgr add user $u failed"
        fi
        # one default account for everyone, so guessing tools find it
        if [ "$(sacctmgr_q list user "$u" format=defaultaccount | head -n1)" != "$ACCOUNT" ]; then
            timeout 30 sacctmgr -i modify user "$u" set DefaultAccount="$ACCOUNT" >/dev/null ||
                die_log "$LOGD/slurmdbd.log" "sacctmgr modify user $u failed"
        fi
    done
}

node_state() { timeout 10 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n1; }

start_slurm() {
    log "start: slurmctld (127.0.0.1:$CTLD_PORT)"
    timeout 30 slurmctld -f "$CONF" </dev/null >>"$LOGD/slurmctld.log" 2>&1 ||
        die_log "$LOGD/slurmctld.log" "slurmctld failed to start"
    wait_for 60 "$LOGD/slurmctld.log" "slurmctld does not answer" slurmctld \
        sh -c 'timeout 10 scontrol ping | grep -q UP'
    log "start: slurmd (node $NODE)"
    timeout 30 slurmd -f "$CONF" -N "$NODE" </dev/null >>"$LOGD/slurmd.log" 2>&1 ||
        die_log "$LOGD/slurmd.log" "slurmd failed to start"
    local deadline=$((SECONDS + WAIT_IDLE)) st=""
    while :; do
        st=$(node_state || true)
        [ "$st" = idle ] && break
        [ -n "$(cluster_pids slurmd /nonexistent)" ] ||
            die_log "$LOGD/slurmd.log" "slurmd exited (node state: '${st:-?}')"
        if [ "$SECONDS" -ge "$deadline" ]; then
            local reason
            reason=$(timeout 10 sinfo -h -n "$NODE" -o %E 2>/dev/null || true)
            printf '[cluster.sh] ---- last 20 lines of %s ----\n' "$LOGD/slurmctld.log" >&2
            tail -n 20 "$LOGD/slurmctld.log" >&2 || true
            die_log "$LOGD/slurmd.log" "node $NODE not idle after ${WAIT_IDLE}s (state: '${st:-?}', reason: '${reason:-none}')"
        fi
        # a node left down/drained by an earlier run: resume it
        case $st in down* | drain* | fail*)
            timeout 10 scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    log "start: node $NODE is idle"
}

smoke_test() {
    local jobid out st="" i
    log "start: smoke test (sbatch --wrap 'srun hostname' without SLURM_CONF, then sacct)"
    # Submit, then poll every 0.5s: 'sbatch --wait' polls with growing
    # intervals and adds ~7s here.
    jobid=$(timeout 30 sbatch --parsable -p "$PARTITION" -A "$ACCOUNT" -N1 -n1 --mem=64 -t 2 \
        -J imagestores-smoke -o "$LOGD/smoke-%j.out" --wrap 'env -u SLURM_CONF srun -n1 hostname' \
        2>"$LOGD/smoke.err") ||
        { cat "$LOGD/smoke.err" >&2; die_log "$LOGD/slurmctld.log" "sbatch of the smoke job failed"; }
    jobid=${jobid%%;*}
    for ((i = 0; i < 120; i++)); do
        [ -z "$(timeout 10 squeue -h -j "$jobid" -o %i 2>/dev/null || true)" ] && break
        sleep 0.5
    done
    if [ "$i" -ge 120 ]; then
        timeout 10 squeue -j "$jobid" -o '%i %T %r' >&2 || true
        tail -n 20 "$LOGD/slurmd.log" >&2 || true
        die_log "$LOGD/slurmctld.log" "smoke job $jobid did not finish within 60s"
    fi
    for ((i = 0; i < 60; i++)); do
        st=$(timeout 10 sacct -n -P -X -j "$jobid" -o State 2>/dev/null | head -n1 || true)
        [ "$st" = COMPLETED ] && break
        case $st in FAILED* | CANCELLED* | TIMEOUT* | NODE_FAIL* | OUT_OF_ME*) break ;; esac
        sleep 0.5
    done
    out=$(cat "$LOGD/smoke-$jobid.out" 2>/dev/null || true)
    if [ -z "$st" ]; then
        die_log "$LOGD/slurmdbd.log" "sacct does not list smoke job $jobid (accounting broken?)"
    fi
    if [ "$st" != COMPLETED ] || { [ "$out" != "$(hostname)" ] && [ "$out" != "$NODE" ]; }; then
        printf '[cluster.sh] smoke job output:\n%s\n' "$out" >&2
        die_log "$LOGD/slurmd.log" "smoke job $jobid: sacct state '$st', output above, expected the hostname
  (srun inside a job without SLURM_CONF must find the config through $RUN_LINK)"
    fi
    log "start: smoke job $jobid ran on $out, sacct: $st"
}

cmd_start() {
    need_root start
    local t0=$SECONDS
    for b in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sacctmgr sbatch sacct; do
        command -v "$b" >/dev/null || die "$b not found: run '$0 install' first"
    done
    # a previous run from the same STATE_DIR: stop it first
    cmd_stop
    check_port_free "$CTLD_PORT" slurmctld
    check_port_free "$SLURMD_PORT" slurmd
    check_port_free "$DBD_PORT" slurmdbd
    check_port_free "$MYSQL_PORT" mariadbd
    mkdir -p "$S" "$ETC" "$LOGD" "$RUN" "$SPOOL/ctld" "$SPOOL/d" "$MUNGE" "$MYSQL"
    chmod 755 "$S" "$ETC" "$LOGD" "$RUN" "$SPOOL"
    chmod 755 "$MUNGE"  # munged wants o+x on its socket dir; the key itself is 0600
    write_configs
    link_run_conf
    export SLURM_CONF=$CONF
    start_mariadb
    start_munge
    start_slurmdbd
    register_accounting
    start_slurm
    smoke_test
    log "start: cluster '$CLUSTER' up in $((SECONDS - t0))s; partition '$PARTITION', account '$ACCOUNT'"
    log "start: use it with: eval \"\$($0 env $S)\""
}

cmd_env() {
    [ -f "$CONF" ] || die "no cluster config at $CONF (run '$0 start $S')"
    printf 'export SLURM_CONF=%q\n' "$CONF"
    printf 'export IMAGESTORES_SLURM_PARTITION=%q\n' "$PARTITION"
    printf 'export IMAGESTORES_SLURM_ACCOUNT=%q\n' "$ACCOUNT"
}

cmd_status() {
    local d comm pidf pids rc=0
    for d in mariadbd:mysqld munged:munged slurmdbd:slurmdbd slurmctld:slurmctld slurmd:slurmd; do
        comm=${d%%:*}; pidf=$RUN/${d#*:}.pid
        pids=$(cluster_pids "$comm" "$pidf")
        printf '%-10s %s\n' "$comm" "${pids:-not running}"
        [ -n "$pids" ] || rc=1
    done
    if [ "$rc" -eq 0 ]; then
        SLURM_CONF=$CONF timeout 10 sinfo || rc=1
    fi
    return $rc
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

sub=${1:-}
[ $# -gt 0 ] && shift
case $sub in
    install) cmd_install ;;
    start) set_paths "${1:-}"; cmd_start ;;
    stop) set_paths "${1:-}"; cmd_stop ;;
    status) set_paths "${1:-}"; cmd_status ;;
    env) set_paths "${1:-}"; cmd_env ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
