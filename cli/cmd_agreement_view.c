/* SPDX-License-Identifier: MIT */
/* `lmsync agreement show|list|overdue`: what the agreements hold, for
 * people and as JSON (see cmd_agreement.c for the command and its help). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_agreement.h"
#include "domain/org.h"
#include "domain/schema.h"

/* ---- show ---- */

struct show {
	struct store *st;
	struct json j;
	int as_json, count;
};

static int show_party(const struct agreement_party *p, void *ctx)
{
	struct show *s = ctx;
	char name[DOM_TEXT_SHORT + 1];

	org_name(s->st, p->org, name, sizeof(name));
	if (s->as_json) {
		json_object_begin(&s->j);
		json_kv_str(&s->j, "org", p->org);
		json_kv_str(&s->j, "name", name);
		json_kv_str(&s->j, "role", p->role);
		json_kv_str(&s->j, "contact", p->contact);
		json_object_end(&s->j);
	} else {
		/* org_name falls back to the short id: no need to print it twice. */
		printf("  %-*s %s (%.7s)%s%s\n", cli_pad(p->role, 13), p->role,
		       strncmp(name, p->org, 7) == 0 ? "site" : name, p->org,
		       p->contact[0] ? "  " : "", p->contact);
	}
	s->count++;
	return 0;
}

static int show_part(const struct agreement_part *p, void *ctx)
{
	struct show *s = ctx;

	if (s->as_json) {
		json_object_begin(&s->j);
		json_kv_int(&s->j, "number", p->number);
		json_kv_str(&s->j, "title", p->title);
		json_kv_str(&s->j, "status", p->status);
		json_kv_str(&s->j, "next_review", p->next_review);
		json_object_end(&s->j);
	} else {
		printf("  %2d  %-*s %s\n", p->number, cli_pad(p->status, 18), p->status, p->title);
	}
	s->count++;
	return 0;
}

static int show_item(const struct agreement_item *it, void *ctx)
{
	struct show *s = ctx;

	if (s->as_json)
		agr_item_json(&s->j, it, 0);
	else
		agr_item_line(it, 2);
	s->count++;
	return 0;
}

static int show_note(const struct agreement_note *n, void *ctx)
{
	struct show *s = ctx;
	char name[DOM_TEXT_SHORT + 1];

	org_name(s->st, n->author, name, sizeof(name));
	if (s->as_json) {
		json_object_begin(&s->j);
		json_kv_str(&s->j, "author", n->author);
		json_kv_str(&s->j, "author_name", name);
		json_kv_str(&s->j, "id", n->id);
		json_key(&s->j, "item");
		if (n->item[0])
			json_str(&s->j, n->item);
		else
			json_null(&s->j);
		json_kv_str(&s->j, "kind", n->kind);
		json_kv_str(&s->j, "body", n->body);
		json_kv_str(&s->j, "at", n->at);
		json_object_end(&s->j);
	} else {
		printf("  %.16s  %-6s %s%s%s%s: %s\n", n->at, n->kind, name,
		       n->item[0] ? " (item " : "", n->item, n->item[0] ? ")" : "", n->body);
	}
	s->count++;
	return 0;
}

#define SHOW_NOTES 20

/* The lists of show, each under its heading or JSON key. */
static int show_lists(struct show *s, const char *id, lm_err *err)
{
	if (s->as_json)
		json_key(&s->j, "parties"), json_array_begin(&s->j);
	else
		printf("Parties:\n");
	if (agreement_parties(s->st, id, show_party, s, err) != 0)
		return -1;
	if (s->as_json)
		json_array_end(&s->j), json_key(&s->j, "parts"), json_array_begin(&s->j);
	else
		printf("Delavtaler:\n");
	s->count = 0;
	if (agreement_parts(s->st, id, show_part, s, err) != 0)
		return -1;
	if (!s->as_json && s->count == 0)
		printf("  (none)\n");
	if (s->as_json)
		json_array_end(&s->j), json_key(&s->j, "items"), json_array_begin(&s->j);
	else
		printf("Items:\n");
	s->count = 0;
	if (agreement_items(s->st, id, NULL, show_item, s, err) != 0)
		return -1;
	if (!s->as_json && s->count == 0)
		printf("  (none; `lmsync agreement item add` adds one)\n");
	if (s->as_json)
		json_array_end(&s->j), json_key(&s->j, "notes"), json_array_begin(&s->j);
	else
		printf("Notes and avvik (the latest %d):\n", SHOW_NOTES);
	s->count = 0;
	if (agreement_notes(s->st, id, SHOW_NOTES, show_note, s, err) != 0)
		return -1;
	if (!s->as_json && s->count == 0)
		printf("  (none)\n");
	if (s->as_json)
		json_array_end(&s->j);
	return 0;
}

