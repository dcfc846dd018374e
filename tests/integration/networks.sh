#!/bin/sh
# Networks through containrd, as root: the default network's subnet from the
# pool (skipping a range routed on the host), network create/ls/inspect/rm
# with conflicts, two containers talking over the bridge (busybox httpd +
# wget), -p from 127.0.0.1, connect/disconnect, /etc/hosts and resolv.conf,
# isolation between networks (netd's chains), dual-stack IPv6 networks (and
# networks.default_ipv6_subnet), nothing left the moment rm
# returns, a stale bridge of the same name (repaired or reported), and the
# start-up cleanup of a crash's leftovers (handles, leases, rules, chains).
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
STALE=cnr-s$$
DUMMY=cnr-d$$
PORT=$(net_free_port)
T=$(mktemp -d /tmp/cnr-net.XXXXXX)

cleanup_all() {
	cnr_stop
	ip link del "$BLOCK" 2>/dev/null
	ip link del "$DEF" 2>/dev/null
	ip link del "$DUMMY" 2>/dev/null
	ip link del "$STALE" 2>/dev/null
	ip link del "cnr-t$$" 2>/dev/null
	ip link del "cnr-u$$" 2>/dev/null
	ip link del "cnr-v$$" 2>/dev/null
	for b in $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep "^cnr-" ); do
		[ -n "${NETS_BRIDGES:-}" ] && case " $NETS_BRIDGES " in *" $b "*) ip link del "$b" ;; esac
	done
	net_cleanup_rules "10.$X.0.0/24" "10.$X.1.0/24" "10.$X.2.0/24" "10.$X.3.0/24" "10.$X.4.0/24" "10.$X.5.0/24"
	net_shared_chains_cleanup
	rm -rf "$T"
}
net_shared_chains_before

# A range of the pool that the host routes: the default network skips it.
ip link add "$BLOCK" type bridge && ip addr add "10.$X.0.1/24" dev "$BLOCK" && ip link set "$BLOCK" up ||
	fail "set up the blocking bridge"
# A stale default bridge (a crashed earlier install with another address,
# routed, in the pool): removed before the subnet is chosen, so the default
# network still takes 10.$X.1.0/24 and the bridge plugin makes it again.
ip link add "$DEF" type bridge && ip addr add "10.$X.9.1/24" dev "$DEF" && ip link set "$DEF" up ||
	fail "set up the stale default bridge"
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
ip -4 addr show dev "$DEF" 2>/dev/null | grep -q "10\.$X\.9\." && fail "the stale address of $DEF is still there"
grep -q "bridge \`$DEF\` had the address 10.$X.9.1/24, not the network's: removed" "$CNR_LOG/containrd.log" ||
	fail "the stale bridge's removal is not logged"
pass "a stale $DEF (10.$X.9.1/24, no ports) is removed at the first start"
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

# --- a bridge name that is taken ---------------------------------------------
ip link add "$DUMMY" type veth peer name "${DUMMY}p" || fail "ip link add $DUMMY type veth"
$C network create -o "bridge=$DUMMY" t9 2>"$T/err" && fail "a network on the veth $DUMMY was created"
grep -q "a link named \`$DUMMY\` exists and is a veth, not a bridge" "$T/err" || fail "veth: $(cat "$T/err")"
ip link show "$DUMMY" >/dev/null 2>&1 || fail "the veth $DUMMY was removed"
ip link add "$STALE" type bridge && ip addr add "10.$X.8.1/24" dev "$STALE" && ip link set "$DUMMY" master "$STALE" ||
	fail "set up the stale bridge $STALE"
$C network create -o "bridge=$STALE" t9 2>"$T/err" && fail "a network on the used stale bridge $STALE was created"
grep -q "bridge \`$STALE\` has the address 10.$X.8.1/24.*interfaces are attached to it: remove it (ip link del $STALE)" \
	"$T/err" || fail "stale bridge with a port: $(cat "$T/err")"
