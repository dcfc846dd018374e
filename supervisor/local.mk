# supervisor/: containrd (the root monitor and the unprivileged supervisor).
sbin_PROGRAMS += supervisor/containrd
supervisor_containrd_SOURCES = \
	supervisor/main.c supervisor/containrd.h \
	supervisor/monitor.c \
	supervisor/supervisor.c supervisor/sup.h \
	supervisor/api.c \
	supervisor/procinfo.c
supervisor_containrd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBSECCOMP_CFLAGS) $(LIBCAP_CFLAGS) $(YAML_CFLAGS)
supervisor_containrd_LDADD = ipc/libipc.la common/libcommon.la $(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) \
	$(JANSSON_LIBS) $(LIBSECCOMP_LIBS) $(LIBCAP_LIBS) $(YAML_LIBS)
