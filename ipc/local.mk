# ipc/: the .proto schemas (compiled by protoc-c at build time), framing,
# fd passing, permit tables and the libevent peer.
IPC_PROTOS = ipc/common.proto ipc/monitor.proto ipc/helper.proto ipc/api.proto ipc/shim.proto
IPC_GEN = $(IPC_PROTOS:.proto=.pb-c.c) $(IPC_PROTOS:.proto=.pb-c.h)
BUILT_SOURCES += $(IPC_GEN)
CLEANFILES += $(IPC_GEN)
EXTRA_DIST += $(IPC_PROTOS)

SUFFIXES = .proto .pb-c.c .pb-c.h
# One rule writes both files; the .h depends on the .c.
.proto.pb-c.c:
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(PROTOC_C) --proto_path=$(srcdir) --c_out=$(builddir) $<
.pb-c.c.pb-c.h:
	@test -f $@ || { rm -f $<; $(MAKE) $(AM_MAKEFLAGS) $<; }

noinst_LTLIBRARIES += ipc/libipc.la
nodist_ipc_libipc_la_SOURCES = $(IPC_GEN)
ipc_libipc_la_SOURCES = \
	ipc/frame.c ipc/frame.h \
	ipc/permit.c ipc/permit.h \
	ipc/peer.c ipc/peer.h \
	ipc/shimclient.c ipc/shimclient.h
ipc_libipc_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBEVENT_CFLAGS)
ipc_libipc_la_LIBADD = common/libcommon.la $(PROTOBUF_C_LIBS) $(LIBEVENT_LIBS)