ip -4 addr show dev "$STALE" | grep -q "10\.$X\.8\.1/24" || fail "the used stale bridge $STALE was changed"
ip link del "$DUMMY"
$C network create -o "bridge=$STALE" t9 >/dev/null || fail "network create on the unused stale bridge $STALE"
ip link show "$STALE" >/dev/null 2>&1 && fail "the unused stale bridge $STALE was kept"
$C network rm t9 >/dev/null || fail "network rm t9"
pass "a bridge name taken by a veth, or by a bridge with another address and a port: refused, naming it and the fix; unused: removed"

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
# stats: web1 served those pages, so its NET I/O (the interfaces of its
# namespace but lo) counts bytes both ways
js=$($C stats --no-stream --format json web1) || fail "stats web1"
echo "$js" | grep -Eq '"NetIO":"[0-9.]+[kMG]?B / [0-9.]+[kMG]?B"' && ! echo "$js" | grep -Eq '"NetIO":"(0B / |[^"]* / 0B")' ||
	fail "stats NET I/O of web1 after it served pages: $js"
pass "stats: NET I/O of a container on the bridge counts its traffic"
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

# --- isolation: t1 and the default network do not reach each other --------
iso_rules() { # IPT: the instance's two chains, as iptables -S prints them
	_c1=$($1 -w -t mangle -S FORWARD | grep -F -- "--comment \"containr isolation $CNR_RUN/cni\"" | sed 's/.*-j //')
	[ -n "$_c1" ] || return 0
	$1 -w -t mangle -S "$_c1"
	$1 -w -t mangle -S "CNR-ISO2-${_c1#CNR-ISO1-}"
}
for ipt in iptables ip6tables; do
	[ "$($ipt -w -t mangle -S FORWARD | grep -c -F -- "--comment \"containr isolation $CNR_RUN/cni\"")" = 1 ] ||
		fail "$ipt: not exactly one jump to this instance's isolation chain in mangle FORWARD"
	iso_rules $ipt >"$T/iso"
	for br in "$DEF" "$T1BR"; do
		grep -q -- "-i $br ! -o $br -j CNR-ISO2-" "$T/iso" && grep -q -- "-o $br -j DROP" "$T/iso" ||
			{ cat "$T/iso" >&2; fail "$ipt: no isolation rules for $br"; }
	done
done
cnr_wait_for 20 "$C" exec web1 ping -c 1 -W 2 "$IP2" >/dev/null 2>&1 || fail "web1 cannot ping web2 on the same network"
$C exec web1 ping -c 1 -W 2 "$IPO" >/dev/null 2>&1 && fail "web1 (bridge) pings other (t1)"
$C exec other ping -c 1 -W 2 "$IP1" >/dev/null 2>&1 && fail "other (t1) pings web1 (bridge)"
$C exec other wget -q -T 2 -O /dev/null "http://$IP1/" >/dev/null 2>&1 && fail "other (t1) fetches from web1 (bridge)"
cnr_wait_for 20 curl -s -m 5 -o /dev/null "http://127.0.0.1:$PORT/" || fail "-p $PORT from 127.0.0.1 fails with isolation"
pass "isolation: web1 <-> other across networks time out (ping, wget); same network and -p from 127.0.0.1 still work"

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
# no wait: rm answers once CNI DEL is over and the handle is gone
[ -z "$(ls -A "$CNR_RUN/netns")" ] || fail "handles left when rm returned: $(ls "$CNR_RUN/netns")"
grep -q " - nsfs .*$CNR_RUN/netns/" /proc/self/mountinfo && fail "a netns handle is still mounted"
[ -z "$(ip -o link show master "$DEF" 2>/dev/null)" ] || fail "veths left on $DEF: $(ip -o link show master "$DEF")"
leases=$(ls "$CNR_RUN/cni/ipam/bridge" "$CNR_RUN/cni/ipam/t1" 2>/dev/null | grep -c "^10\.")
[ "$leases" = 0 ] || fail "$leases IPAM leases left"
# (by subnet only: another instance of this suite has a network named t1 too)
n=$(net_rules_of "10.$X.1.0/24" "10.$X.2.0/24" | wc -l)
[ "$n" = 0 ] || { net_rules_of "10.$X.1.0/24" "10.$X.2.0/24" >&2; fail "$n iptables rules left"; }
pass "rm: no handle, veth, lease or iptables rule left the moment it returns"
$C run --rm nettest true || fail "run --rm true"
$C run --rm -p "$PORT:80" nettest true || fail "run --rm -p $PORT:80 true"
# run --rm returns once the record is gone; its DEL follows
cnr_wait_for 20 sh -c "[ -z \"\$(ls -A '$CNR_RUN/netns')\" ]" || fail "run --rm left handles: $(ls "$CNR_RUN/netns")"
[ -z "$(ip -o link show master "$DEF" 2>/dev/null)" ] || fail "run --rm left veths on $DEF"
grep -q "network operation is already running" "$CNR_LOG/containrd.log" &&
	fail "a second detach of a container ran into the first: $(grep "already running" "$CNR_LOG/containrd.log")"
