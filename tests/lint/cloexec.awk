# cloexec.awk: report calls that create a file descriptor without
# close-on-exec.  Run by tests/lint/cloexec.sh; see there.  POSIX awk
# (mawk is enough).
#
# Each file is read line by line; comments are blanked and the contents of
# string and character literals replaced by spaces (columns are kept), so
# that neither can hide or fake a call or a flag.  For each call of a
# listed function, the argument text (up to the matching parenthesis, over
# several lines if need be) is checked for the flag that makes the new fd
# close-on-exec.
#
# Output: "file:line: message" per finding, "allowed: ..." for findings
# waived by the allow-list (variable ALLOW, lines "path|text|reason").

BEGIN {
        names = "open|openat|open64|openat64|openat2|creat|socket|socketpair|accept|accept4|pipe|pipe2|" \
                "dup|dup2|dup3|fcntl|memfd_create|fopen|freopen|epoll_create|epoll_create1|eventfd|" \
                "signalfd|timerfd_create|inotify_init|inotify_init1|fsopen|fsmount|open_tree|fspick|" \
                "recvmsg|recvmmsg|mkstemp|mkstemps|mkostemp|mkostemps"
        callre = "(^|[^A-Za-z0-9_.>])(" names ")[ \t]*\\("
        nf = split("open:O_CLOEXEC openat:O_CLOEXEC open64:O_CLOEXEC openat64:O_CLOEXEC " \
                   "socket:SOCK_CLOEXEC socketpair:SOCK_CLOEXEC accept4:SOCK_CLOEXEC " \
                   "pipe2:O_CLOEXEC dup3:O_CLOEXEC memfd_create:MFD_CLOEXEC " \
                   "epoll_create1:EPOLL_CLOEXEC eventfd:EFD_CLOEXEC signalfd:SFD_CLOEXEC " \
                   "timerfd_create:TFD_CLOEXEC inotify_init1:IN_CLOEXEC fsopen:FSOPEN_CLOEXEC " \
                   "fsmount:FSMOUNT_CLOEXEC open_tree:OPEN_TREE_CLOEXEC fspick:FSPICK_CLOEXEC " \
                   "recvmsg:MSG_CMSG_CLOEXEC recvmmsg:MSG_CMSG_CLOEXEC mkostemp:O_CLOEXEC " \
                   "mkostemps:O_CLOEXEC openat2:O_CLOEXEC", pairs, " ")
        for (i = 1; i <= nf; i++) {
                split(pairs[i], kv, ":")
                need[kv[1]] = kv[2]
        }
        hint["creat"] = "use open(..., O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC)"
        hint["accept"] = "use accept4(..., SOCK_CLOEXEC)"
        hint["pipe"] = "use pipe2(..., O_CLOEXEC)"
        hint["dup"] = "use fcntl(fd, F_DUPFD_CLOEXEC, 0)"
        hint["dup2"] = "use dup3(..., O_CLOEXEC), or mark an fd meant to be inherited"
        hint["fcntl"] = "use F_DUPFD_CLOEXEC"
        hint["epoll_create"] = "use epoll_create1(EPOLL_CLOEXEC)"
        hint["inotify_init"] = "use inotify_init1(IN_CLOEXEC)"
        hint["mkstemp"] = "use mkostemp(..., O_CLOEXEC)"
        hint["mkstemps"] = "use mkostemps(..., O_CLOEXEC)"
        hint["fopen"] = "add \"e\" to the mode"
        hint["freopen"] = "add \"e\" to the mode"
        nallow = 0
        if (ALLOW != "") {
                while ((getline line < ALLOW) > 0) {
                        if (line ~ /^[ \t]*(#|$)/)
                                continue
                        split(line, parts, "|")
                        nallow++
                        allow_path[nallow] = parts[1]
                        allow_text[nallow] = parts[2]
                }
                close(ALLOW)
        }
        found = 0
}

FNR == 1 {
        if (NR > 1)
                check_file()
        fname = FILENAME
        n = 0
        incomment = 0
}

{
        n++
        L[n] = $0
        N[n] = blank($0)
}

END {
        if (NR > 0)
                check_file()
        exit found ? 1 : 0
}

# Blank comments and literal contents of one line; `incomment` carries a
# /* comment over lines.
function blank(s,    out, i, c, c2, len, q) {
        out = ""
        len = length(s)
        i = 1
        while (i <= len) {
                c = substr(s, i, 1)
                c2 = substr(s, i, 2)
                if (incomment) {
                        if (c2 == "*/") {
                                incomment = 0
                                out = out "  "
                                i += 2
                        } else {
                                out = out " "
                                i++
                        }
                } else if (c2 == "/*") {
                        incomment = 1
                        out = out "  "
                        i += 2
                } else if (c2 == "//") {
                        while (i <= len) {
                                out = out " "
                                i++
                        }
                } else if (c == "\"" || c == "'") {
                        q = c
                        out = out c
                        i++
                        while (i <= len && substr(s, i, 1) != q) {
                                if (substr(s, i, 1) == "\\") {
                                        out = out " "
                                        i++
                                }
                                out = out " "
                                i++
                        }
                        if (i <= len) {
                                out = out q
                                i++
                        }
                } else {
                        out = out c
                        i++
                }
        }
        return out
}

function has(text, tok) {
        return text ~ ("(^|[^A-Za-z0-9_])" tok "([^A-Za-z0-9_]|$)")
}

function trim(s) {
        sub(/^[ \t\n]+/, "", s)
        sub(/[ \t\n]+$/, "", s)
        return s
}

# Split the argument text (literal contents blanked) at top-level commas;
# returns the count, fills ARGS[1..] and ARGSTART[1..] (offsets).
function split_args(a,    i, c, depth, cnt, start) {
        depth = 0
        cnt = 1
        start = 1
        for (i = 1; i <= length(a); i++) {
                c = substr(a, i, 1)
                if (c == "(" || c == "[" || c == "{")
                        depth++
                else if (c == ")" || c == "]" || c == "}")
                        depth--
                else if (c == "," && depth == 0) {
                        ARGS[cnt] = substr(a, start, i - start)
                        ARGSTART[cnt] = start
                        cnt++
                        start = i + 1
                }
        }
        ARGS[cnt] = substr(a, start)
        ARGSTART[cnt] = start
        return cnt
}

function report(line, name, msg,    k, src) {
        src = L[line]
        for (k = 1; k <= nallow; k++) {
                if (fname == allow_path[k] && index(src, allow_text[k]) > 0) {
                        printf "allowed: %s:%d: %s\n", fname, line, trim(src)
                        return
                }
        }
        printf "%s:%d: %s() %s\n", fname, line, name, msg
        found++
}

function marked(first, last,    k) {
        for (k = first - 1; k <= last; k++)
                if (k >= 1 && L[k] ~ /cloexec: not needed, *[^ *]/)
                        return 1
        return 0
}

function check_file(    i, rest, off, pre, name, col) {
        for (i = 1; i <= n; i++) {
                rest = N[i]
                off = 0
                while (match(rest, callre)) {
                        pre = substr(rest, RSTART, RLENGTH)
                        name = pre
                        sub(/^[^A-Za-z_]/, "", name)
                        sub(/[ \t]*\($/, "", name)
                        col = off + RSTART + RLENGTH - 1   # column of "("
                        check_call(i, col, name, off + RSTART + (substr(pre, 1, 1) ~ /[A-Za-z_]/ ? 0 : 1))
                        off += RSTART + RLENGTH - 1
                        rest = substr(rest, RSTART + RLENGTH)
                }
        }
        for (i = 1; i <= n; i++) {
                delete L[i]
                delete N[i]
        }
}

# The call of `name` whose "(" is at line i, column col; the name starts at
# column namecol.
function check_call(i, col, name, namecol,    prefix, a, o, j, k, c, depth, last, nargs, m, lit, s, e) {
        prefix = substr(N[i], 1, namecol - 1)
        # a definition (name at column 1) or a declaration ("int open(")
        if (namecol == 1)
                return
        if (prefix ~ /^[ \t]*((static|extern|inline)[ \t]+)*[A-Za-z_][A-Za-z0-9_ \t]*[ \t*]+$/ &&
            prefix !~ /(^|[^A-Za-z0-9_])(return|else|case|do)[ \t]*$/)
                return
        # collect the arguments: N text (a) and original text (o)
        a = ""
        o = ""
        depth = 0
        last = i
        for (j = i; j <= n; j++) {
                s = (j == i) ? col : 1
                for (k = s; k <= length(N[j]); k++) {
                        c = substr(N[j], k, 1)
                        if (c == "(")
                                depth++
                        else if (c == ")") {
                                depth--
                                if (depth == 0)
                                        break
                        }
                        if (!(j == i && k == col)) {
                                a = a c
                                o = o substr(L[j], k, 1)
                        }
                }
                last = j
                if (depth == 0)
                        break
                a = a "\n"
                o = o "\n"
        }
        if (marked(i, last))
                return
        if (name in hint && !(name in need)) {
                if (name == "dup2") {
                        nargs = split_args(a)
                        if (nargs >= 2 && trim(ARGS[2]) ~ /^(0|1|2|STDIN_FILENO|STDOUT_FILENO|STDERR_FILENO)$/)
                                return
                        report(i, name, "leaves the new fd inheritable: " hint[name])
                        return
                }
                if (name == "fcntl") {
                        if (has(a, "F_DUPFD"))
                                report(i, name, "with F_DUPFD: " hint[name])
                        return
                }
                if (name == "fopen" || name == "freopen") {
                        nargs = split_args(a)
                        if (nargs < 2) {
                                report(i, name, "without a mode")
                                return
                        }
                        lit = substr(o, ARGSTART[2], length(ARGS[2]))
                        if (match(lit, /"[^"]*"/)) {
                                m = substr(lit, RSTART + 1, RLENGTH - 2)
                                if (index(m, "e") == 0)
                                        report(i, name, "mode \"" m "\" lacks \"e\" (O_CLOEXEC)")
                        } else {
                                report(i, name, "mode is not a literal; cannot check for \"e\"")
                        }
                        return
                }
                report(i, name, "creates an inheritable fd: " hint[name])
                return
        }
        if (name == "openat2") {
                # the flags live in a struct open_how set up just before
                for (j = (i > 20 ? i - 20 : 1); j <= i; j++)
                        if (has(N[j], "O_CLOEXEC"))
                                return
                report(i, name, "without O_CLOEXEC in its open_how")
                return
        }
        if (!has(a, need[name]))
                report(i, name, "without " need[name])
}
