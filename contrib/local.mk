# contrib/: the systemd unit, the default config, setup scripts.
EXTRA_DIST += contrib/containrd.service.in contrib/quickstart.sh contrib/install-deps.sh tests/run-all.sh

systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/containrd.service
CLEANFILES += contrib/containrd.service
contrib/containrd.service: contrib/containrd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@runstatedir[@]|$(runstatedir)|g' $(srcdir)/contrib/containrd.service.in >$@

# The default config: installed when absent, never over an operator's file;
# removed on uninstall only if unchanged.
install-data-local:
	$(MKDIR_P) $(DESTDIR)$(sysconfdir)/containr
	if [ ! -e $(DESTDIR)$(sysconfdir)/containr/containr.yaml ]; then \
		$(INSTALL_DATA) $(srcdir)/contrib/containr.yaml $(DESTDIR)$(sysconfdir)/containr/containr.yaml; \
	fi
uninstall-local:
	if cmp -s $(srcdir)/contrib/containr.yaml $(DESTDIR)$(sysconfdir)/containr/containr.yaml; then \
		rm -f $(DESTDIR)$(sysconfdir)/containr/containr.yaml; \
	fi
	-rmdir $(DESTDIR)$(sysconfdir)/containr 2>/dev/null
