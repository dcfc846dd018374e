#!/bin/sh
# containr-netd driven directly (tests/helper-drive), as root: persistent
# namespace handles, CNI ADD/CHECK/DEL of real plugins (Debian's
# containernetworking-plugins) under netd's uid, capabilities and seccomp
# filter, two namespaces on one bridge, a port published to 127.0.0.1,
# the conflist rules, the isolation chains (two bridges cut apart, then
# joined again), BridgeCheck, and nothing left behind: veths, bridge,
# iptables rules, IPAM files, handles.
#
# Uses only what it creates: bridges cnr-nd<pid>[b], subnets from
# 10.<x>.0.0/16 that no route of the host overlaps, 127.0.0.1.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/netlib.sh"
cnr_need_root
net_need_tools

B=cnr-nd$$
B2=cnr-nd${$}b
NET=nd$$
NET2=nd${$}b
ID1=nd$$-a1
ID2=nd$$-a2
ID3=nd$$-a3
ID4=nd$$-a4
B3=cnr-nd${$}c
NET3=nd${$}c
HDIR=$top_builddir/helpers
DRIVE=$top_builddir/tests/helper-drive
NETD_UID=$(cnr_helper_uid netd)
T=$(mktemp -d /tmp/cnr-netd.XXXXXX)
chmod 0755 "$T"
RUN=$T/run
mkdir -p "$RUN" "$T/www"
chmod 0755 "$RUN"
echo "hello from $ID1" >"$T/www/index.html"
SUB=$(net_free_subnet) || { echo "SKIP: no free 10.x.y.0/24 for the test"; exit 77; }
SUB2=$(net_free_subnet "$SUB") || { echo "SKIP: no second free subnet"; exit 77; }
PORT=$(net_free_port)
HTTPD=

cleanup() {
	[ -n "$HTTPD" ] && kill "$HTTPD" 2>/dev/null
	for id in $ID1 $ID2 $ID3 $ID4; do
		if [ -e "$RUN/netns/$id" ]; then
			umount -l "$RUN/netns/$id" 2>/dev/null
		fi
	done
	ip link del "$B" 2>/dev/null
	ip link del "$B2" 2>/dev/null
	ip link del "$B3" 2>/dev/null
	net_cleanup_rules "$NET" "$NET2" "$NET3"
	cnr_isolation_cleanup "$RUN"
	net_shared_chains_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
net_shared_chains_before

conflist() { # NAME BRIDGE SUBNET WITH_PORTMAP
	pm=
	[ "$4" = 1 ] && pm=',{"type":"portmap","capabilities":{"portMappings":true},"snat":true}'
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge","bridge":"%s","isGateway":true,"ipMasq":true,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":"/var/lib/cni/not-here","ranges":[[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}]}}%s,{"type":"firewall"}]}\n' \
		"$1" "$2" "$3" "$pm"
}
conflist "$NET" "$B" "$SUB" 1 >"$T/net.conflist"
conflist "$NET2" "$B2" "$SUB2" 0 >"$T/net2.conflist"

drive() { # OUT CMD...
	_out=$1
	shift
	"$DRIVE" --uid "$NETD_UID" --gid "$NETD_UID" --audit "$T/audit" --run-root "$RUN" --timeout 120 \
		"$HDIR/containr-netd" "$@" >"$T/$_out" 2>"$T/$_out.err"
}
has() { # FILE PATTERN WHAT
	if grep -q -- "$2" "$1"; then pass "$3"; else
		cat "$1" "$1.err" >&2
		fail "$3"
	fi
}

# --- ADD: two namespaces on one bridge, a third on another ----------------
P="[{\"hostPort\":$PORT,\"containerPort\":80,\"protocol\":\"tcp\"}]"
drive add netns-open "$ID1" netns-open "$ID2" netns-open "$ID3" \
	cni ADD "$ID1" eth0 "$T/net.conflist" "$P" cni ADD "$ID2" eth0 "$T/net.conflist" - \
	cni ADD "$ID3" eth0 "$T/net2.conflist" - cni CHECK "$ID3" eth0 "$T/net2.conflist" - routes ||
	{ cat "$T/add" "$T/add.err" >&2; fail "netd: ADD of three namespaces"; }
pass "netd: three namespaces, ADD on two networks, CHECK"
has "$T/add" "^ok netns-open $ID1 f_type=nsfs type=net .* lo=up" "netd: NetnsOpen returns an nsfs fd with lo up"
for id in $ID1 $ID2 $ID3; do
	[ "$(stat -f -c %T "$RUN/netns/$id")" = nsfs ] || fail "netd: handle $id is not an nsfs mount"
