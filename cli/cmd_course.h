/* SPDX-License-Identifier: MIT */
/* Shared by cmd_course.c, cmd_course_io.c and cmd_course_help.c. */
#ifndef LMSYNC_CLI_CMD_COURSE_H
#define LMSYNC_CLI_CMD_COURSE_H

#include "cli/cli.h"
#include "cli/json.h"
#include "domain/course.h"

/* The help of `course` after its usage line: every subcommand and option,
 * the closed lists from domain/enums.h, so the help and the checks cannot
 * disagree (cmd_course's print_more_help). */
void course_print_more_help(FILE *out);

/* cli_open_store, and refuse a store without the catalogue (a hub's). */
int course_open_store(struct cli *cli, struct store *st);

/* Print a domain error as "lmsync: <msg>" (a dom_err_fn). */
void course_print_error(void *ctx, int col, const char *msg);

/* A course as a JSON object with the export's keys; with_names adds
 * owner_name (for list and show). */
void course_json(struct json *j, struct store *st, const struct course *c, int with_names);
void course_run_json(struct json *j, const struct course_run *r);

int course_run_cmd(struct cli *cli, int argc, char **argv);
int course_export_cmd(struct cli *cli, int argc, char **argv);
int course_import_cmd(struct cli *cli, int argc, char **argv);

#endif
