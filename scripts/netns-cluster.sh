#!/usr/bin/env bash
# A cluster of "hosts" on this machine for the MPI tests (test/mpi-hosts.test.ts): each host
# is a network namespace with its own hostname, linked by a veth pair to a bridge that lives
# in a namespace of its own, so no traffic reaches this machine's own network. Addresses are
# from the benchmarking range 198.18.0.0/15 (RFC 2544). Needs root, ip and tc (iproute2).
#
#   netns-cluster.sh up NAME HOSTS [RATE]   hosts NAME-h0 .. NAME-h<HOSTS-1>, each link shaped
#                                           to RATE both ways with tbf (e.g. 1gbit; default: none)
#   netns-cluster.sh down NAME              stops every process in them and removes them
#   netns-cluster.sh link NAME HOST up|down cuts or restores HOST's link (a partition)
#   netns-cluster.sh subnet NAME            the hosts' subnet (for Open MPI's *_if_include)
#   netns-cluster.sh mpirun NAME ARGS...    mpirun on NAME-h0 across every host, as on a cluster:
#                                           a hostfile, this script as the launcher agent, TCP on
#                                           the hosts' subnet only; ARGS follow (-np, the command)
#   netns-cluster.sh agent HOST CMD...      runs CMD on HOST: Open MPI's launcher agent
#                                           (--mca plm_rsh_agent), as ssh would
#   netns-cluster.sh exec HOST CMD...       the same, for the launching command itself
set -euo pipefail

switch() { echo "$1-sw"; }
subnet() { echo "198.18.$((0x$(printf '%s' "$1" | md5sum | cut -c1-2) % 250)).0"; }

up() {
  local name=$1 hosts=$2 rate=${3:-}
  local sw base
  sw=$(switch "$name")
  base=$(subnet "$name")
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  local hostsfile
  hostsfile=$(mktemp)
  echo "127.0.0.1 localhost" > "$hostsfile"
  for ((i = 0; i < hosts; i++)); do echo "${base%.0}.$((i + 1)) $name-h$i" >> "$hostsfile"; done
  for ((i = 0; i < hosts; i++)); do
    local host="$name-h$i"
    ip netns add "$host"
    ip link add "eth0-$i-$$" type veth peer name "p$i-$$"
    ip link set "eth0-$i-$$" netns "$host" name eth0
    ip link set "p$i-$$" netns "$sw" name "p$i"
    ip -n "$sw" link set "p$i" master br0 up
    ip -n "$host" addr add "${base%.0}.$((i + 1))/24" dev eth0
    ip -n "$host" link set eth0 up
    ip -n "$host" link set lo up
    if [[ -n "$rate" ]]; then
      # host -> switch on the host's side, switch -> host on the switch's side
      ip netns exec "$host" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
      ip netns exec "$sw" tc qdisc add dev "p$i" root tbf rate "$rate" burst 256kb latency 50ms
    fi
    # ip netns exec binds /etc/netns/HOST/* over /etc: every host resolves every other.
    mkdir -p "/etc/netns/$host"
    cp "$hostsfile" "/etc/netns/$host/hosts"
    echo "$host" > "/etc/netns/$host/hostname"
  done
  rm -f "$hostsfile"
}

down() {
  local name=$1
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$name-(h[0-9]+|sw)$" || true); do
    for pid in $(ip netns pids "$ns" 2> /dev/null || true); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "$ns" 2> /dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -f "$(hostfile "$name")"
}

hostfile() { echo "/tmp/$1-hostfile"; }

# Every host of the cluster runs its ranks unpinned (--bind-to none: Open MPI would bind each
# host's first rank to core 0 of this one machine).
launch() {
  local name=$1
  shift
  local net hosts
  net="$(subnet "$name")/24"
  hosts=$(ip netns list | awk '{print $1}' | grep -E "^$name-h[0-9]+$" | sort -V)
  for host in $hosts; do echo "$host slots=1"; done > "$(hostfile "$name")"
  on_host "$name-h0" mpirun --hostfile "$(hostfile "$name")" \
    --mca plm_rsh_agent "$(readlink -f "$0") agent" --bind-to none \
    --mca btl self,tcp --mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net" "$@"
}

link() {
  local name=$1 host=$2 state=$3
  ip -n "$(switch "$name")" link set "p${host##*-h}" "$state"
}

# Runs "$@" in HOST's namespace under its own hostname (Open MPI's session directories are
# named by host: without it, ranks of different "hosts" would share them).
on_host() {
  local host=$1
  shift
  exec ip netns exec "$host" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

# As ssh runs a remote command: its words joined into one line for the host's shell.
agent() {
  local host=$1
  shift
  on_host "$host" sh -c "$*"
}

command=${1:?usage: netns-cluster.sh up|down|link|agent|exec ...}
shift
case $command in
  up) up "$@" ;;
  down) down "$@" ;;
  link) link "$@" ;;
  subnet) echo "$(subnet "$1")/24" ;;
  mpirun) launch "$@" ;;
  agent) agent "$@" ;;
  exec) on_host "$@" ;;
  *)
    echo "netns-cluster.sh: unknown command $command" >&2
    exit 2
    ;;
esac
