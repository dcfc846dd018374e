/* The planner's private state, shared by plan.c (stages, ARG scoping,
 * RUN/COPY/ADD, the graph) and imgconfig.c (the image config and history
 * a stage implies).  Not part of the front end's interface (df.h). */
#ifndef CNR_DF_PLANNER_H
#define CNR_DF_PLANNER_H

#include "helpers/buildd/frontend/df.h"

#define CNR_DF_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct planner {
        struct cnr_df_plan *p;
        const struct cnr_df_opts *o;
        const struct cnr_df_context *ctx;
        struct cnr_df_ignore *ig;
        struct cnr_df_vars platform;      /* BUILDPLATFORM, TARGETOS, ... */
        struct cnr_df_vars meta;          /* meta ARGs that have a value */
        struct cnr_df_vars meta_defaults; /* the same without --build-arg */
        struct cnr_df_strv meta_declared;
        struct cnr_df_strv consumed; /* build args that some ARG declared */
};

/* The state of the stage being dispatched. */
struct sstate {
        struct planner *pl;
        struct cnr_df_stage *st;
        struct cnr_df_vars env;      /* ENV */
        struct cnr_df_vars args;     /* declared ARGs with a value */
        struct cnr_df_strv declared; /* every declared ARG name */
        char *workdir;
        char *user;
        struct cnr_df_strv shell;
        bool cmd_set;
        json_t *config;
        json_t *history;
        char fs_key[72];
        struct cnr_df_strv unmatched;
};

/* plan.c: expansion with the stage's scope, and small helpers. */
int cnr_df_sexpand(struct sstate *s, const char *w, char **out, struct cnr_err **err);
int cnr_df_sexpand_words(struct sstate *s, const char *w, struct cnr_df_strv *out, struct cnr_err **err);
json_t *cnr_df_strv_json(const struct cnr_df_strv *sv);
char *cnr_df_strv_join(const struct cnr_df_strv *sv, const char *sep);
/* argv of a RUN/CMD/ENTRYPOINT: exec form as is, shell form under SHELL. */
void cnr_df_command_argv(struct sstate *s, const struct cnr_df_instr *in, size_t skip, struct cnr_df_strv *argv);
/* rel against base, cleaned, absolute. */
char *cnr_df_path_join(const char *base, const char *rel);

/* imgconfig.c: the config and history. */
/* Start a stage's config, history, ENV, WORKDIR, USER and SHELL from its
 * base: a stage of this Dockerfile (base != NULL), an image with facts
 * (facts->known), or scratch / an image without facts. */
void cnr_df_config_start(struct sstate *s, const struct cnr_df_stage *base, const struct cnr_df_image_facts *facts);
/* The instructions that only change the config (ENV, LABEL, WORKDIR, USER,
 * VOLUME, EXPOSE, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK,
 * MAINTAINER, ONBUILD): fill the step and its definition.  -1 after a
 * diagnostic. */
int cnr_df_config_instr(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def);
/* Append the step's history entry, if it makes one. */
void cnr_df_config_history(struct sstate *s, const struct cnr_df_step *step);
/* Rebuild config Env from the ENV scope. */
void cnr_df_config_env(struct sstate *s);

#endif
