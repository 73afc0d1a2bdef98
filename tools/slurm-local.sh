#!/bin/sh
# A one-node Slurm cluster on this machine, for trying and testing `normout sweep --backend slurm`:
# installs slurmctld, slurmd and munge when missing, writes a minimal slurm.conf (one node = this
# machine, one partition "local", no accounting database), and starts munged, slurmctld and
# slurmd unless they already run. Idempotent: running it again changes nothing that works.
# Needs root (or sudo). `tools/slurm-local.sh stop` stops the three daemons.
set -eu

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
CONF=/etc/slurm/slurm.conf
MARK="# written by normout tools/slurm-local.sh"

if [ "${1:-}" = "stop" ]; then
    for d in slurmd slurmctld munged; do
        pid=$(pgrep -x "$d" || true)
        [ -z "$pid" ] || $SUDO kill $pid
    done
    exit 0
fi

missing=""
for p in slurmctld slurmd munge slurm-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "Installing$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

host=$(hostname -s)
cpus=$(nproc --all)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
conf=$(cat <<CONF
$MARK
ClusterName=normout-local
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
InactiveLimit=0
KillWait=30
MinJobAge=300
SlurmctldTimeout=120
SlurmdTimeout=300
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
)

$SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
if [ -f "$CONF" ] && ! grep -q "^$MARK" "$CONF"; then
    echo "$CONF exists and was not written by this script; leaving it as it is" >&2
else
    if [ "$(cat "$CONF" 2>/dev/null)" != "$conf" ]; then
        printf '%s\n' "$conf" | $SUDO tee "$CONF" >/dev/null
        changed=1
    fi
fi

if [ ! -s /etc/munge/munge.key ]; then
    $SUDO sh -c 'dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null'
    $SUDO chown munge:munge /etc/munge/munge.key
    $SUDO chmod 400 /etc/munge/munge.key
fi
$SUDO chown munge:munge /run/munge
if ! pgrep -x munged >/dev/null; then
    $SUDO -u munge /usr/sbin/munged 2>/dev/null || $SUDO runuser -u munge -- /usr/sbin/munged
fi

if [ -n "${changed:-}" ]; then
    # A new configuration: restart the daemons that run with the old one.
    for d in slurmd slurmctld; do
        pid=$(pgrep -x "$d" || true)
        [ -z "$pid" ] || { $SUDO kill $pid; sleep 1; }
    done
fi
pgrep -x slurmctld >/dev/null || $SUDO /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || $SUDO /usr/sbin/slurmd

# Wait until the node takes jobs.
i=0
until sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
        echo "slurm did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
        sinfo -N 2>&1 >&2 || true
        exit 1
    fi
    [ "$i" -ne 10 ] || $SUDO scontrol update nodename="$host" state=resume 2>/dev/null || true
    sleep 1
done
sinfo
