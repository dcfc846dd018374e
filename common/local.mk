# common/: errors, cleanup, logging, audit, sandboxing, config.  Linked by
# every program (and the tests), so they all run the same objects.
noinst_LTLIBRARIES += common/libcommon.la
common_libcommon_la_SOURCES = \
	common/err.c common/err.h \
	common/util.c common/util.h \
	common/log.c common/log.h \
	common/audit.c common/audit.h \
	common/sandbox.c common/sandbox.h \
	common/helpers.c common/helpers.h \
	common/conf.c common/conf.h \
	common/spawn.c common/spawn.h \
	common/detach.c common/detach.h \
	common/passwd.c common/passwd.h \
	common/digest.c common/hasher.c common/digest.h \
	common/ref.c common/ref.h \
	common/cidr.c common/cidr.h \
	common/idmap.c common/idmap.h
common_libcommon_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBSECCOMP_CFLAGS) $(LIBCAP_CFLAGS) $(YAML_CFLAGS) $(OPENSSL_CFLAGS)
common_libcommon_la_LIBADD = $(JANSSON_LIBS) $(LIBSECCOMP_LIBS) $(LIBCAP_LIBS) $(YAML_LIBS) $(OPENSSL_LIBS)
