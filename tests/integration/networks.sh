#!/bin/sh
# Networks through containrd, as root: the default network's subnet from the
# pool (skipping a range routed on the host), network create/ls/inspect/rm
# with conflicts, two containers talking over the bridge (busybox httpd +
# wget), -p from 127.0.0.1, connect/disconnect, /etc/hosts and resolv.conf,
# nothing left after rm, and the start-up cleanup of a crash's leftovers.
#
# Uses only the bridges and subnets it picks (tests/netlib.sh) and 127.0.0.1.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/netlib.sh"
cnr_need_root
net_need_tools
command -v jq >/dev/null 2>&1 || { echo "SKIP: needs jq"; exit 77; }

SUB=$(net_free_subnet) || { echo "SKIP: no free 10.x.y.0/24"; exit 77; }
X=${SUB#10.}
X=${X%%.*}
BLOCK=cnr-nb$$
DEF=cnr-n$$
PORT=$(net_free_port)
T=$(mktemp -d /tmp/cnr-net.XXXXXX)

cleanup_all() {
	cnr_stop
	ip link del "$BLOCK" 2>/dev/null
	ip link del "$DEF" 2>/dev/null
	for b in $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep "^cnr-" ); do
		[ -n "${NETS_BRIDGES:-}" ] && case " $NETS_BRIDGES " in *" $b "*) ip link del "$b" ;; esac
	done
	net_cleanup_rules "10.$X.0.0/24" "10.$X.1.0/24" "10.$X.2.0/24" "10.$X.3.0/24"
	net_shared_chains_cleanup
	rm -rf "$T"
}
net_shared_chains_before

# A range of the pool that the host routes: the default network skips it.
ip link add "$BLOCK" type bridge && ip addr add "10.$X.0.1/24" dev "$BLOCK" && ip link set "$BLOCK" up ||
	fail "set up the blocking bridge"
CNR_EXTRA_CONFIG="networks:
  pool: [10.$X.0.0/16]
  default_bridge: $DEF"
cnr_start
trap cleanup_all EXIT
C=$CONTAINR

# --- records ------------------------------------------------------------------
cnr_wait_for 10 sh -c "\"$C\" network ls | grep -q '^[0-9a-f]* *bridge '" || fail "no default network"
$C network ls >"$T/ls" || fail "network ls"
grep -q " bridge  *bridge  *10.$X.1.0/24  *10.$X.1.1  *$DEF\$" "$T/ls" ||
	{ cat "$T/ls" >&2; fail "default network: not 10.$X.1.0/24 on $DEF"; }
pass "the default network takes the pool's first subnet not routed on the host (10.$X.1.0/24)"
$C network create --subnet "10.$X.1.128/25" t1 2>"$T/err" && fail "an overlapping subnet was accepted"
grep -q "overlaps network \`bridge\`" "$T/err" || fail "overlap: $(cat "$T/err")"
$C network create --subnet "10.$X.0.0/24" t1 2>"$T/err" && fail "a routed subnet was accepted"
grep -q "routed on the host" "$T/err" || fail "routed: $(cat "$T/err")"
$C network create host 2>/dev/null && fail "the name host was accepted"
$C network rm bridge 2>/dev/null && fail "the default network was removed"
pass "network create refuses overlaps with networks and with host routes, and reserved names; rm bridge is refused"
$C network create -l team=net -o mtu=1400 t1 >"$T/id" || fail "network create t1"
$C network create t1 2>/dev/null && fail "a second t1 was accepted"
$C network inspect t1 >"$T/t1.json" || fail "network inspect t1"
[ "$(jq -r '.[0].Subnet' "$T/t1.json")" = "10.$X.2.0/24" ] || fail "t1: subnet $(jq -r '.[0].Subnet' "$T/t1.json")"
[ "$(jq -r '.[0].Labels.team' "$T/t1.json")" = net ] || fail "t1: labels"
[ "$(jq -r '.[0].Conflist.plugins[0].mtu' "$T/t1.json")" = 1400 ] || fail "t1: mtu not in the conflist"
[ "$(jq -r '[.[0].Conflist.plugins[].type] | join(",")' "$T/t1.json")" = bridge,portmap,firewall ] ||
	fail "t1: plugins"