static int json_only(int argc, char **argv, int *as_json)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*as_json = 0;
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			*as_json = 1;
		else
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

int agr_show_cmd(struct cli *cli, int argc, char **argv)
{
	char id[AGREEMENT_ID_MAX + 1], name[DOM_TEXT_SHORT + 1];
	struct agreement a;
	struct store st;
	struct show s;
	lm_err err;
	int rc;

	memset(&s, 0, sizeof(s));
	if (json_only(argc, argv, &s.as_json) != EXIT_OK)
		return EXIT_USAGE;
	if (optind != argc - 1)
		return cli_usage(&cmd_agreement, "agreement show takes one agreement A");
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	s.st = &st;
	rc = agreement_get(&st, id, &a, &err);
	if (rc > 0) {
		org_name(&st, a.hf, name, sizeof(name));
		if (s.as_json) {
			json_init(&s.j, stdout);
			json_object_begin(&s.j);
			json_kv_str(&s.j, "id", a.id);
			json_kv_str(&s.j, "title", a.title);
			json_kv_str(&s.j, "hf", a.hf);
			json_kv_str(&s.j, "hf_name", name);
			json_kv_str(&s.j, "from", a.from);
			json_kv_str(&s.j, "to", a.to);
			json_kv_str(&s.j, "status", a.status);
			json_kv_str(&s.j, "next_review", a.next_review);
			json_kv_str(&s.j, "updated_at", a.updated_at);
		} else {
			printf(
			    "Agreement %s\n  Title:        %s\n  Helseforetak: %s\n  Period:    "
			    "   %s to %s\n  Status:       %s\n  Next review:  %s\n  Updated:     "
			    " %s\n",
			    a.id, a.title, name, a.from[0] ? a.from : "?", a.to[0] ? a.to : "?",
			    a.status, a.next_review[0] ? a.next_review : "-", a.updated_at);
		}
		rc = show_lists(&s, id, &err) == 0 ? 1 : -1;
		if (s.as_json) {
			json_object_end(&s.j);
			json_finish(&s.j);
		}
	} else if (rc == 0) {
		lm_errf(&err, "agreement %s is gone from this store", id);
	}
	store_close(&st);
	return rc > 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

/* ---- list ---- */

struct list {
	struct store *st;
	struct json j;
	int as_json, count;
	char me[65], role[32]; /* this site, and its role in the agreement at hand */
};

static int find_role(const struct agreement_party *p, void *ctx)
{
	struct list *l = ctx;

	if (strcmp(p->org, l->me) != 0)
		return 0;
	snprintf(l->role, sizeof(l->role), "%s", p->role);
	return 1;
}

static int list_one(const struct agreement *a, void *ctx)
{
	struct list *l = ctx;
	char name[DOM_TEXT_SHORT + 1];
	lm_err err;

	snprintf(l->role, sizeof(l->role), "%s", "");
	if (agreement_parties(l->st, a->id, find_role, l, &err) != 0)
		snprintf(l->role, sizeof(l->role), "%s", "?");
	org_name(l->st, a->hf, name, sizeof(name));
	if (l->as_json) {
		json_object_begin(&l->j);
		json_kv_str(&l->j, "id", a->id);
		json_kv_str(&l->j, "title", a->title);
		json_kv_str(&l->j, "hf", a->hf);
		json_kv_str(&l->j, "hf_name", name);
		json_kv_str(&l->j, "status", a->status);
		json_kv_str(&l->j, "next_review", a->next_review);
		json_kv_str(&l->j, "this_site", l->role);
		json_object_end(&l->j);
	} else {
		if (l->count == 0)
			printf("%-17s %-17s %-11s %-13s %s\n", "NAME", "STATUS", "NEXT REVIEW",
			       "THIS SITE", "TITLE (HELSEFORETAK)");
		printf("%-17.*s %-17s %-11s %-*s %s (%s)\n", (int)strcspn(a->id, "@"), a->id,
		       a->status, a->next_review[0] ? a->next_review : "-",
		       cli_pad(l->role[0] ? l->role : "-", 13), l->role[0] ? l->role : "-",
		       a->title, name);
	}
	l->count++;
	return 0;
}

int agr_list_cmd(struct cli *cli, int argc, char **argv)
{
	struct store st;
	struct list l;
	lm_err err;
	int rc;

	memset(&l, 0, sizeof(l));
	if (json_only(argc, argv, &l.as_json) != EXIT_OK)
		return EXIT_USAGE;
	if (optind != argc)
		return cli_usage(&cmd_agreement, "agreement list takes no arguments");
	if (agr_open(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	l.st = &st;
	rc = domain_site_hex(&st, l.me, &err);
	if (rc == 0 && l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	if (rc == 0)
		rc = agreement_list(&st, list_one, &l, &err);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!l.as_json && l.count == 0)
		printf("No agreements here. `lmsync agreement create` makes one; those of other "
		       "sites arrive once they make this site a party.\n");
	return EXIT_OK;
}

/* ---- overdue ---- */

struct overdue {
	struct store *st;
	struct json j;
	int as_json, count;
	char agreement[AGREEMENT_ID_MAX + 1], responsible[32]; /* the group at hand */
};

static int overdue_one(const struct agreement_item *it, void *ctx)
{
	struct overdue *o = ctx;
	int new_agreement = strcmp(o->agreement, it->agreement) != 0;
	int new_group = new_agreement || strcmp(o->responsible, it->responsible) != 0;
	struct agreement a;
	lm_err err;

	a.title[0] = '\0';
	if (new_agreement && agreement_get(o->st, it->agreement, &a, &err) <= 0)
		snprintf(a.title, sizeof(a.title), "%s", "");
	if (o->as_json) {
		if (new_group && o->count > 0)
			json_array_end(&o->j), json_object_end(&o->j);
		if (new_agreement && o->count > 0)
			json_array_end(&o->j), json_object_end(&o->j);
		if (new_agreement) {
			json_object_begin(&o->j);
			json_kv_str(&o->j, "agreement", it->agreement);
			json_kv_str(&o->j, "title", a.title);
			json_key(&o->j, "groups");
			json_array_begin(&o->j);
		}
		if (new_group) {
			json_object_begin(&o->j);
			json_kv_str(&o->j, "responsible", it->responsible);
			json_key(&o->j, "items");
			json_array_begin(&o->j);
		}
		agr_item_json(&o->j, it, 1);
	} else {
		if (new_agreement)
			printf("%s%s  %s\n", o->count ? "\n" : "", it->agreement, a.title);
		if (new_group)
			printf("  %s:\n", it->responsible);
		printf("    %s  due %s  %ld day%s overdue  %-*s  %s\n", it->id, it->due,
		       it->days_overdue, it->days_overdue == 1 ? "" : "s", cli_pad(it->status, 8),
		       it->status, it->what);
	}
	snprintf(o->agreement, sizeof(o->agreement), "%s", it->agreement);
	snprintf(o->responsible, sizeof(o->responsible), "%s", it->responsible);
	o->count++;
	return 0;
}

int agr_overdue_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"date", required_argument, NULL, 'D'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char id[AGREEMENT_ID_MAX + 1], today[11], date_buf[11];
	const char *date = NULL;
	struct overdue o;
	struct store st;
	lm_err err;
	int c, rc;

	memset(&o, 0, sizeof(o));
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 'D')
			date = optarg;
		else if (c == 'j')
			o.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc - 1)
		return cli_usage(&cmd_agreement, "agreement overdue takes at most one agreement A");
	if (date == NULL) {
		agr_today(today);
		date = today;
	}
	if (dom_parse_date_opt("--date", &date, date_buf, &err) != 0)
		return cli_fail("%s", err.msg);
	if (agr_open(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (optind == argc - 1 && agr_resolve(&st, argv[optind], id, sizeof(id)) != EXIT_OK)
		return EXIT_FAIL;
	o.st = &st;
	if (o.as_json) {
		json_init(&o.j, stdout);
		json_array_begin(&o.j);
	}
	rc = agreement_overdue(&st, optind == argc - 1 ? id : NULL, date, overdue_one, &o, &err);
	if (o.as_json) {
		if (o.count > 0)
			json_array_end(&o.j), json_object_end(&o.j), json_array_end(&o.j),
			    json_object_end(&o.j);
		json_array_end(&o.j);
		json_finish(&o.j);
	}
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!o.as_json && o.count == 0)
		printf("Nothing overdue on %s.\n", date);
	return EXIT_OK;
}
