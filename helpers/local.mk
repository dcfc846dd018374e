# helpers/: the five privilege-dropped helper processes.  Each is a small
# main.c (demote + sandbox + loop) over the shared framework in
# helpers/common, ops.c (its privileged work) and seccomp.c (its
# allow-list).  Contract with the monitor: man/containr-helpers.7.
HELPER_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(LIBSECCOMP_CFLAGS) \
	$(LIBCAP_CFLAGS)

noinst_LTLIBRARIES += helpers/libhelper.la
helpers_libhelper_la_SOURCES = helpers/common/helper.c helpers/common/helper.h
helpers_libhelper_la_CFLAGS = $(HELPER_CFLAGS)
helpers_libhelper_la_LIBADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS) \
	$(JANSSON_LIBS) $(LIBSECCOMP_LIBS) $(LIBCAP_LIBS)

pkglibexec_PROGRAMS += helpers/containr-mountd helpers/containr-netd helpers/containr-snapd \
	helpers/containr-buildd helpers/containr-crid

helpers_containr_mountd_SOURCES = helpers/mountd/main.c helpers/mountd/ops.c helpers/mountd/seccomp.c \
	helpers/mountd/mountd.h helpers/snapd/name.c
helpers_containr_mountd_CFLAGS = $(HELPER_CFLAGS)
helpers_containr_mountd_LDADD = helpers/libhelper.la

helpers_containr_netd_SOURCES = helpers/netd/main.c helpers/netd/ops.c helpers/netd/cni.c helpers/netd/isolate.c \
	helpers/netd/seccomp.c helpers/netd/netd.h
helpers_containr_netd_CFLAGS = $(HELPER_CFLAGS) $(LIBMNL_CFLAGS)
helpers_containr_netd_LDADD = helpers/libhelper.la $(LIBMNL_LIBS)

helpers_containr_snapd_SOURCES = helpers/snapd/main.c helpers/snapd/ops.c helpers/snapd/name.c \
	helpers/snapd/seccomp.c helpers/snapd/snapd.h helpers/snapd/dirs.c helpers/snapd/apply.c \
	helpers/snapd/tarpath.c helpers/snapd/tarpath.h helpers/snapd/diff.c
helpers_containr_snapd_CFLAGS = $(HELPER_CFLAGS) $(LIBARCHIVE_CFLAGS) $(OPENSSL_CFLAGS)
helpers_containr_snapd_LDADD = helpers/libhelper.la $(LIBARCHIVE_LIBS) $(OPENSSL_LIBS)

helpers_containr_buildd_SOURCES = helpers/buildd/main.c helpers/buildd/ops.c helpers/buildd/seccomp.c \
	helpers/buildd/buildd.h
helpers_containr_buildd_CFLAGS = $(HELPER_CFLAGS) $(FRONTEND_CFLAGS)
helpers_containr_buildd_LDADD = helpers/libhelper.la $(FRONTEND_LIBS)

helpers_containr_crid_SOURCES = helpers/crid/main.c
helpers_containr_crid_CFLAGS = $(HELPER_CFLAGS)
helpers_containr_crid_LDADD = helpers/libhelper.la

# containr-shim: one per container, started by the monitor WITHOUT helper
# restrictions (not in the helper table).  man/containr-shim.8.
pkglibexec_PROGRAMS += helpers/containr-shim
helpers_containr_shim_SOURCES = helpers/shim/main.c helpers/shim/spec.c helpers/shim/container.c \
	helpers/shim/mounts.c helpers/shim/cgroup.c helpers/shim/devices.c helpers/shim/seccomp.c \
	helpers/shim/stdio.c helpers/shim/shim.h helpers/shim/devices.h
helpers_containr_shim_CFLAGS = $(HELPER_CFLAGS)
helpers_containr_shim_LDADD = ipc/libipc.la common/libcommon.la $(PROTOBUF_C_LIBS) $(JANSSON_LIBS) \
	$(LIBSECCOMP_LIBS) $(LIBCAP_LIBS)
dist_man_MANS += man/containr-shim.8

dist_man_MANS += man/containr-helpers.7
