# shellcheck shell=sh
# The shared harness of containr's integration tests.
#
#   . "$top_srcdir/tests/lib.sh"
#   cnr_need_root
#   cnr_start            # containrd on temporary dirs, helpers from the build tree
#   "$CONTAINR" info     # CONTAINR_HOST points at this daemon
#   ...                  # cnr_stop runs at exit
#
# Identities are numeric (no users are created on the host): the supervisor
# runs as $CNR_SUP_UID, the API socket's group is $CNR_GID, and helper N
# runs as $CNR_SUP_UID + N.  Every later suite (images, containers, builds,
# CRI) starts its daemon through cnr_start.

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

CONTAINRD=$top_builddir/supervisor/containrd
CONTAINR=$top_builddir/cli/containr
CNR_HELPER_DIR=$top_builddir/helpers
CNR_SUP_UID=${CNR_SUP_UID:-64990}
CNR_GID=${CNR_GID:-64990}
CNR_HELPERS="mountd netd snapd buildd crid"
CNR_TMP=
CNR_MONITOR_PID=
CNR_TEST_BRIDGE=cnr-d$$
# four /24s of the suite's own (unique for pids that differ mod 9600)
CNR_TEST_POOL=10.$((100 + ($$ >> 6) % 150)).$((($$ & 63) * 4)).0/22

cnr_need_root() {
	if [ -n "${CNR_UNIT_ONLY:-}" ]; then
		echo "SKIP: $0 (CNR_UNIT_ONLY: integration suites run in the main pass)"
		exit 77
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $0 needs root"
		exit 77
	fi
}

fail() {
	echo "FAIL: $*" >&2
	cnr_dump_logs >&2
	exit 1
}

pass() {
	echo "ok: $*"
}

cnr_helper_uid() { # NAME
	_i=1
	for _h in $CNR_HELPERS; do
		if [ "$_h" = "$1" ]; then
			echo $((CNR_SUP_UID + _i))
			return
		fi
		_i=$((_i + 1))
	done
	return 1
}

cnr_write_config() { # FILE
	{
		echo "# written by tests/lib.sh"
		echo "user: \"$CNR_SUP_UID\""
		echo "socket_group: \"$CNR_GID\""
		echo "log_level: debug"
		echo "restart:"
		echo "  initial_ms: 100"
		echo "  max_ms: 2000"
		echo "helpers:"
		for _h in $CNR_HELPERS; do
			echo "  $_h:"
			echo "    user: \"$(cnr_helper_uid "$_h")\""
		done
		# the default network: a bridge and a pool of this suite's own, so
		# that suites running in parallel never share one (cnr_stop removes
		# the bridge); a suite may set its own networks: instead
		case ${CNR_EXTRA_CONFIG:-} in
		*networks:*) ;;
		*)
			echo "networks:"
			echo "  pool: [$CNR_TEST_POOL]"
			echo "  default_bridge: $CNR_TEST_BRIDGE"
			;;
		esac
		# a suite's own keys (e.g. registries:), set before cnr_start
		if [ -n "${CNR_EXTRA_CONFIG:-}" ]; then
			printf '%s\n' "$CNR_EXTRA_CONFIG"
		fi
	} >"$1"
}

cnr_start() {
	CNR_TMP=$(mktemp -d /tmp/cnr.XXXXXX)
	chmod 0755 "$CNR_TMP"
	CNR_ROOT=$CNR_TMP/root
	CNR_RUN=$CNR_TMP/run
	CNR_LOG=$CNR_TMP/log
	CNR_CONFIG=$CNR_TMP/containr.yaml
	cnr_write_config "$CNR_CONFIG"
	trap cnr_stop EXIT
	trap 'exit 143' TERM INT # so that a timed-out suite still cleans up
	# --detach returns once every helper said HELLO (or fails).
	if ! "$CONTAINRD" --config "$CNR_CONFIG" --root "$CNR_ROOT" --run-root "$CNR_RUN" \
		--log-dir "$CNR_LOG" --helper-dir "$CNR_HELPER_DIR" --detach "$@"; then
		fail "containrd did not start"
	fi
	CNR_MONITOR_PID=$(cat "$CNR_RUN/containrd.pid")
	CONTAINR_HOST=unix://$CNR_RUN/containr.sock
	export CONTAINR_HOST CNR_ROOT CNR_RUN CNR_LOG CNR_MONITOR_PID
}

# Start containrd again on the dirs of the last cnr_start (after it was
# killed): what a host's service manager does.
cnr_restart() {
	if ! "$CONTAINRD" --config "$CNR_CONFIG" --root "$CNR_ROOT" --run-root "$CNR_RUN" \
		--log-dir "$CNR_LOG" --helper-dir "$CNR_HELPER_DIR" --detach "$@"; then
		fail "containrd did not start again"
	fi
	CNR_MONITOR_PID=$(cat "$CNR_RUN/containrd.pid")
	export CNR_MONITOR_PID
}