pass "run --rm detaches its networks once (no EBUSY from a second detach), after it returned"
$C network rm t1 >/dev/null || fail "network rm t1"
ip link show "$T1BR" >/dev/null 2>&1 && fail "t1's bridge $T1BR is left"
for ipt in iptables ip6tables; do
	iso_rules $ipt | grep -q -- "$T1BR" && fail "$ipt: isolation rules of t1 ($T1BR) left after network rm"
done
[ ! -e "$CNR_RUN/cni/ipam/t1" ] || fail "t1's IPAM directory is left"
$C network ls | grep -q " t1 " && fail "t1 still listed"
pass "network rm removes the record, the bridge and the IPAM state"

# --- IPv6: dual-stack networks ---------------------------------------------
P6=fdcc:$(printf %x $(($$ % 65536)))
[ "$(jq -r '.[0].EnableIPv6' "$T/b.json")" = false ] || fail "the default network is not IPv4 only"
ip -6 addr add "$P6:9::1/64" dev "$BLOCK" || fail "route $P6:9::/64 on $BLOCK"
$C network create --subnet "$P6:9::/64" v6x 2>"$T/err" && fail "an IPv6 subnet routed on the host was accepted"
grep -q "overlaps $P6:9::/64, routed on the host" "$T/err" || fail "v6 routed: $(cat "$T/err")"
$C network create --subnet "$P6:1::5/64" v6x 2>"$T/err" && fail "an IPv6 subnet with host bits was accepted"
$C network create --subnet "$P6:1::/64" v6a >/dev/null || fail "network create --subnet $P6:1::/64 v6a"
$C network create --ipv6 --subnet "$P6:1:0:8000::/65" v6x 2>"$T/err" && fail "an overlapping IPv6 subnet was accepted"
grep -q "overlaps network \`v6a\`" "$T/err" || fail "v6 overlap: $(cat "$T/err")"
$C network create --ipv6 v6b >/dev/null || fail "network create --ipv6 v6b"
$C network inspect v6a v6b >"$T/v6.json" || fail "network inspect v6a v6b"
[ "$(jq -r '.[0].Subnet6 + " " + .[0].Gateway6 + " " + (.[0].EnableIPv6 | tostring)' "$T/v6.json")" = \
	"$P6:1::/64 $P6:1::1 true" ] || fail "v6a: $(jq -c '.[0]' "$T/v6.json")"
jq -r '.[1].Subnet6' "$T/v6.json" | grep -q '^fd[0-9a-f]*:[0-9a-f]*:[0-9a-f]*::/64$' ||
	fail "v6b: no unique local /64 ($(jq -r '.[1].Subnet6' "$T/v6.json"))"
[ "$(jq -r '[.[0].Conflist.plugins[0].ipam.ranges[][0].subnet] | join(" ")' "$T/v6.json")" = \
	"$(jq -r '.[0].Subnet' "$T/v6.json") $P6:1::/64" ] || fail "v6a: the conflist lacks the two ranges"
$C network ls | grep -q " v6a  *bridge  *10\.$X\.[0-9]*\.0/24,$P6:1::/64  *10\.$X\.[0-9]*\.1,$P6:1::1  " ||
	{ $C network ls >&2; fail "network ls: v6a's row lacks its two subnets and gateways"; }