done
pass "netd: handles are nsfs bind mounts under <run_root>/netns"
IP1=$(sed -n "s|^ok cni ADD $ID1 eth0 .*\"address\":\"\([0-9.]*\)/[0-9]*\".*|\1|p" "$T/add")
IP2=$(sed -n "s|^ok cni ADD $ID2 eth0 .*\"address\":\"\([0-9.]*\)/[0-9]*\".*|\1|p" "$T/add")
[ -n "$IP1" ] && [ -n "$IP2" ] || fail "netd: no addresses in the ADD results"
net_in_subnet "$IP1" "$SUB" && net_in_subnet "$IP2" "$SUB" || fail "netd: $IP1, $IP2 not in $SUB"
pass "netd: $ID1 got $IP1, $ID2 got $IP2 in $SUB"
nsenter --net="$RUN/netns/$ID1" ip -4 -o addr show eth0 | grep -q "inet $IP1/" ||
	fail "netd: eth0 of $ID1 does not hold $IP1"
pass "netd: the address is on eth0 inside the namespace"
has "$T/add" "^ok routes .*$SUB" "netd: RouteList sees the new bridge's subnet"
[ "$(cat "/sys/class/net/$B/bridge/bridge_id" 2>/dev/null)" ] || fail "netd: no bridge $B"
ls "$RUN/cni/ipam/$NET/$IP1" >/dev/null 2>&1 || fail "netd: host-local's lease is not in netd's dataDir"
[ ! -e /var/lib/cni/not-here ] || fail "netd: the conflist's dataDir was used"
pass "netd: host-local keeps its leases in <run_root>/cni/ipam, whatever the list says"

# --- the two namespaces reach each other ---------------------------------
nsenter --net="$RUN/netns/$ID2" busybox ping -c 1 -W 3 "$IP1" >"$T/ping" 2>&1 ||
	{ cat "$T/ping" >&2; fail "netd: $ID2 cannot ping $ID1"; }
pass "netd: two namespaces on one bridge ping each other"

# --- isolation: the two bridges are cut apart, then joined again ----------
IP3=$(sed -n "s|^ok cni ADD $ID3 eth0 .*\"address\":\"\([0-9.]*\)/[0-9]*\".*|\1|p" "$T/add")
cnr_wait_for 20 nsenter --net="$RUN/netns/$ID1" busybox ping -c 1 -W 2 "$IP3" ||
	fail "netd: $ID1 ($B) cannot ping $ID3 ($B2) before isolation"
drive iso isolate "$B,$B2" isolate "$B,$B2" || { cat "$T/iso" "$T/iso.err" >&2; fail "netd: IsolationSync"; }
for ipt in iptables ip6tables; do
	jumps=$($ipt -w -t mangle -S FORWARD | grep -c -F -- "--comment \"containr isolation $RUN/cni\" -j CNR-ISO1-")
	[ "$jumps" = 1 ] || fail "netd: $ipt: $jumps jumps to the isolation chain after two syncs (want 1)"
	C1=$($ipt -w -t mangle -S FORWARD | grep -F -- "containr isolation $RUN/cni" | sed 's/.*-j //')
	[ "$($ipt -w -t mangle -S "$C1" | grep -c -- "-i cnr-nd$$")" = 2 ] ||
		fail "netd: $ipt: not one rule per bridge in $C1: $($ipt -w -t mangle -S "$C1")"
	$ipt -w -t mangle -S "CNR-ISO2-${C1#CNR-ISO1-}" | grep -q -- "-o $B2 -j DROP" ||
		fail "netd: $ipt: no DROP for $B2"
done
pass "netd: IsolationSync writes one rule per bridge in its own chains, IPv4 and IPv6, with one jump"
# something inserted above the jump: the next sync puts the jump first again
iptables -w -t mangle -I FORWARD 1 -s 192.0.2.254/32 -m comment --comment "cnr-nd$$ test" -j RETURN ||
	fail "netd: insert a rule above the jump"
drive iso2 isolate "$B,$B2" || { cat "$T/iso2" "$T/iso2.err" >&2; fail "netd: IsolationSync again"; }
first=$(iptables -w -t mangle -S FORWARD | grep '^-A' | head -1)
iptables -w -t mangle -D FORWARD -s 192.0.2.254/32 -m comment --comment "cnr-nd$$ test" -j RETURN
case $first in *"containr isolation $RUN/cni"*) ;; *) fail "netd: the jump is not first after a sync: $first" ;; esac
[ "$(iptables -w -t mangle -S FORWARD | grep -c -F -- "containr isolation $RUN/cni")" = 1 ] ||
	fail "netd: not exactly one jump after it was moved"