cnr_stop() {
	# Containers outlive containrd by design: remove them first, so that
	# their networks (veths, iptables rules, leases) go through CNI DEL.
	if [ -n "$CNR_MONITOR_PID" ] && kill -0 "$CNR_MONITOR_PID" 2>/dev/null; then
		_ids=$("$CONTAINR" ps -aq 2>/dev/null)
		[ -n "$_ids" ] && "$CONTAINR" rm -f $_ids >/dev/null 2>&1
		# rm answers after CNI DEL; a container still starting may not
		cnr_wait_for 20 sh -c "[ -z \"\$(ls -A '$CNR_RUN/netns' 2>/dev/null)\" ]"
	fi
	if [ -n "$CNR_MONITOR_PID" ] && kill -0 "$CNR_MONITOR_PID" 2>/dev/null; then
		kill -TERM "$CNR_MONITOR_PID"
		_n=0
		while kill -0 "$CNR_MONITOR_PID" 2>/dev/null && [ $_n -lt 100 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		kill -KILL "$CNR_MONITOR_PID" 2>/dev/null
	fi
	CNR_MONITOR_PID=
	# last resort (a suite that failed half-way): a handle left mounted
	# would keep its namespace and veth alive and the directory busy
	if [ -n "$CNR_RUN" ]; then
		awk -v p="$CNR_RUN/netns/" 'index($0, " - nsfs ") && index($5, p) == 1 { print $5 }' /proc/self/mountinfo |
			while read -r _m; do umount -l "$_m"; done
	fi
	ip link del "$CNR_TEST_BRIDGE" 2>/dev/null
	[ -n "$CNR_RUN" ] && cnr_isolation_cleanup "$CNR_RUN"
	if [ -n "$CNR_TMP" ] && [ -z "${CNR_KEEP:-}" ]; then
		rm -rf "$CNR_TMP"
	fi
}

# netd's isolation chains of the instance on RUN_ROOT (mangle FORWARD ->
# CNR-ISO1-<hash> -> CNR-ISO2-<hash>, IPv4 and IPv6): they outlive
# containrd by design, like its containers; a test instance's go with it.
cnr_isolation_cleanup() { # RUN_ROOT
	for _ipt in iptables ip6tables; do
		command -v $_ipt >/dev/null 2>&1 || continue
		$_ipt -w -t mangle -S FORWARD 2>/dev/null |
			grep -F -- "--comment \"containr isolation $1/cni\" -j CNR-ISO1-" |
			while IFS= read -r _rule; do
				_c1=${_rule##*-j }
				_c2=CNR-ISO2-${_c1#CNR-ISO1-}
				eval "$_ipt -w -t mangle -D ${_rule#-A }"
				for _c in "$_c1" "$_c2"; do
					$_ipt -w -t mangle -F "$_c" 2>/dev/null
					$_ipt -w -t mangle -X "$_c" 2>/dev/null
				done
			done
	done
}

cnr_dump_logs() {
	[ -n "$CNR_LOG" ] && [ -d "$CNR_LOG" ] || return 0
	for _f in "$CNR_LOG"/*; do
		[ -f "$_f" ] || continue
		echo "---- $_f (last 30 lines)"
		tail -n 30 "$_f"
	done
}

# The pid of the supervisor or of a helper (a child of the monitor).
cnr_pid_of() { # supervisor|mountd|...
	case $1 in
	supervisor) _comm=containrd ;;
	*) _comm=containr-$1 ;;
	esac
	for _p in $(cat /proc/"$CNR_MONITOR_PID"/task/*/children 2>/dev/null); do
		if [ "$(cat /proc/"$_p"/comm 2>/dev/null)" = "$_comm" ]; then
			echo "$_p"
			return 0
		fi
	done
	return 1
}

# Field of /proc/PID/status: `cnr_status PID CapEff` -> 0000000000000000
cnr_status() {
	awk -v k="$2:" '$1 == k { print $2; exit }' /proc/"$1"/status
}

# Wait until CMD succeeds, up to SECONDS.
cnr_wait_for() { # SECONDS CMD...
	_limit=$(($1 * 10))
	shift
	_n=0
	while ! "$@" >/dev/null 2>&1; do
		_n=$((_n + 1))
		[ $_n -ge $_limit ] && return 1
		sleep 0.1
	done
	return 0
}

# The capability mask a helper must hold, from man/containr-helpers.7.
cnr_documented_caps() { # NAME -> hex mask
	"$top_builddir/tests/capmask" $(sed -n "s/^\.\\\\\" caps $1:[[:space:]]*//p" "$top_srcdir/man/containr-helpers.7")
}

# A column of `containr info`'s process table: `cnr_info_field snapd RESTARTS`
cnr_info_field() { # NAME COLUMN
	"$CONTAINR" info | awk -v n="$1" -v c="$2" '
		$1 == "NAME" { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == n && (c in col) { print $col[c]; exit }'
}