V6ABR=$(jq -r '.[0].Bridge' "$T/v6.json")
V6BBR=$(jq -r '.[1].Bridge' "$T/v6.json")
NETS_BRIDGES="$NETS_BRIDGES $V6ABR $V6BBR"
pass "network create --ipv6 / an IPv6 --subnet: dual stack, a random ULA /64 by default, overlaps refused"
$C run -d --name web6 --network v6a -p "$((PORT + 1)):80" nettest httpd -f -p 80 -h /www >/dev/null ||
	fail "run web6 on v6a"
$C run -d --name cli6 --network v6a nettest sleep 300 >/dev/null || fail "run cli6 on v6a"
$C run -d --name far6 --network v6b nettest sleep 300 >/dev/null || fail "run far6 on v6b"
$C network inspect v6a >"$T/v6a.json"
W6=$(jq -r '.[0].Containers[] | select(.Name == "web6") | .IPv6Address' "$T/v6a.json")
W4=$(jq -r '.[0].Containers[] | select(.Name == "web6") | .IPv4Address' "$T/v6a.json")
case $W6 in "$P6:1::"*/64) ;; *) fail "web6: IPv6 address \`$W6\` not in $P6:1::/64" ;; esac
[ -n "$W4" ] && [ "$W4" != null ] || fail "web6 has no IPv4 address on the dual-stack network"
W6=${W6%/64}
$C exec web6 ip -6 addr show dev eth0 >"$T/a6" || fail "exec web6 ip -6 addr"
grep -q "inet6 $W6/64 scope global" "$T/a6" || { cat "$T/a6" >&2; fail "web6's eth0 lacks $W6"; }
# the bridge plugin turns DAD off in the container (hairpin mode): poll, do not sleep
cnr_wait_for 10 sh -c "! \"$C\" exec web6 ip -6 addr show dev eth0 | grep -q tentative" ||
	fail "web6's IPv6 address stays tentative"
