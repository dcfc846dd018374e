# man/: pages owned by no single program folder.
dist_man_MANS += man/containrd.8
