#!/usr/bin/env bash
# A single-node SLURM cluster on loopback for the launcher tests: munged, slurmctld and slurmd from Debian's
# packages (slurm-wlm, munge), configured in a folder of their own and stopped afterwards. Needs root (slurmd
# starts jobs as their user). Nothing outside DIR is written; the daemons listen on 127.0.0.1 only.
#
#   tools/slurm_local.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf` (and PATH for the sacct shim)
#   tools/slurm_local.sh stop DIR
#
# Accounting (slurmdbd + a MySQL server) is not set up; submitit reads job states with `sacct`, so DIR/bin/sacct
# answers its one query (`sacct -o JobID,State,NodeList --parsable2 -j ID ...`) from `scontrol show job`, which
# keeps finished jobs for MinJobAge seconds.
set -euo pipefail
action=${1:?start|stop}
dir=$(mkdir -p "${2:?state folder}" && cd "$2" && pwd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then
      kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
    fi
  done
  for _ in $(seq 1 20); do
    alive=0
    for name in slurmd slurmctld munged; do
      if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  rm -f "$dir"/*.pid
}

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "slurm_local.sh: unknown action $action (start|stop)" >&2; exit 2; }
for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null || { echo "slurm_local.sh: $tool not found; apt-get install slurm-wlm munge" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "slurm_local.sh: needs root (slurmd runs jobs as their user)" >&2; exit 3; }

mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/bin"
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
fi
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed"

memory_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=embedlab-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
CommunicationParameters=NoInAddrAny   # bind to 127.0.0.1, not every interface
ReturnToService=2
MinJobAge=600
SchedulerType=sched/builtin
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$(nproc) RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

cat > "$dir/bin/sacct" <<'SHIM'
#!/usr/bin/env bash
# submitit's query, answered from scontrol (no accounting database on this test cluster).
ids=()
while [ $# -gt 0 ]; do
  case "$1" in -j) ids+=("$2"); shift 2 ;; *) shift ;; esac
done
echo "JobID|State|NodeList"
for id in "${ids[@]}"; do
  scontrol show job -o "$id" 2>/dev/null | while read -r line; do
    jid=$(sed -n 's/.*JobId=\([0-9]*\).*/\1/p' <<<"$line")
    arr=$(sed -n 's/.*ArrayJobId=\([0-9]*\) ArrayTaskId=\([0-9]*\).*/\1_\2/p' <<<"$line")
    state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
    nodes=$(sed -n 's/.* NodeList=\([^ ]*\).*/\1/p' <<<"$line")
    echo "${arr:-$jid}|$state|$nodes"
  done
done
SHIM
chmod +x "$dir/bin/sacct"

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    echo "export SLURM_CONF=$dir/slurm.conf PATH=$dir/bin:\$PATH"
    exit 0
  fi
  sleep 0.5
done
echo "slurm_local.sh: the node did not become idle in 30 s; see $dir/slurmctld.log and $dir/slurmd.log" >&2
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