cnr_wait_for 10 "$C" exec cli6 ping -6 -c 1 -W 2 "$W6" >/dev/null || fail "cli6 cannot ping -6 web6 ($W6)"
out=$($C exec cli6 sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $W6 80" | tail -n 1)
[ "$out" = "hello over the bridge" ] || fail "HTTP over IPv6 from cli6 to [$W6]:80: \`$out\`"
$C exec cli6 cat /etc/hosts >"$T/hosts6"
grep -q "^$P6:1::[0-9a-f]*	.* cli6" "$T/hosts6" || fail "/etc/hosts of cli6 lacks its IPv6 address"
pass "two containers on v6a talk over IPv6 (ping -6, HTTP to [$W6]:80); /etc/hosts has the IPv6 address"
F6=$(jq -r '.[0].Containers[] | select(.Name == "far6") | .IPv6Address' "$($C network inspect v6b >"$T/v6b.json" && echo "$T/v6b.json")")
F6=${F6%/64}
$C exec far6 ping -6 -c 1 -W 2 "$W6" >/dev/null 2>&1 && fail "far6 (v6b) pings web6 (v6a) over IPv6"
$C exec web6 ping -6 -c 1 -W 2 "$F6" >/dev/null 2>&1 && fail "web6 (v6a) pings far6 (v6b) over IPv6"
iso_rules ip6tables | grep -q -- "-o $V6ABR -j DROP" || fail "ip6tables: no isolation rule for $V6ABR"
cnr_wait_for 20 curl -s -m 5 -o /dev/null "http://127.0.0.1:$((PORT + 1))/" || fail "-p $((PORT + 1)) from 127.0.0.1 to web6"
pass "IPv6 isolation: v6a and v6b do not reach each other; -p from 127.0.0.1 reaches the dual-stack web6"
# --ip, --ip6: addresses of the operator's choice on a named network
V4A=$(jq -r '.[0].Subnet' "$T/v6.json")
V4A=${V4A%.0/24}
$C run -d --name fixed --network v6a --ip "$V4A.50" --ip6 "$P6:1::50" nettest sleep 300 >/dev/null ||
	fail "run --ip $V4A.50 --ip6 $P6:1::50"
$C network inspect v6a >"$T/v6a.json"
[ "$(jq -r '.[0].Containers[] | select(.Name == "fixed") | .IPv4Address + " " + .IPv6Address' "$T/v6a.json")" = \
	"$V4A.50/24 $P6:1::50/64" ] || fail "fixed: $(jq -c '.[0].Containers[] | select(.Name == "fixed")' "$T/v6a.json")"
$C exec fixed ip addr show dev eth0 >"$T/fixed"
grep -q "inet $V4A.50/24" "$T/fixed" && grep -q "inet6 $P6:1::50/64" "$T/fixed" ||
	{ cat "$T/fixed" >&2; fail "fixed's eth0 lacks its addresses"; }
cnr_wait_for 10 "$C" exec cli6 ping -6 -c 1 -W 2 "$P6:1::50" >/dev/null || fail "cli6 cannot ping -6 fixed"
$C run -d --network v6a --ip "$V4A.50" nettest true >/dev/null 2>"$T/err" && fail "a second container got $V4A.50"
$C run -d --ip 10.$X.1.77 nettest true >/dev/null 2>"$T/err" && fail "--ip on the default network was accepted"
grep -q "only on a network made with \`network create\`" "$T/err" || fail "--ip on bridge: $(cat "$T/err")"
$C run -d --network v6a --ip 192.0.2.7 nettest true >/dev/null 2>"$T/err" && fail "--ip outside the subnet was accepted"
grep -q "not a free host address of network \`v6a\`" "$T/err" || fail "--ip outside: $(cat "$T/err")"
$C run -d --network v6a --ip "$V4A.1" nettest true >/dev/null 2>&1 && fail "--ip of the gateway was accepted"
$C run -d --network v6b --ip6 "$P6:1::51" nettest true >/dev/null 2>&1 && fail "--ip6 outside v6b's subnet was accepted"
pass "--ip/--ip6: the addresses asked for on a named network; taken, default-network, outside and gateway refused"
$C rm -f fixed >/dev/null || fail "rm -f fixed"
$C rm -f web6 cli6 far6 >/dev/null || fail "rm -f web6 cli6 far6"
leases=$(ls "$CNR_RUN/cni/ipam/v6a" "$CNR_RUN/cni/ipam/v6b" 2>/dev/null | grep -c "^fd.*:")
[ "$leases" = 0 ] || fail "$leases IPv6 leases left after rm: $(ls "$CNR_RUN/cni/ipam/v6a" "$CNR_RUN/cni/ipam/v6b")"
ip6tables-save | grep -q -e "$P6:1::" -e "$(jq -r '.[1].Subnet6' "$T/v6.json" | sed 's|::/64||')::" &&
	fail "ip6tables rules of the IPv6 subnets left after rm: $(ip6tables-save | grep "$P6:1::")"
$C network rm v6a v6b >/dev/null || fail "network rm v6a v6b"
for br in "$V6ABR" "$V6BBR"; do
	ip link show "$br" >/dev/null 2>&1 && fail "bridge $br left after network rm"
	iso_rules ip6tables | grep -q -- "$br" && fail "ip6tables: isolation rules of $br left after network rm"
done
pass "rm and network rm: no IPv6 lease, ip6tables rule or bridge left"

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
# a rule of a network that a crash kept from going: the next start drops it
C1=$(iptables -w -t mangle -S FORWARD | grep -F -- "--comment \"containr isolation $CNR_RUN/cni\"" | sed 's/.*-j //')
iptables -w -t mangle -A "$C1" -i cnr-gone$$ ! -o cnr-gone$$ -j "CNR-ISO2-${C1#CNR-ISO1-}" ||
	fail "add a stale isolation rule"

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
cnr_wait_for 15 sh -c "! iptables -w -t mangle -S '$C1' | grep -q cnr-gone$$" ||
	fail "the stale isolation rule of cnr-gone$$ survived the restart"
iso_rules iptables | grep -q -- "-o $DEF -j DROP" || fail "the default network's isolation rule is gone after the restart"
[ "$(iptables -w -t mangle -S FORWARD | grep -c -F -- "--comment \"containr isolation $CNR_RUN/cni\"")" = 1 ] ||
	fail "not exactly one jump to the isolation chain after the restart"
pass "start-up: the isolation chains are rewritten from the networks (a crash's stale rule goes)"

# --- networks.default_ipv6_subnet: the default network turns dual stack ----
TC=cnr-t$$
$C network create -o "bridge=$TC" tc >/dev/null || fail "network create tc"
TU=cnr-u$$
$C network create -o "bridge=$TU" tu >/dev/null || fail "network create tu"
kill -TERM "$CNR_MONITOR_PID"
cnr_wait_for 15 sh -c "! kill -0 $CNR_MONITOR_PID 2>/dev/null" || fail "containrd did not stop"
printf '  default_ipv6_subnet: %s:7::/64\n' "$P6" >>"$CNR_CONFIG"
cnr_restart
cnr_wait_for 15 sh -c "\"$C\" network inspect bridge | jq -e '.[0].Subnet6 == \"$P6:7::/64\"' >/dev/null" ||
	fail "the default network did not take networks.default_ipv6_subnet: $($C network inspect bridge | jq -c '.[0]')"
$C run -d --name d6a nettest sleep 300 >/dev/null || fail "run d6a"
$C run -d --name d6b nettest sleep 300 >/dev/null || fail "run d6b"
D6=$($C network inspect bridge | jq -r '.[0].Containers[] | select(.Name == "d6a") | .IPv6Address')
case $D6 in "$P6:7::"*/64) ;; *) fail "d6a: IPv6 address \`$D6\` not in $P6:7::/64" ;; esac
cnr_wait_for 10 "$C" exec d6b ping -6 -c 1 -W 2 "${D6%/64}" >/dev/null || fail "d6b cannot ping -6 d6a"
pass "networks.default_ipv6_subnet: at a start with nothing attached, the default network turns dual stack"
# connect is tc's first use since this start: a stale bridge of its name goes first
ip link add "$TC" type bridge && ip addr add "10.$X.6.1/24" dev "$TC" || fail "set up a stale $TC"
$C network connect tc d6a >"$T/conn" || fail "network connect tc d6a over a stale $TC"
ip -4 addr show dev "$TC" | grep -q "10\.$X\.6\." && fail "the stale address of $TC is still there"
TCGW=$($C network inspect tc | jq -r '.[0].Gateway')
ip -4 addr show dev "$TC" | grep -q "inet $TCGW/" || fail "$TC lacks tc's gateway $TCGW"
pass "network connect: a stale bridge of the network's name is replaced first"
# a container's attach is tu's first use: a stale bridge with a port is reported, not touched
ip link add "$TU" type bridge && ip addr add "10.$X.7.1/24" dev "$TU" &&
	ip link add "cnr-v$$" type veth peer name "cnr-v$$p" && ip link set "cnr-v$$" master "$TU" ||
	fail "set up a used stale $TU"
$C run --rm --network tu nettest true 2>"$T/err" && fail "a container attached over the used stale bridge $TU"
grep -q "network \`tu\`: bridge \`$TU\` has the address 10.$X.7.1/24.*interfaces are attached to it: remove it (ip link del $TU)" \
	"$T/err" || fail "run over a used stale bridge: $(cat "$T/err")"
ip -4 addr show dev "$TU" | grep -q "10\.$X\.7\.1/24" || fail "the used stale bridge $TU was changed"
ip link del "cnr-v$$"
$C run --rm --network tu nettest true || fail "run on tu once its stale bridge has no port"
pass "run: a stale bridge with a port is reported (naming it and the fix) and kept; without one it is replaced"
# run --rm returned before its CNI DEL ended: network rm waits for it
$C run --rm --network tu nettest true && $C network rm tu >/dev/null 2>"$T/err" ||
	fail "network rm right after run --rm: $(cat "$T/err")"
ip link show "$TU" >/dev/null 2>&1 && fail "tu's bridge $TU is left"
pass "network rm right after a run --rm on it waits for that container's detach"
$C rm -f d6a d6b >/dev/null || fail "rm -f d6a d6b"
$C network rm tc >/dev/null || fail "network rm tc"
