# Networks (issue 4): netd driven directly, then through containrd.  Both
# as root (skipped otherwise) with the CNI plugins of
# containernetworking-plugins; they use only bridges and subnets they pick
# (tests/netlib.sh) and 127.0.0.1.
TESTS += tests/integration/netd.sh tests/integration/networks.sh
EXTRA_DIST += tests/integration/netd.sh tests/integration/networks.sh tests/netlib.sh
