/* SPDX-License-Identifier: MIT */
/* What the files of `lmsync agreement` share (cmd_agreement.c,
 * cmd_agreement_item.c, cmd_agreement_view.c); not for other commands. */
#ifndef LMSYNC_CLI_CMD_AGREEMENT_H
#define LMSYNC_CLI_CMD_AGREEMENT_H

#include "cli/cli.h"
#include "cli/json.h"
#include "domain/agreement.h"

/* Open the store, which must hold the coordinators' tables (a hub's does
 * not: it relays agreements without reading them). */
int agr_open(struct cli *cli, struct store *st);

/* Resolve the agreement argument; on error print it, close the store and
 * return EXIT_FAIL. */
int agr_resolve(struct store *st, const char *arg, char *id, size_t cap);

/* Today's date here, YYYY-MM-DD. */
void agr_today(char out[11]);

/* The printf width that pads s to width characters (not bytes). */

/* One item as a JSON object (days_overdue included when with_days). */
void agr_item_json(struct json *j, const struct agreement_item *it, int with_days);

/* One item as a text line, indented by indent spaces. */
void agr_item_line(const struct agreement_item *it, int indent);

/* `agreement item add|update|list` and `agreement note`
 * (cmd_agreement_item.c). */
int agr_item_run(struct cli *cli, int argc, char **argv);
int agr_note_cmd(struct cli *cli, int argc, char **argv);

/* `agreement show`, `list` and `overdue` (cmd_agreement_view.c). */
int agr_show_cmd(struct cli *cli, int argc, char **argv);
int agr_list_cmd(struct cli *cli, int argc, char **argv);
int agr_overdue_cmd(struct cli *cli, int argc, char **argv);

#endif
