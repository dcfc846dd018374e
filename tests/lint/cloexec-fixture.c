/* Fixture for tests/lint/cloexec.sh: every line that the lint must report
 * ends with a comment saying so in capitals; no other line may be reported.
 * Never compiled. */
int fsopen(const char *fs, unsigned int flags);
static int
open_tree(int dfd, const char *path, unsigned int flags)
{
        return 0;
}

static void
fixture(void)
{
        int fd, sv[2], p[2];
        FILE *f;

        fd = open("/x", O_RDONLY); // BAD
        fd = open("/x", O_RDONLY | O_CLOEXEC);
        fd = open("/x", O_PATH); // BAD (O_PATH too)
        fd = open("/x", O_PATH | O_CLOEXEC);
        fd = openat(dfd, "x",
                    O_RDONLY | O_CLOEXEC);
        fd = openat(dfd, "x", // BAD, two lines
                    O_RDONLY | O_NOFOLLOW);
        fd = openat(dfd, "O_CLOEXEC", O_RDONLY); // BAD: the flag is in a string
        fd = openat(dfd, "x", O_RDONLY /* O_CLOEXEC */); // BAD: the flag is in a comment
        fd = open(path, flags); // BAD: flags not visible
        fd = open(path, flags | O_CLOEXEC);
        fd = creat("/x", 0600); // BAD
        fd = socket(AF_UNIX, SOCK_STREAM, 0); // BAD
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv); // BAD
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
        fd = accept(lfd, NULL, NULL); // BAD
        fd = accept4(lfd, NULL, NULL, 0); // BAD
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        pipe(p); // BAD
        pipe2(p, 0); // BAD
        pipe2(p, O_CLOEXEC | O_NONBLOCK);
        fd = dup(0); // BAD
        dup2(fd, 5); // BAD
        dup2(fd, 0);
        dup2(fd, STDERR_FILENO);
        dup2(fd, 3 + i); /* cloexec: not needed, the exec slot of the child */
        /* cloexec: not needed, the exec slot of the child */
        dup2(fd, 4);
        dup2(fd, 6); /* cloexec: not needed */ // BAD: a marker needs a reason
        dup3(fd, 5, 0); // BAD
        dup3(fd, 5, O_CLOEXEC);
        fd = fcntl(fd, F_DUPFD, 3); // BAD
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        fd = memfd_create("x", 0); // BAD
        fd = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        fd = fsopen("tmpfs", 0); // BAD
        fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        fd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        fd = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE); // BAD
        fd = epoll_create1(0); // BAD
        fd = eventfd(0, EFD_CLOEXEC);
        n = recvmsg(sock, &mh, 0); // BAD
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        f = fopen("/x", "r"); // BAD
        f = fopen("/x", "re");
        f = fopen(path, mode); // BAD: mode unknown
        fd = mkstemp(tmpl); // BAD
        fd = mkostemp(tmpl, O_CLOEXEC);
        p->open(x, 0);
        s.open(x, 0);
        fd = my_open("/x", O_RDONLY);
        fd = xopen("/x", 0);
        /* open("/x", O_RDONLY) in a comment */
        // open("/x", O_RDONLY) in a line comment
        log("open(\"/x\", O_RDONLY) in a string");
        how.flags = O_RDONLY | O_CLOEXEC;
        fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        fd = openat2(dfd, path, &how, sizeof(how));
        if (x) return open("/y", O_RDONLY); // BAD
        if ((fd = open("/y", O_RDONLY)) < 0) return; // BAD
        fd = open("/a", O_RDONLY | O_CLOEXEC), fd2 = open("/b", O_RDONLY); // BAD: the second
}
