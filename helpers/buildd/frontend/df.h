/* The Dockerfile front end of containr-buildd: everything before execution.
 *
 * Three layers, each its own module, each consuming the one before:
 *
 *   1. syntax (directives.c, parser.c): bytes -> struct cnr_df_ast, a list
 *      of nodes with source lines, raw flags ("--x=y" words, unvalidated),
 *      arguments in the form the instruction dictates (JSON exec form,
 *      shell string, words, key/value pairs) and heredoc bodies.  dump.c
 *      prints it in our golden-file format.
 *   2. instructions (instr.c, runmount.c): each node -> struct cnr_df_instr
 *      through a keyword table that says which flags the instruction takes
 *      (bool, string or list) and how many arguments; nothing is expanded
 *      yet.
 *   3. plan (plan.c, imgconfig.c, lex.c, cachekey.c, lint.c): stages, ARG scoping, word
 *      expansion with the stage's environment, the stage graph pruned to
 *      --target, per-step cache keys over the build context index
 *      (context.c, ignore.c), and the image config and history the plan
 *      implies.  report.c renders it as text or JSON.
 *
 * Errors of the Dockerfile are reports, never aborts: a function that
 * meets one returns -1 with *err set to "FILE:LINE: message".  Nothing in
 * here touches the host filesystem; the build context arrives as a tar
 * stream (context.c).
 */
#ifndef CNR_DF_H
#define CNR_DF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

#define CNR_DF_MAX_LINE 65535              /* longest physical line */
#define CNR_DF_MAX_SIZE (4u * 1024 * 1024) /* largest Dockerfile we parse */

/* ---- small containers (dfutil.c) ---------------------------------------- */

struct cnr_df_strv {
        char **v;
        size_t n, cap;
};
void cnr_df_strv_push(struct cnr_df_strv *sv, const char *s);
void cnr_df_strv_take(struct cnr_df_strv *sv, char *s); /* takes ownership */
void cnr_df_strv_free(struct cnr_df_strv *sv);
bool cnr_df_strv_has(const struct cnr_df_strv *sv, const char *s);

