# supervisor/: containrd (the root monitor and the unprivileged supervisor).
sbin_PROGRAMS += supervisor/containrd
supervisor_containrd_SOURCES = \
	supervisor/main.c supervisor/containrd.h \
	supervisor/monitor.c \
	supervisor/supervisor.c supervisor/sup.h \
	supervisor/api.c supervisor/api.h \
	supervisor/api_images.c supervisor/api_images.h \
	supervisor/api_registry.c supervisor/api_registry.h \
	supervisor/build.c supervisor/build.h \
	supervisor/sup_snapshots.c \
	supervisor/networks.c supervisor/networks.h supervisor/networks_int.h supervisor/networks_cmd.c \
	supervisor/api_networks.c supervisor/api_networks.h \
	supervisor/api_snapshots.c supervisor/api_snapshots.h \
	supervisor/containers.c supervisor/containers.h \
	supervisor/container_spawn.c supervisor/container_spec.c supervisor/container_shim.c \
	supervisor/api_containers.c supervisor/api_containers.h \
	supervisor/volumes.c \
	supervisor/procinfo.c
supervisor_containrd_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBSECCOMP_CFLAGS) $(LIBCAP_CFLAGS) $(YAML_CFLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) $(LIBARCHIVE_CFLAGS)
supervisor_containrd_LDADD = supervisor/libsnap.la supervisor/libregistry.la supervisor/libstore.la ipc/libipc.la common/libcommon.la $(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) \
	$(JANSSON_LIBS) $(LIBSECCOMP_LIBS) $(LIBCAP_LIBS) $(YAML_LIBS) $(SQLITE_LIBS) $(OPENSSL_LIBS)

# The supervisor's stores (metadata database, content store) as a
# convenience library, so unit tests link the same objects.
noinst_LTLIBRARIES += supervisor/libstore.la
supervisor_libstore_la_SOURCES = \
	supervisor/db.c supervisor/db.h \
	supervisor/content.c supervisor/content.h \
	supervisor/manifest.c supervisor/manifest.h \
	supervisor/images.c supervisor/images.h \
	supervisor/archive.c supervisor/archive.h
supervisor_libstore_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(LIBARCHIVE_CFLAGS)
supervisor_libstore_la_LIBADD = common/libcommon.la $(SQLITE_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(LIBARCHIVE_LIBS)

# The registry client (libcurl on the supervisor's libevent loop), also a
# convenience library so its unit tests link the same objects.
noinst_LTLIBRARIES += supervisor/libregistry.la
supervisor_libregistry_la_SOURCES = \
	supervisor/registry.c supervisor/registry.h
supervisor_libregistry_la_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS) $(LIBEVENT_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
supervisor_libregistry_la_LIBADD = supervisor/libstore.la common/libcommon.la $(LIBCURL_LIBS) $(LIBEVENT_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS)

# The snapshotter (metadata; snapd and mountd do the work) and the image
# unpack, a convenience library so the conformance suite links the same
# objects.
noinst_LTLIBRARIES += supervisor/libsnap.la
supervisor_libsnap_la_SOURCES = \
	supervisor/snapshots.c supervisor/snapshots.h \
	supervisor/unpack.c supervisor/unpack.h \
	supervisor/snapmeta.c supervisor/snapmeta.h
supervisor_libsnap_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(LIBEVENT_CFLAGS)
supervisor_libsnap_la_LIBADD = supervisor/libstore.la ipc/libipc.la common/libcommon.la $(SQLITE_LIBS) \
	$(JANSSON_LIBS) $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS)