pass "netd: a sync puts its jump back first in mangle FORWARD"
nsenter --net="$RUN/netns/$ID1" busybox ping -c 1 -W 2 "$IP3" >/dev/null 2>&1 && fail "netd: $ID1 ($B) pings $ID3 ($B2)"
nsenter --net="$RUN/netns/$ID3" busybox ping -c 1 -W 2 "$IP1" >/dev/null 2>&1 && fail "netd: $ID3 ($B2) pings $ID1 ($B)"
cnr_wait_for 20 nsenter --net="$RUN/netns/$ID2" busybox ping -c 1 -W 2 "$IP1" || fail "netd: $ID2 no longer pings $ID1 on $B"
pass "netd: namespaces on $B and $B2 no longer reach each other; on one bridge they still do"
drive iso0 isolate - || { cat "$T/iso0" "$T/iso0.err" >&2; fail "netd: IsolationSync of no bridge"; }
[ "$(iptables -w -t mangle -S "$C1" | grep -c -- "^-A")" = 0 ] || fail "netd: rules left in $C1 after a sync of none"
cnr_wait_for 20 nsenter --net="$RUN/netns/$ID1" busybox ping -c 1 -W 2 "$IP3" ||
	fail "netd: $ID1 cannot ping $ID3 once the bridges left the list"
pass "netd: a sync without the bridges removes their rules (the list is the whole truth)"

# --- BridgeCheck: a used bridge with another address is never touched ------
GW=${SUB%.0/24}.1/24
drive bc bridge-check "$B" "$GW" keep '!bridge-check' "$B" - keep '!bridge-check' "$B" 192.0.2.1/24 delete \
	bridge-check "cnr-no$$" - delete '!bridge-check' eth0 - delete '!bridge-check' lo - keep ||
	{ cat "$T/bc" "$T/bc.err" >&2; fail "netd: BridgeCheck"; }
has "$T/bc" "error bridge-check $B: EEXIST.*has the address $GW, not 192.0.2.1/24.*interfaces are attached to it" \
	"netd: BridgeCheck refuses to delete a bridge with another address that has ports, naming it"
has "$T/bc" "error bridge-check eth0: EPERM" "netd: BridgeCheck refuses links not named cnr-*/containr*"
[ "$(cat "/sys/class/net/$B/bridge/bridge_id" 2>/dev/null)" ] || fail "netd: BridgeCheck removed $B"
ip -4 addr show dev "$B" | grep -q "inet $GW" || fail "netd: BridgeCheck changed $B's address"
has "$T/bc" "error bridge-check $B: EEXIST.*has the address $GW, not the network's gateway.*containers of containr's use it" \
	"netd: BridgeCheck without may_delete (containr's containers use it) only reports"
pass "netd: BridgeCheck: the gateway's address is fine, an absent bridge too; a used bridge stays as it was"

# --- -p: a listener in $ID1, reached from the host's 127.0.0.1 -----------
nsenter --net="$RUN/netns/$ID1" busybox httpd -f -p 80 -h "$T/www" &
HTTPD=$!
cnr_wait_for 5 nsenter --net="$RUN/netns/$ID1" sh -c "busybox netstat -ltn | grep -q ':80 '" ||
	fail "netd: httpd did not listen"
out=$(curl -s -m 5 "http://127.0.0.1:$PORT/") || true
[ "$out" = "hello from $ID1" ] || fail "netd: 127.0.0.1:$PORT -> $ID1:80 gave \`$out\`"
pass "netd: 127.0.0.1:$PORT reaches the listener in $ID1 (portmap)"
kill "$HTTPD"
wait "$HTTPD" 2>/dev/null
HTTPD=