T1BR=$(jq -r '.[0].Bridge' "$T/t1.json")
NETS_BRIDGES="$T1BR"
pass "network create: next free subnet, labels, options, conflist bridge+portmap+firewall ($T1BR)"
$C network inspect nope >/dev/null 2>&1 && fail "inspect of a missing network succeeded"

# --- containers -------------------------------------------------------------
root=$T/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/www"
cp /bin/busybox "$root/bin/busybox"
/bin/busybox --list-full | while read -r a; do
	mkdir -p "$root/$(dirname "$a")"
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo "hello over the bridge" >"$root/www/index.html"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . | $C import - nettest >/dev/null ||
	fail "import the test image"
if ! $C run --rm nettest true >/dev/null 2>"$T/err"; then
	echo "SKIP: containr run does not work here: $(cat "$T/err")"
	exit 77
fi

$C run -d --name web1 nettest httpd -f -p 80 -h /www >/dev/null || fail "run web1"
$C run -d --name web2 -p "$PORT:80" nettest httpd -f -p 80 -h /www >/dev/null || fail "run web2 -p $PORT:80"
$C network inspect bridge >"$T/b.json"
IP1=$(jq -r '.[0].Containers[] | select(.Name == "web1") | .IPv4Address' "$T/b.json" | cut -d/ -f1)
IP2=$(jq -r '.[0].Containers[] | select(.Name == "web2") | .IPv4Address' "$T/b.json" | cut -d/ -f1)
net_in_subnet "$IP1" "10.$X.1.0/24" && net_in_subnet "$IP2" "10.$X.1.0/24" ||
	fail "web1/web2 addresses \`$IP1\` \`$IP2\` not in 10.$X.1.0/24"
pass "containers on the default network: web1 $IP1, web2 $IP2"
cnr_wait_for 10 $C run --rm nettest wget -q -O /dev/null "http://$IP1/" || fail "no answer from web1"
out=$($C run --rm nettest wget -q -O- "http://$IP1/")
[ "$out" = "hello over the bridge" ] || fail "wget web1: \`$out\`"
pass "a container fetches from another over the bridge (busybox httpd + wget)"
cnr_wait_for 10 curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/" || fail "127.0.0.1:$PORT: no answer"
out=$(curl -s -m 5 "http://127.0.0.1:$PORT/")
[ "$out" = "hello over the bridge" ] || fail "curl 127.0.0.1:$PORT: \`$out\`"
pass "-p $PORT:80 reaches web2 from the host's 127.0.0.1"
$C exec web1 cat /etc/hosts >"$T/hosts" || fail "exec web1 cat /etc/hosts"
grep -q "^$IP1	.* web1" "$T/hosts" || { cat "$T/hosts" >&2; fail "/etc/hosts of web1 lacks $IP1 web1"; }
$C exec web1 cat /etc/resolv.conf >"$T/resolv" || fail "exec web1 cat /etc/resolv.conf"
grep -q "nameserver 127\." "$T/resolv" && fail "a loopback nameserver in the container's resolv.conf"
pass "/etc/hosts names the container's address; resolv.conf has no loopback resolver"
[ "$(jq -r '.[0].Containers[] | select(.Name == "web2") | .Ports[0].hostPort' "$T/b.json")" = "$PORT" ] ||
	fail "inspect does not show web2's port mapping"

