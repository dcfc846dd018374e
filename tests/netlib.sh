# shellcheck shell=sh
# Helpers of the network suites (tests/integration/netd.sh, networks.sh):
# free test subnets and ports, and what the CNI plugins leave in iptables.
# The suites use only bridges and subnets they pick here, and 127.0.0.1.

net_need_tools() {
	for _t in busybox curl nsenter ip iptables-save; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $0 needs $_t"
			exit 77
		fi
	done
	if [ ! -x /usr/lib/cni/bridge ] || [ ! -x /usr/lib/cni/host-local ] || [ ! -x /usr/lib/cni/portmap ]; then
		echo "SKIP: $0 needs the CNI plugins in /usr/lib/cni (containernetworking-plugins)"
		exit 77
	fi
}

# A 10.X.Y.0/24 that no route of the host overlaps (X from the pid, so
# that suites running in parallel take different ones); not SKIP.
net_free_subnet() { # [SUBNET-TO-SKIP]
	_routes=$(ip -4 route show table all 2>/dev/null | awk '{print $1}' | grep -v -e '^local$' -e '^broadcast$')
	_x=$((200 + $$ % 50))
	_i=0
	while [ $_i -lt 50 ]; do
		_clash=
		for _r in $_routes; do
			case $_r in
			10.$_x.* | 10.0.0.0/8 | 10.0.0.0/7 | 10.0.0.0/6 | 10.0.0.0/5 | 8.0.0.0/* | 0.0.0.0/*) _clash=1 ;;
			esac
		done
		if [ -z "$_clash" ]; then
			for _y in 1 2 3 4 5 6 7 8; do
				[ "10.$_x.$_y.0/24" = "${1:-}" ] && continue
				echo "10.$_x.$_y.0/24"
				return 0
			done
		fi
		_x=$((200 + (_x - 200 + 1) % 50))
		_i=$((_i + 1))
	done
	return 1
}

net_in_subnet() { # IP 10.X.Y.0/24
	[ "${1%.*}" = "${2%.0/24}" ]
}

# A TCP port nobody listens on.
net_free_port() {
	_p=$((20000 + $$ % 20000))
	while busybox netstat -ltn 2>/dev/null | grep -q ":$_p "; do
		_p=$((_p + 1))
	done
	echo $_p
}

# iptables rules (IPv4 and IPv6, every table) that mention one of the
# networks (the plugins' comments) or one of their subnets.
net_rules_of() { # NAME|SUBNET...
	for _cmd in iptables-save ip6tables-save; do
		command -v $_cmd >/dev/null 2>&1 || continue
		$_cmd 2>/dev/null | grep '^-A' | while IFS= read -r _line; do
			for _n in "$@"; do
				case $_n in
				*/24) _pat="${_n%.0/24}." ;;
				*) _pat="name: \\\"$_n\\\"" ;;
				esac
				case $_line in
				*"$_pat"*)
					echo "$_cmd: $_line"
					break
					;;
				esac
			done
		done
	done
}

# Best effort, for a failed run: delete the rules net_rules_of finds.
net_cleanup_rules() { # NAME|SUBNET...
	for _t in nat filter mangle; do
		iptables-save -t $_t 2>/dev/null | grep '^-A' | while IFS= read -r _line; do
			for _n in "$@"; do
				case $_n in
				*/24) _pat="${_n%.0/24}." ;;
				*) _pat="name: \\\"$_n\\\"" ;;
				esac
				case $_line in
				*"$_pat"*)
					eval "iptables -t $_t -D ${_line#-A }" 2>/dev/null
					break
					;;
				esac
			done
		done
	done
}

# The chains the plugins share between all their users: removed at the end
# only if the suite made them (absent before) and they hold no one's rules.
NET_SHARED_BEFORE=
net_shared_chains_before() {
	NET_SHARED_BEFORE=$(
		iptables-save -t nat 2>/dev/null | grep -c '^:CNI-HOSTPORT-DNAT '
		iptables-save -t filter 2>/dev/null | grep -c '^:CNI-FORWARD '
	)
}

net_shared_chains_cleanup() {
	_nat=$(echo "$NET_SHARED_BEFORE" | sed -n 1p)
	_flt=$(echo "$NET_SHARED_BEFORE" | sed -n 2p)
	if [ "$_nat" = 0 ] && [ "$(iptables -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | grep -c '^-A')" = 0 ]; then
		iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null
		iptables -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null
		iptables -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" \
			-j CNI-HOSTPORT-MASQ 2>/dev/null
		for _c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
			iptables -t nat -F $_c 2>/dev/null
			iptables -t nat -X $_c 2>/dev/null
		done
	fi
	if [ "$_flt" = 0 ] && [ "$(iptables -t filter -S CNI-FORWARD 2>/dev/null | grep -c '^-A')" -le 1 ] &&
		[ "$(iptables -t filter -S CNI-ADMIN 2>/dev/null | grep -c '^-A')" = 0 ]; then
		iptables -t filter -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null
		for _c in CNI-FORWARD CNI-ADMIN; do
			iptables -t filter -F $_c 2>/dev/null
			iptables -t filter -X $_c 2>/dev/null
		done
	fi
}