# --- tuning, bandwidth, loopback under netd's sandbox --------------------
SUB3=$(net_free_subnet "$SUB2") || SUB3=
if [ -n "$SUB3" ] && [ "$SUB3" != "$SUB" ]; then
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge","bridge":"%s","ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]]}},{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_notify":"1"},"mtu":1400},{"type":"bandwidth","ingressRate":1000000,"ingressBurst":100000,"egressRate":1000000,"egressBurst":100000},{"type":"loopback"}]}\n' \
		"$NET3" "$B3" "$SUB3" >"$T/net3.conflist"
	drive tb netns-open "$ID4" cni ADD "$ID4" eth0 "$T/net3.conflist" - cni DEL "$ID4" eth0 "$T/net3.conflist" - \
		netns-rm "$ID4" bridge-rm "$B3:$NET3" || { cat "$T/tb" "$T/tb.err" >&2; fail "netd: tuning/bandwidth/loopback"; }
	ls "$RUN/cni/tuning" >/dev/null || fail "netd: the tuning plugin's dataDir is not netd's"
	pass "netd: tuning (sysctl, mtu), bandwidth (ifb, tc) and loopback run under netd's sandbox"
fi

# --- refusals -------------------------------------------------------------
sed 's/"type":"firewall"/"type":"macvlan"/' "$T/net.conflist" >"$T/bad-plugin.conflist"
sed 's/"type":"host-local"/"type":"dhcp"/' "$T/net.conflist" >"$T/bad-ipam.conflist"
sed "s/\"bridge\":\"$B\"/\"bridge\":\"eth0\"/" "$T/net.conflist" >"$T/bad-bridge.conflist"
sed 's/"cniVersion":"1.0.0"/"cniVersion":"0.3.1"/' "$T/net.conflist" >"$T/bad-version.conflist"
drive refuse '!netns-open' ../x '!netns-rm' . '!cni' ADD "$ID1" eth1 "$T/bad-plugin.conflist" - \
	'!cni' ADD "$ID1" eth1 "$T/bad-ipam.conflist" - '!cni' ADD "$ID1" eth1 "$T/bad-bridge.conflist" - \
	'!cni' ADD "$ID1" eth1 "$T/bad-version.conflist" - '!cni' ADD "$ID1" wlan0 "$T/net.conflist" - \
	'!cni' ADD "$ID1" eth1 "$T/net.conflist" '[{"hostPort":0,"containerPort":80,"protocol":"tcp"}]' \
	'!cni' ADD "$ID1" eth1 "$T/net.conflist" '[{"hostPort":80,"containerPort":80,"protocol":"sctp"}]' \
	'!bridge-rm' eth0 '!bridge-rm' lo '!isolate' "$B,eth0" ||
	{ cat "$T/refuse" "$T/refuse.err" >&2; fail "netd: a bad request was not refused"; }
has "$T/refuse" "plugin \`macvlan\` is not one netd runs" "netd: a plugin outside the allow-list is refused"
has "$T/refuse" "IPAM must be host-local" "netd: IPAM other than host-local is refused"
has "$T/refuse" "bridge \`eth0\`: netd uses only bridges named" "netd: a bridge not named cnr-*/containr* is refused"
has "$T/refuse" "cniVersion must be 1.0.0" "netd: another cniVersion is refused"
has "$T/refuse" "ports must be 1-65535" "netd: a port mapping out of range is refused"
has "$T/refuse" "error bridge-rm eth0: EPERM" "netd: BridgeRemove refuses other links"
has "$T/refuse" "error isolate: EPERM" "netd: IsolationSync refuses a bridge not named cnr-*/containr*"
grep -q '"op":"cni_exec".*"decision":"deny"' "$T/audit" || fail "netd: refused CNI requests not audited"
grep -q '"op":"cni_exec","args":{.*"command":"ADD".*"decision":"allow","result":"ok"' "$T/audit" ||
	fail "netd: CNI ADD not audited"
pass "netd: CNI requests audited with their decision"

# --- DEL, handles, bridges: nothing left --------------------------------
drive del cni DEL "$ID1" eth0 "$T/net.conflist" "$P" cni DEL "$ID2" eth0 "$T/net.conflist" - \
	cni DEL "$ID3" eth0 "$T/net2.conflist" - cni DEL "$ID3" eth0 "$T/net2.conflist" - \
	netns-rm "$ID1" netns-rm "$ID2" netns-rm "$ID3" netns-rm "$ID3" \
	bridge-rm "$B:$NET" bridge-rm "$B2:$NET2" bridge-rm "$B:$NET" ||
	{ cat "$T/del" "$T/del.err" >&2; fail "netd: DEL and removal"; }
pass "netd: DEL (twice: idempotent), NetnsRemove (twice), BridgeRemove (twice)"
[ -z "$(ls -A "$RUN/netns")" ] || fail "netd: handles left: $(ls "$RUN/netns")"
grep -q "$RUN/netns" /proc/self/mountinfo && fail "netd: a handle is still mounted"
pass "netd: no handle left, none mounted"
ip -o link show | grep -q -e "$B" && fail "netd: a link of $B is left"
[ -z "$(ip -o link show type veth | grep "master $B")" ] || fail "netd: veths left"
pass "netd: no bridge, no veth left"
[ ! -e "$RUN/cni/ipam/$NET" ] && [ ! -e "$RUN/cni/ipam/$NET2" ] || fail "netd: IPAM files left: $(ls -R "$RUN/cni/ipam")"
pass "netd: no IPAM file left"
n=$(net_rules_of "$NET" "$NET2" | wc -l)
[ "$n" = 0 ] || { net_rules_of "$NET" "$NET2" >&2; fail "netd: $n iptables rules left"; }
pass "netd: no iptables rule of the test's networks left (IPv4 and IPv6)"