struct cnr_df_buf {
        char *s;
        size_t len, cap;
};
void cnr_df_buf_addc(struct cnr_df_buf *b, char c);
void cnr_df_buf_add(struct cnr_df_buf *b, const char *s, size_t n);
void cnr_df_buf_adds(struct cnr_df_buf *b, const char *s);
void cnr_df_buf_addf(struct cnr_df_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *cnr_df_buf_steal(struct cnr_df_buf *b); /* never NULL */
/* Append s quoted: "..." with \" \\ \n \t \r and \xNN for other bytes < 0x20. */
void cnr_df_buf_quote(struct cnr_df_buf *b, const char *s);

/* The candidate nearest to `word` (case-insensitive edit distance at most
 * a third of its length, at least 1), or NULL. */
const char *cnr_df_suggest(const char *word, const char *const *cands, size_t n);

/* ---- layer 1: syntax ----------------------------------------------------- */

enum cnr_df_form {
        CNR_DF_FORM_NONE,  /* no arguments */
        CNR_DF_FORM_JSON,  /* exec form: a JSON array of strings */
        CNR_DF_FORM_SHELL, /* the rest of the line as one string */
        CNR_DF_FORM_WORDS, /* split on whitespace (quotes kept) */
        CNR_DF_FORM_KV,    /* ENV/LABEL pairs: args[2i]=key, args[2i+1]=value */
};

struct cnr_df_heredoc {
        char *name;    /* the delimiter word, quotes removed */
        char *content; /* every line with its "\n"; tabs stripped for <<- */
        bool expand;   /* no part of the delimiter was quoted */
        bool chomp;    /* <<- */
        int fd;        /* 3<<EOF -> 3; -1 when not given */
};

struct cnr_df_node {
        char *keyword;            /* lower case: "run" */
        char *written;            /* as written: "Run" */
        struct cnr_df_strv flags; /* raw "--x=y" words, in order */
        struct cnr_df_strv args;
        enum cnr_df_form form;
        bool legacy_kv; /* ENV/LABEL "key value" form */
        struct cnr_df_heredoc *heredocs;
        size_t nheredocs;
        struct cnr_df_node *child; /* ONBUILD's instruction */
        char *original;            /* the logical line, continuations joined */
        char *comment;             /* comment lines right above, joined by "\n" */
        int start_line, end_line;
};

struct cnr_df_diag;

struct cnr_df_ast {
        char *file;   /* the name errors use: "Dockerfile" */
        char escape;  /* '\\' or '`' */
        char *syntax; /* # syntax= value, or NULL */
        char *check;  /* # check= value, or NULL */
        int syntax_line, escape_line, check_line;
        struct cnr_df_node **nodes;
        size_t nnodes;
        /* Syntax-level warnings (empty continuation lines). */
        struct cnr_df_diag *warnings;
        size_t nwarnings;
        int nlines;
};

/* Parse a Dockerfile.  `file` is the name used in messages. */
int cnr_df_parse(const char *data, size_t len, const char *file, struct cnr_df_ast **out, struct cnr_err **err);
void cnr_df_ast_free(struct cnr_df_ast *ast);
void cnr_df_node_free(struct cnr_df_node *n);
/* Our golden-file dump of the AST (see tests/golden/dockerfile/README). */
char *cnr_df_ast_dump(const struct cnr_df_ast *ast);

/* Directives at the top of the file (directives.c).  Fills ast->escape,
 * syntax, check; returns the index of the first line after them. */
int cnr_df_directives(char **lines, size_t nlines, struct cnr_df_ast *ast, size_t *first, struct cnr_err **err);

/* JSON exec form: 1 when `s` is a JSON array of strings (*out filled), 0
 * when it is not JSON at all (shell form), -1 (error) when it is a JSON
 * array holding something other than strings. */
int cnr_df_json_array(const char *s, struct cnr_df_strv *out, struct cnr_err **err);

/* ---- layer 2: instructions ----------------------------------------------- */

enum cnr_df_kind {
        CNR_DF_ADD,
        CNR_DF_ARG,
        CNR_DF_CMD,
        CNR_DF_COPY,
        CNR_DF_ENTRYPOINT,
        CNR_DF_ENV,
        CNR_DF_EXPOSE,
        CNR_DF_FROM,
        CNR_DF_HEALTHCHECK,
        CNR_DF_LABEL,
        CNR_DF_MAINTAINER,
        CNR_DF_ONBUILD,
        CNR_DF_RUN,
        CNR_DF_SHELL,
        CNR_DF_STOPSIGNAL,
        CNR_DF_USER,
        CNR_DF_VOLUME,
        CNR_DF_WORKDIR,
        CNR_DF_NKINDS
};
const char *cnr_df_kind_name(enum cnr_df_kind k); /* "COPY" */

enum cnr_df_mount_type {
        CNR_DF_MOUNT_BIND,
        CNR_DF_MOUNT_CACHE,
        CNR_DF_MOUNT_TMPFS,
        CNR_DF_MOUNT_SECRET,
        CNR_DF_MOUNT_SSH
};
const char *cnr_df_mount_type_name(enum cnr_df_mount_type t);

struct cnr_df_mount {
        enum cnr_df_mount_type type;
        char *from, *source, *target, *id, *sharing, *env;
        bool readonly, required;
        bool has_mode, has_uid, has_gid, has_size;
        unsigned mode;
        unsigned long long uid, gid, size;
};

/* One flag after validation. */
struct cnr_df_flag {
        const char *name;        /* static, from the keyword table */
        char *value;             /* string flags; "true"/"false" for bools */
        struct cnr_df_strv list; /* list flags */
        bool set;
};

struct cnr_df_instr {
        enum cnr_df_kind kind;
        const struct cnr_df_node *node; /* owned by the AST */
        int line;
        struct cnr_df_flag *flags; /* in the keyword table's order */
        size_t nflags;
        /* The arguments, unexpanded.  For ENV/LABEL: key,value pairs.  For
         * ARG: names; defaults[i] NULL when none.  For COPY/ADD: srcs then
         * dest.  For FROM: image, [AS name].  For HEALTHCHECK: the command
         * after CMD. */
        struct cnr_df_strv args;
        struct cnr_df_strv defaults; /* ARG only; "" stands for none via has_default */
        bool *has_default;
        bool json;
        /* Per-kind facts. */
        char *stage_name;            /* FROM ... AS name (lower case) */
        struct cnr_df_mount *mounts; /* RUN --mount */
        size_t nmounts;
        char hc_type[8];                                                       /* "CMD", "NONE" */
        long long hc_interval, hc_timeout, hc_start_period, hc_start_interval; /* ns, 0 = default */
        long long hc_retries;
        struct cnr_df_instr *trigger; /* ONBUILD */
        char *trigger_text;           /* ONBUILD: the trigger as registered in the image config */
};

const struct cnr_df_flag *cnr_df_instr_flag(const struct cnr_df_instr *in, const char *name);
/* The value of a set string flag, else NULL. */
const char *cnr_df_instr_flagv(const struct cnr_df_instr *in, const char *name);
/* Bool flag: true when set to true. */
bool cnr_df_instr_flagb(const struct cnr_df_instr *in, const char *name);

int cnr_df_instr_build(const struct cnr_df_node *node, const char *file, struct cnr_df_instr **out,
                       struct cnr_err **err);
void cnr_df_instr_free(struct cnr_df_instr *in);

/* RUN --mount=<csv> (runmount.c); `mnt` zeroed by the caller. */
int cnr_df_mount_parse(const char *csv, struct cnr_df_mount *mnt, struct cnr_err **err);
void cnr_df_mount_clear(struct cnr_df_mount *mnt);

/* "10s", "1m30s", "1.5h", "250ms" -> nanoseconds. */
int cnr_df_duration(const char *s, long long *ns, struct cnr_err **err);

/* ---- word expansion (lex.c) ---------------------------------------------- */

/* A variable scope: ordered name=value pairs; lookups take the last. */
struct cnr_df_vars {
        struct cnr_df_strv names, values;
};
void cnr_df_vars_set(struct cnr_df_vars *v, const char *name, const char *value);
const char *cnr_df_vars_get(const struct cnr_df_vars *v, const char *name);
void cnr_df_vars_unset(struct cnr_df_vars *v, const char *name);
void cnr_df_vars_free(struct cnr_df_vars *v);
void cnr_df_vars_copy(struct cnr_df_vars *dst, const struct cnr_df_vars *src);

/* Look a name up: the value, or NULL when unset. */
typedef const char *(*cnr_df_lookup_fn)(const char *name, void *arg);

struct cnr_df_lex {
        char escape; /* '\\' or '`' */
        cnr_df_lookup_fn lookup;
        void *arg;
        struct cnr_df_strv *unmatched; /* names looked up while unset; may be NULL */
};

/* Expand one word: quotes removed, escapes applied, $vars replaced. */
int cnr_df_expand(const struct cnr_df_lex *lx, const char *word, char **out, struct cnr_err **err);
/* Expand and split into words: unquoted expansions split on whitespace. */
int cnr_df_expand_words(const struct cnr_df_lex *lx, const char *word, struct cnr_df_strv *out, struct cnr_err **err);
/* Glob as ${v#pat} uses it: * ? and \-escapes; [ is literal. */
bool cnr_df_glob_match(const char *pat, const char *s, size_t slen);

/* ---- .dockerignore (ignore.c) -------------------------------------------- */

struct cnr_df_ignore;
/* Parse a .dockerignore; `file` names it in errors. */
int cnr_df_ignore_parse(const char *data, size_t len, const char *file, struct cnr_df_ignore **out,
                        struct cnr_err **err);
void cnr_df_ignore_free(struct cnr_df_ignore *ig);
/* Is context path `path` ("a/b", no leading slash) excluded? */
bool cnr_df_ignore_match(const struct cnr_df_ignore *ig, const char *path);
/* Could anything under directory `path` be re-included by a ! rule? */
bool cnr_df_ignore_may_reinclude(const struct cnr_df_ignore *ig, const char *path);
size_t cnr_df_ignore_count(const struct cnr_df_ignore *ig);

/* ---- the build context (context.c) --------------------------------------- */

/* Entries of the stream under this directory are not context: the CLI
 * puts the Dockerfile and the ignore file there. */
#define CNR_DF_META_DIR ".containr-build-meta"
#define CNR_DF_META_DOCKERFILE CNR_DF_META_DIR "/Dockerfile"
#define CNR_DF_META_IGNORE CNR_DF_META_DIR "/dockerignore"

enum cnr_df_ftype { CNR_DF_FT_FILE, CNR_DF_FT_DIR, CNR_DF_FT_SYMLINK, CNR_DF_FT_HARDLINK, CNR_DF_FT_OTHER };

struct cnr_df_entry {
        char *path; /* clean, relative: "src/main.c" */
        enum cnr_df_ftype type;
        unsigned mode; /* permission bits and suid/sgid/sticky */
        unsigned long long uid, gid, size;
        char *link;         /* symlink / hardlink target */
        uint8_t sha256[32]; /* content of a regular file */
};

struct cnr_df_context {
        struct cnr_df_entry *e; /* sorted by path after cnr_df_context_finish */
        size_t n, cap;
        unsigned long long bytes;
        char *dockerfile; /* meta: contents, NUL-terminated */
        size_t dockerfile_len;
        char *ignore;
        size_t ignore_len;
        bool have_ignore;
};

struct cnr_df_limits {
        unsigned long long max_bytes; /* sum of regular file sizes */
        unsigned long long max_entries;
};
#define CNR_DF_CONTEXT_MAX_BYTES (2ULL * 1024 * 1024 * 1024)
#define CNR_DF_CONTEXT_MAX_ENTRIES 200000ULL

/* Read a tar stream from fd (libarchive), hashing files as they pass;
 * nothing is written anywhere.  The stream is bounded by `lim`. */
int cnr_df_context_read_fd(int fd, const struct cnr_df_limits *lim, struct cnr_df_context **out, struct cnr_err **err);
/* Build one by hand (tests): data hashed, not kept. */
struct cnr_df_context *cnr_df_context_new(void);
void cnr_df_context_add(struct cnr_df_context *c, const char *path, enum cnr_df_ftype type, unsigned mode,
                        unsigned long long uid, unsigned long long gid, const void *data, size_t len, const char *link);
void cnr_df_context_finish(struct cnr_df_context *c);
/* A new entry at `path` (cleaned), zeroed but for the path; for the
 * readers of the index (context.c, context_read.c). */
struct cnr_df_entry *cnr_df_context_entry(struct cnr_df_context *c, const char *path);
const struct cnr_df_entry *cnr_df_context_find(const struct cnr_df_context *c, const char *path);
void cnr_df_context_free(struct cnr_df_context *c);
/* Clean a path as COPY sources are: leading / and .. clamped to the root. */
char *cnr_df_clean_path(const char *p);

/* ---- layer 3: the plan (plan.c) ------------------------------------------ */

enum cnr_df_severity { CNR_DF_WARN, CNR_DF_ERROR };

struct cnr_df_diag {
        enum cnr_df_severity sev;
        int line;
        char *rule; /* "JSONArgsRecommended", or NULL for plain errors */
        char *msg;
        char *url; /* docs, or NULL */
};

/* What the local image store says about an external image.  The
 * supervisor looks the images up and hands buildd the facts as data
 * (facts.c checks their shape); the planner never reads a store.
 *   known = false: nobody asked (no callback, or an image the CLI's parse
 *                  could not foresee, e.g. named by an ONBUILD trigger):
 *                  the plan goes on without, its keys provisional;
 *   missing:       asked, and the store does not have it: an error. */
struct cnr_df_image_facts {
        bool known;
        bool missing;
        char *digest;        /* manifest digest, "sha256:..." */
        char *config_digest; /* the image id: what cache keys use */
        char *platform;      /* the image's own platform, "linux/amd64" */
        json_t *config;      /* OCI image config "config" object (checked subset) */
        json_t *history;     /* its history entries, or NULL */
        struct cnr_df_strv onbuild;
};
void cnr_df_image_facts_clear(struct cnr_df_image_facts *f);
/* Fill *out (zeroed by the caller; cleared with cnr_df_image_facts_clear)
 * for `ref` (normalised) as the stage of platform `platform` uses it. */
typedef int (*cnr_df_image_fn)(const char *ref, const char *platform, struct cnr_df_image_facts *out, void *arg);

/* A facts document (facts.c): {"images": [{"ref", "platform", "missing"}
 * | {"ref", "platform", "id", "manifest", "image_platform", "config",
 * "history"}]}, at most CNR_DF_FACTS_MAX bytes and CNR_DF_FACTS_IMAGES
 * images; config keys are checked by type and unknown ones dropped. */
#define CNR_DF_FACTS_MAX (8u * 1024 * 1024)
#define CNR_DF_FACTS_IMAGES 64
struct cnr_df_facts;
int cnr_df_facts_parse(const char *data, size_t len, struct cnr_df_facts **out, struct cnr_err **err);
void cnr_df_facts_free(struct cnr_df_facts *f);
size_t cnr_df_facts_count(const struct cnr_df_facts *f);
/* A cnr_df_image_fn over a parsed document (arg: the struct cnr_df_facts). */
int cnr_df_facts_lookup(const char *ref, const char *platform, struct cnr_df_image_facts *out, void *arg);
/* Does an image of platform `have` serve a stage of platform `want`? os
 * and arch equal; a wanted variant must match (arm64 without one is v8). */
bool cnr_df_platform_match(const char *want, const char *have);

struct cnr_df_opts {
        const char *file; /* name in messages: "Dockerfile" */
        struct cnr_df_vars build_args;
        const char *target;    /* NULL: the last stage */
        const char *platform;  /* NULL: the host's, e.g. "linux/amd64" */
        cnr_df_image_fn image; /* NULL: every base image unknown */
        void *image_arg;
};

struct cnr_df_step {
        const struct cnr_df_instr *in;
        bool onbuild_trigger; /* a trigger of the base, run at stage start */
        char *origin;         /* triggers: "ONBUILD from image x" / "... stage y" */
        char *text;           /* the instruction after expansion, for people */
        bool layer;           /* changes the filesystem */
        char def_digest[72];  /* "sha256:..." of the step's own definition */
        char cache_key[72];   /* chained with the filesystem before it */
        char *sources;        /* COPY/ADD: content digest of the sources, or NULL */
        bool provisional;     /* depends on facts we do not have (image, URL) */
        char *note;           /* why provisional, or NULL */
        char *created_by;     /* history */
        bool history;         /* makes a history entry */
};

struct cnr_df_stage {
        int index;
        char *name;     /* lower case, or NULL */
        char *display;  /* name or "stage-N" */
        char *base;     /* FROM after expansion */
        int base_stage; /* index, or -1 */
        bool scratch;
        char *image_ref; /* normalised external image, or NULL */
        char *platform;
        int line;
        int *deps; /* stage indexes it needs */
        size_t ndeps;
        struct cnr_df_strv ext_images; /* COPY --from / mount from images */
        struct cnr_df_strv ext_platforms; /* the platform each is wanted for */
        char *image_id;                 /* the base image's config digest, when known */
        char *image_platform;           /* the base image's own platform, when known */
        struct cnr_df_step *steps;
        size_t nsteps;
        bool needed; /* reachable from the target */
        int level;   /* 0 = no dependencies; same level may run in parallel */
        char base_key[72];
        char final_key[72];
        json_t *config;         /* image config after the stage */
        json_t *history;        /* array of history entries */
        struct cnr_df_vars env; /* final ENV, for stages built on this one */
        struct cnr_df_vars args;
        struct cnr_df_strv onbuild;      /* triggers this stage registers */
        bool facts_unknown;              /* base image facts missing */
        const struct cnr_df_instr **ins; /* its instructions */
        size_t nins;
};

struct cnr_df_plan {
        char *file;
        struct cnr_df_ast *ast;
        struct cnr_df_instr **ins;
        size_t nins;
        struct cnr_df_stage *stages;
        size_t nstages;
        int target;
        char *platform;
        struct cnr_df_strv meta_args; /* "NAME=value" of the global scope */
        struct cnr_df_diag *diags;
        size_t ndiags;
        size_t nerrors, nwarnings;
        struct cnr_df_strv unused_build_args;
        bool check_error; /* # check=error=true */
        bool have_facts;  /* an image store answered (opts->image was given) */
        /* ONBUILD triggers parsed at stage starts; steps point into them. */
        struct cnr_df_ast **trigger_asts;
        size_t ntrigger_asts;
        struct cnr_df_instr **trigger_ins;
        size_t ntrigger_ins;
};

/* Parse, validate, expand and plan.  Problems of the Dockerfile are
 * diagnostics in the plan (nerrors > 0), not a failure; -1 only for what
 * is not the Dockerfile's fault. */
int cnr_df_plan(const char *data, size_t len, const struct cnr_df_context *ctx, const struct cnr_df_opts *opts,
                struct cnr_df_plan **out, struct cnr_err **err);
void cnr_df_plan_free(struct cnr_df_plan *p);
void cnr_df_plan_diag(struct cnr_df_plan *p, enum cnr_df_severity sev, int line, const char *rule, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* The external images the stages the target needs name, each once with
 * the platform of the stage that uses it (for the CLI: what to ask the
 * image store about). */
void cnr_df_plan_images(const struct cnr_df_plan *p, struct cnr_df_strv *refs, struct cnr_df_strv *platforms);

/* Normalise an image reference: "alpine" -> "docker.io/library/alpine:latest". */
char *cnr_df_image_normalize(const char *ref);
/* The host platform: "linux/amd64", "linux/arm64/v8"... */
char *cnr_df_host_platform(void);

/* cachekey.c */
void cnr_df_sha256_hex(const void *data, size_t len, char out[72]); /* "sha256:<64 hex>" */
/* Content digest of the context paths a COPY/ADD selects; -1 when a
 * non-wildcard source is missing (*err says which). */
int cnr_df_sources_digest(const struct cnr_df_context *ctx, const struct cnr_df_ignore *ig,
                          const struct cnr_df_strv *srcs, const struct cnr_df_strv *excludes, char out[72],
                          size_t *nmatched, struct cnr_err **err);
/* key = H(parent || "\n" || def) */
void cnr_df_chain_key(const char *parent, const char *def, char out[72]);

/* lint.c: the check rules over a finished plan. */
void cnr_df_lint(struct cnr_df_plan *p, const struct cnr_df_context *ctx, const struct cnr_df_ignore *ig);
/* Is the rule enabled under the # check= directive? */
bool cnr_df_rule_enabled(const char *check, const char *rule);

/* report.c */
char *cnr_df_report_text(const struct cnr_df_plan *p, bool plan);
json_t *cnr_df_report_json(const struct cnr_df_plan *p, bool plan);

#endif
