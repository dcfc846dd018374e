# man/: pages owned by no single program folder.
dist_man_MANS += man/containrd.8
# Networks (issue 4, netd).
dist_man_MANS += man/containr-network.1
# Images (3A).
dist_man_MANS += man/containr-images.1 man/containr-rmi.1 man/containr-tag.1 \
	man/containr-image-inspect.1 man/containr-save.1 man/containr-load.1 man/containr-import.1 \
	man/containr-image-prune.1 man/containr-system-prune.1