# --- named network, connect, disconnect -----------------------------------
$C run -d --name other --network t1 nettest sleep 300 >/dev/null || fail "run --network t1"
$C network inspect t1 >"$T/t1.json"
IPO=$(jq -r '.[0].Containers[] | select(.Name == "other") | .IPv4Address' "$T/t1.json" | cut -d/ -f1)
net_in_subnet "$IPO" "10.$X.2.0/24" || fail "other: \`$IPO\` not in t1's subnet"
$C network connect t1 web1 >"$T/conn" || fail "network connect t1 web1"
grep -q "^eth1 10.$X.2." "$T/conn" || fail "connect: $(cat "$T/conn")"
IP1T=$(cut -d' ' -f2 "$T/conn" | cut -d/ -f1)
$C exec other wget -q -O- "http://$IP1T/" >"$T/out" 2>&1 || fail "other -> web1 on t1: $(cat "$T/out")"
pass "network connect: web1 gets eth1 on t1 and answers there"
$C network rm t1 2>"$T/err" && fail "t1 removed with containers attached"
grep -q "attached container" "$T/err" || fail "rm t1: $(cat "$T/err")"
$C network disconnect t1 web1 || fail "network disconnect t1 web1"
$C exec web1 ip -o link show eth1 >/dev/null 2>&1 && fail "eth1 still in web1 after disconnect"
pass "network disconnect removes the interface; rm of a network in use is refused"

# --- rm: nothing left -------------------------------------------------------
$C rm -f web1 web2 other >/dev/null || fail "rm -f"
cnr_wait_for 10 sh -c "[ -z \"\$(ls -A '$CNR_RUN/netns')\" ]" || fail "handles left: $(ls "$CNR_RUN/netns")"
[ -z "$(ip -o link show master "$DEF" 2>/dev/null)" ] || fail "veths left on $DEF: $(ip -o link show master "$DEF")"
leases=$(ls "$CNR_RUN/cni/ipam/bridge" "$CNR_RUN/cni/ipam/t1" 2>/dev/null | grep -c "^10\.")
[ "$leases" = 0 ] || fail "$leases IPAM leases left"
n=$(net_rules_of "10.$X.1.0/24" "10.$X.2.0/24" t1 | wc -l)
[ "$n" = 0 ] || { net_rules_of "10.$X.1.0/24" "10.$X.2.0/24" t1 >&2; fail "$n iptables rules left"; }
pass "rm: no handle, veth, lease or iptables rule left"
$C network rm t1 >/dev/null || fail "network rm t1"
ip link show "$T1BR" >/dev/null 2>&1 && fail "t1's bridge $T1BR is left"
[ ! -e "$CNR_RUN/cni/ipam/t1" ] || fail "t1's IPAM directory is left"
$C network ls | grep -q " t1 " && fail "t1 still listed"
pass "network rm removes the record, the bridge and the IPAM state"

# --- crash: the supervisor and the container die, the record goes ---------
$C run -d --name crash nettest sleep 300 >/dev/null || fail "run crash"
CID=$($C inspect crash | jq -r '.[0].Id')
[ -e "$CNR_RUN/netns/$CID" ] || fail "no handle for the crash container"
SUP=$(cnr_pid_of supervisor)
SHIM=$(pgrep -f "containr-shim --id $CID" | head -1)
kill -KILL "$CNR_MONITOR_PID" "$SUP"
[ -n "$SHIM" ] && kill -KILL "$SHIM"
sleep 0.5
sqlite3 "$CNR_ROOT/containr.db" "DELETE FROM containers WHERE id = '$CID'" 2>/dev/null
# the same state directories, a new containrd
"$CONTAINRD" --config "$CNR_CONFIG" --root "$CNR_ROOT" --run-root "$CNR_RUN" --log-dir "$CNR_LOG" \
	--helper-dir "$CNR_HELPER_DIR" --detach || fail "containrd did not start again"
CNR_MONITOR_PID=$(cat "$CNR_RUN/containrd.pid")
cnr_wait_for 15 sh -c "[ ! -e '$CNR_RUN/netns/$CID' ]" || fail "the crash container's handle survived the restart"
n=$(net_rules_of "10.$X.1.0/24" | wc -l)
[ "$n" = 0 ] || fail "$n iptables rules of the crashed container left"
leases=$(ls "$CNR_RUN/cni/ipam/bridge" 2>/dev/null | grep -c "^10\.")
[ "$leases" = 0 ] || fail "the crashed container's lease is left"
grep -q "network cleanup: container ${CID%"${CID#????????????}"} is gone" "$CNR_LOG/containrd.log" ||
	fail "no cleanup logged"
pass "start-up cleanup: CNI DEL and handle removal for a container that is gone"
