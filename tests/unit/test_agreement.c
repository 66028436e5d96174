/* SPDX-License-Identifier: MIT */
/* Cooperation agreements (domain/agreement.h) on real store files with the
 * domain tables, between replicas (tests/support/replica.h):
 *
 *  - create: the scope NAME@creator, the parties' lm_member roles (member,
 *    relay for a hub peer), the party and delavtale rows;
 *  - every option's validation, the identity-number guard on free text,
 *    and that a refused create writes nothing;
 *  - items: add, update of the fields given only, prefix resolution;
 *  - notes: append-only (UPDATE and DELETE refused), in time order;
 *  - overdue: due today is not overdue, due yesterday is 1 day, across
 *    month ends and a leap day, fullført never, grouped per responsible;
 *  - who writes: a kommune party (member) writes items and notes, an
 *    observer (reader) and a site with no role are refused, only the
 *    creator names parties;
 *  - both parties updating one item's status at once: last writer wins at
 *    both sites and the losing value is in the conflict table.
 *
 * Sites come from fixed seeds in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/agreement.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "proto/siteid.h"
#include "store/member.h"
#include "store/peer.h"
#include "store/fnr.h"
#include "tests/support/domain_site.h"
#include "tests/support/replica.h"
#include "tests/support/replica_check.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)

struct fx {
	char dir[64];
	struct replica hf, a, b, c, d; /* HF, kommuner A and B, observer C, outsider D */
	char fnr[12];		       /* a valid identity number, for the guard */
	uint64_t now;
};

/* A site whose file and org are both called name. */
static void make_site(struct fx *f, struct replica *r, const char *name, uint8_t seedbyte,
		      const char *kind)
{
	domain_site_make(r, f->dir, name, seedbyte, name, kind);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int n;

	if (f == NULL || tmpdir_make("agreement", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	make_site(f, &f->hf, "St. Olavs HF", 'H', "helseforetak");
	make_site(f, &f->a, "Trondheim kommune", 'A', "kommune");
	make_site(f, &f->b, "Malvik kommune", 'B', "kommune");
	make_site(f, &f->c, "Statsforvalteren", 'C', "nasjonal");
	make_site(f, &f->d, "Orkland kommune", 'D', "kommune");
	/* The first valid identity number born 01.01.90. */
	for (n = 0; n < 100000; n++) {
		snprintf(f->fnr, sizeof(f->fnr), "010190%05d", n);
		if (fnr_valid(f->fnr))
			break;
	}
	f->now = EPOCH_MS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	replica_destroy(&f->hf);
	replica_destroy(&f->a);
	replica_destroy(&f->b);
	replica_destroy(&f->c);
	replica_destroy(&f->d);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void seal(struct fx *f, struct replica *r)
{
	int count;
	lm_err err;

	f->now += 10;
	if (replica_seal(r, f->now, &count, &err) != 0)
		fail_msg("seal %s: %s", r->path, err.msg);
}

static void pull(struct fx *f, struct replica *to, struct replica *from)
{
	lm_err err;

	if (replica_pull(to, from, f->now, SKEW_MS, NULL, &err) != 0)
		fail_msg("%s", err.msg);
}

/* rc must be -1 with a message holding want. */
static void expect_err(int rc, const lm_err *err, const char *want)
{
	if (rc != -1)
		fail_msg("accepted (%d), but should fail with '%s'", rc, want);
	if (strstr(err->msg, want) == NULL)
		fail_msg("failed, but the message does not say '%s': %s", want, err->msg);
}

static void spec_for(struct agreement_spec *s, const char *const *kommuner, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->title = "Samarbeidsavtale mellom St. Olavs HF og kommunene";
	s->kommuner = kommuner;
	s->nkommuner = n;
}

/* HF creates "tr" with kommuner A and B and delavtaler 2 and 10. */
static void create_tr(struct fx *f, char *id, size_t cap)
{
	const char *k[] = {f->a.hex, f->b.hex};
	struct agreement_part parts[2];
	struct agreement_spec s;
	lm_err err;

	spec_for(&s, k, 2);
	assert_int_equal(agreement_part_parse("--part", "2", &parts[0], &err), 0);
	assert_int_equal(agreement_part_parse("--part", "10:Læring og mestring", &parts[1], &err),
			 0);
	s.parts = parts;
	s.nparts = 2;
	s.from = "2026-01-01";
	s.to = "2029-12-31";
	if (agreement_create(&f->hf.st, "tr", &s, id, cap, &err) != 0)
		fail_msg("create: %s", err.msg);
}

static void add_item(struct replica *r, const char *id, const char *responsible, const char *due,
		     const char *status, char item[17])
{
	struct agreement_item_spec s = {"Felles kursplan for KOLS-skole", responsible, due, status,
					0};
	lm_err err;

	if (agreement_item_add(&r->st, id, &s, item, &err) != 0)
		fail_msg("item add at %s: %s", r->path, err.msg);
}

static enum member_role role_of(struct replica *at, const char *scope, struct replica *who)
{
	enum member_role role;
	lm_err err;

	if (member_role(&at->st, scope, who->pk, &role, &err) != 0)
		fail_msg("%s", err.msg);
	return role;
}

/* ---- tests ---- */

static void test_create(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], want[AGREEMENT_ID_MAX + 1];
	struct agreement a;
	struct peer hub;
	lm_err err;

	/* A hub peer gets role relay, so the agreement travels through it. */
	memset(&hub, 0, sizeof(hub));
	memset(hub.id, 'Z', sizeof(hub.id));
	snprintf(hub.addr, sizeof(hub.addr), "127.0.0.1:7411");
	snprintf(hub.name, sizeof(hub.name), "hub");
	hub.is_hub = 1;
	assert_int_equal(peer_add(&f->hf.st, &hub, &err), 0);

	create_tr(f, id, sizeof(id));
	snprintf(want, sizeof(want), "tr@%s", f->hf.hex);
	assert_string_equal(id, want);
	assert_int_equal(agreement_get(&f->hf.st, id, &a, &err), 1);
	assert_string_equal(a.hf, f->hf.hex);
	assert_string_equal(a.status, "under-forhandling");
	assert_string_equal(a.from, "2026-01-01");
	assert_string_equal(a.to, "2029-12-31");
	assert_string_equal(a.next_review, "");
	assert_int_equal(role_of(&f->hf, id, &f->a), ROLE_MEMBER);
	assert_int_equal(role_of(&f->hf, id, &f->b), ROLE_MEMBER);
	assert_int_equal(role_of(&f->hf, id, &f->c), ROLE_NONE);
	assert_int_equal(
	    replica_qint(&f->hf,
			 "SELECT count(*) FROM lm_member WHERE of_scope = '%s' AND "
			 "member = '%s' AND role = 'relay'",
			 id, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"),
	    1);
	assert_int_equal(
	    replica_qint(&f->hf,
			 "SELECT count(*) FROM lm_agreement_party WHERE agreement = "
			 "'%s' AND scope = '%s' AND ((org = '%s' AND role = "
			 "'helseforetak') OR (org IN ('%s', '%s') AND role = 'kommune'))",
			 id, id, f->hf.hex, f->a.hex, f->b.hex),
	    3);
	assert_int_equal(
	    replica_qint(&f->hf,
			 "SELECT count(*) FROM lm_agreement_part WHERE agreement = '%s' "
			 "AND scope = '%s' AND ((number = 2 AND title = '') OR (number = "
			 "10 AND title = 'Læring og mestring')) AND status = "
			 "'under-forhandling'",
			 id, id),
	    2);
	/* Resolving: the NAME, a prefix, the id. */
	assert_int_equal(agreement_resolve(&f->hf.st, "tr", want, sizeof(want), &err), 0);
	assert_string_equal(want, id);
	assert_int_equal(agreement_resolve(&f->hf.st, "tr@", want, sizeof(want), &err), 0);
	assert_int_equal(agreement_resolve(&f->hf.st, id, want, sizeof(want), &err), 0);
	expect_err(agreement_resolve(&f->hf.st, "nope", want, sizeof(want), &err), &err,
		   "no agreement 'nope' here");
	expect_err(agreement_resolve(&f->hf.st, "", want, sizeof(want), &err), &err,
		   "A: give an agreement's id or NAME");
	/* Once only. */
	{
		const char *k[] = {f->a.hex};
		struct agreement_spec s;

		spec_for(&s, k, 1);
		expect_err(agreement_create(&f->hf.st, "tr", &s, want, sizeof(want), &err), &err,
			   "exists already");
		/* A NAME that begins another's still names its own agreement; a
		 * prefix of both names neither. */
		assert_int_equal(agreement_create(&f->hf.st, "tr2", &s, want, sizeof(want), &err),
				 0);
		assert_int_equal(agreement_resolve(&f->hf.st, "tr", want, sizeof(want), &err), 0);
		assert_string_equal(want, id);
		expect_err(agreement_resolve(&f->hf.st, "t", want, sizeof(want), &err), &err,
			   "'t' names 2 agreements here");
	}
	/* The kommune receives it all and sees its own role. */
	seal(f, &f->hf);
	pull(f, &f->a, &f->hf);
	assert_int_equal(agreement_get(&f->a.st, id, &a, &err), 1);
	assert_int_equal(role_of(&f->a, id, &f->a), ROLE_MEMBER);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM lm_agreement_part"), 2);
}

/* Each bad spec is refused with the option named, writing nothing. */
static void test_create_validation(void **state)
{
	struct fx *f = *state;
	const char *ka[] = {f->a.hex}, *kaa[] = {f->a.hex, f->a.hex}, *khf[] = {f->hf.hex},
		   *kbad[] = {"not-a-site"}, *kb[] = {f->b.hex};
	char id[AGREEMENT_ID_MAX + 1], title[64];
	struct agreement_part p, two[2];
	struct agreement_spec s;
	lm_err err;

#define REFUSED(st, want)                                                                          \
	expect_err(agreement_create((st), "x", &s, id, sizeof(id), &err), &err, (want))

	spec_for(&s, ka, 1);
	s.title = "";
	REFUSED(&f->hf.st, "--title: must not be empty");
	snprintf(title, sizeof(title), "Avtale for %s", f->fnr);
	s.title = title;
	REFUSED(&f->hf.st, "--title: holds what looks like a national identity number");
	spec_for(&s, ka, 1);
	s.from = "2026-02-30";
	REFUSED(&f->hf.st, "--from: '2026-02-30'");
	s.from = "2026-01-01";
	s.to = "1/1/2027"; /* 1.1.2027 is a date (dom_parse_date) */
	REFUSED(&f->hf.st, "--to: '1/1/2027' is not a date");
	s.to = "2025-12-31";
	REFUSED(&f->hf.st, "--to: the agreement period ends (2025-12-31) before it begins");
	s.to = NULL;
	s.next_review = "2026-13-01";
	REFUSED(&f->hf.st, "--next-review: '2026-13-01'");
	s.next_review = NULL;
	s.status = "ferdig";
	REFUSED(&f->hf.st, "--status: 'ferdig' is not a status; use under-forhandling");
	s.status = "Til revisjon"; /* the spelling is forgiven */
	two[0].number = 2;
	two[1].number = 2;
	two[0].title[0] = two[1].title[0] = '\0';
	s.parts = two;
	s.nparts = 2;
	REFUSED(&f->hf.st, "--part: delavtale 2 is given twice");
	s.nparts = 0;
	/* Parties. */
	spec_for(&s, ka, 0);
	REFUSED(&f->hf.st, "--kommune: an agreement needs at least one kommune party");
	spec_for(&s, kaa, 2);
	REFUSED(&f->hf.st, "--kommune: site");
	spec_for(&s, khf, 1);
	REFUSED(&f->hf.st, "is the helseforetak party already");
	spec_for(&s, kbad, 1);
	REFUSED(&f->hf.st, "--kommune: 'not-a-site' is not a site id");
	spec_for(&s, ka, 1);
	s.hf = f->b.hex;
	REFUSED(&f->hf.st, "--hf: this site is a helseforetak");
	/* A kommune creating names the HF, and must be a party itself. */
	spec_for(&s, ka, 1);
	REFUSED(&f->a.st, "--hf: this site is no helseforetak (its kind is kommune)");
	spec_for(&s, kb, 1);
	s.hf = f->hf.hex;
	REFUSED(&f->a.st, "--kommune: this site must be a party");
	/* A known kommune is no helseforetak. */
	seal(f, &f->b);
	pull(f, &f->a, &f->b);
	spec_for(&s, ka, 1);
	s.hf = f->b.hex;
	REFUSED(&f->a.st, "--hf: site");
	assert_non_null(strstr(err.msg, "is a kommune, not a helseforetak"));
	/* The NAME. */
	spec_for(&s, ka, 1);
	expect_err(agreement_create(&f->hf.st, "a@b", &s, id, sizeof(id), &err), &err, "NAME");
	/* Nothing of it reached either store. */
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_agreement"), 0);
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_agreement_party"), 0);
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_member"), 0);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_agreement"), 0);
	/* A kommune creating with --hf works, and the HF becomes a member. */
	s.hf = f->hf.hex;
	assert_int_equal(agreement_create(&f->a.st, "ka", &s, id, sizeof(id), &err), 0);
	assert_int_equal(role_of(&f->a, id, &f->hf), ROLE_MEMBER);
#undef REFUSED

	/* --part values. */
	expect_err(agreement_part_parse("--part", "0", &p, &err), &err, "--part");
	expect_err(agreement_part_parse("--part", "100", &p, &err), &err, "--part");
	expect_err(agreement_part_parse("--part", "x:Tittel", &p, &err), &err, "--part");
	expect_err(agreement_part_parse("--part", ":Tittel", &p, &err), &err, "is not a delavtale");
	snprintf(title, sizeof(title), "6:%s", f->fnr);
	expect_err(agreement_part_parse("--part", title, &p, &err), &err,
		   "national identity number");
	assert_int_equal(agreement_part_parse("--part", "6:Kompetanse", &p, &err), 0);
	assert_int_equal(p.number, 6);
	assert_string_equal(p.title, "Kompetanse");
}

static void test_update(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1];
	struct agreement_change c;
	struct agreement a;
	lm_err err;

	create_tr(f, id, sizeof(id));
	memset(&c, 0, sizeof(c));
	c.status = "signert";
	c.next_review = "2027-06-01";
	assert_int_equal(agreement_update(&f->hf.st, id, &c, &err), 0);
	assert_int_equal(agreement_get(&f->hf.st, id, &a, &err), 1);
	assert_string_equal(a.status, "signert");
	assert_string_equal(a.next_review, "2027-06-01");
	assert_string_equal(a.from, "2026-01-01"); /* not given: kept */
	/* The stored start counts against a new end. */
	memset(&c, 0, sizeof(c));
	c.to = "2025-06-30";
	expect_err(agreement_update(&f->hf.st, id, &c, &err), &err, "--to: the agreement period");
	c.to = "2026-02-29";
	expect_err(agreement_update(&f->hf.st, id, &c, &err), &err, "--to: '2026-02-29'");
	memset(&c, 0, sizeof(c));
	c.status = "gammel";
	expect_err(agreement_update(&f->hf.st, id, &c, &err), &err, "--status: 'gammel'");
	memset(&c, 0, sizeof(c));
	c.next_review = ""; /* clears */
	assert_int_equal(agreement_update(&f->hf.st, id, &c, &err), 0);
	assert_int_equal(agreement_get(&f->hf.st, id, &a, &err), 1);
	assert_string_equal(a.next_review, "");
	assert_int_equal(replica_qint(&f->hf, "SELECT next_review IS NULL FROM lm_agreement"), 1);
	/* Delavtaler. */
	assert_int_equal(agreement_part_set_status(&f->hf.st, id, 10, "publisert", &err), 0);
	assert_int_equal(
	    replica_qint(&f->hf, "SELECT count(*) FROM lm_agreement_part WHERE number = 10 AND "
				 "status = 'publisert'"),
	    1);
	expect_err(agreement_part_set_status(&f->hf.st, id, 7, "signert", &err), &err,
		   "has no delavtale 7");
	expect_err(agreement_part_set_status(&f->hf.st, id, 10, "klar", &err), &err,
		   "--part-status: 'klar'");
}

static void test_items(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], item[17], got[17], what[64], agr[AGREEMENT_ID_MAX + 1];
	struct agreement_item_spec s;
	lm_err err;

	create_tr(f, id, sizeof(id));
	add_item(&f->hf, id, "kommune", "2026-03-01", NULL, item);
	assert_int_equal(strlen(item), 16);
	assert_int_equal(replica_qint(&f->hf,
				      "SELECT count(*) FROM lm_agreement_item WHERE id = '%s' AND "
				      "scope = '%s' AND status = 'åpen' AND part IS NULL AND "
				      "responsible = 'kommune' AND due = '2026-03-01'",
				      item, id),
			 1);
	/* Validation of add. */
#define ADD_REFUSED(want) expect_err(agreement_item_add(&f->hf.st, id, &s, got, &err), &err, (want))
	memset(&s, 0, sizeof(s));
	s.responsible = "felles";
	s.due = "2026-04-01";
	ADD_REFUSED("--what");
	s.what = "";
	ADD_REFUSED("--what: must not be empty");
	snprintf(what, sizeof(what), "Ring %s", f->fnr);
	s.what = what;
	ADD_REFUSED("--what: holds what looks like a national identity number");
	s.what = "Opplæring";
	s.responsible = "staten";
	ADD_REFUSED("--responsible: 'staten' is not a responsible party");
	s.responsible = "Felles";
	s.due = "2026-04-31";
	ADD_REFUSED("--due: '2026-04-31'");
	s.due = "2026-04-30";
	s.status = "ferdig";
	ADD_REFUSED("--status: 'ferdig' is not a status");
	s.status = "pagar"; /* ASCII for pågår */
	s.part = 6;
	ADD_REFUSED("--part: agreement");
	assert_non_null(strstr(err.msg, "has no delavtale 6"));
	s.part = 10;
	assert_int_equal(agreement_item_add(&f->hf.st, id, &s, got, &err), 0);
	assert_int_equal(replica_qint(&f->hf,
				      "SELECT count(*) FROM lm_agreement_item WHERE id = '%s' AND "
				      "status = 'pågår' AND part = 10 AND responsible = 'felles'",
				      got),
			 1);
	expect_err(agreement_item_add(&f->hf.st, "nope@x", &s, got, &err), &err,
		   "no agreement 'nope@x' here");
#undef ADD_REFUSED

	/* Update changes what is given, nothing else. */
	memset(&s, 0, sizeof(s));
	s.status = "fullført";
	assert_int_equal(agreement_item_update(&f->hf.st, id, item, &s, &err), 0);
	assert_int_equal(replica_qint(&f->hf,
				      "SELECT count(*) FROM lm_agreement_item WHERE id = '%s' AND "
				      "status = 'fullført' AND responsible = 'kommune' AND due = "
				      "'2026-03-01' AND what = 'Felles kursplan for KOLS-skole'",
				      item),
			 1);
	memset(&s, 0, sizeof(s));
	s.due = "2026-05-01";
	s.what = "Ny kursplan";
	s.responsible = "helseforetak";
	assert_int_equal(agreement_item_update(&f->hf.st, id, item, &s, &err), 0);
	assert_int_equal(
	    replica_qint(&f->hf,
			 "SELECT count(*) FROM lm_agreement_item WHERE id = '%s' AND "
			 "status = 'fullført' AND responsible = 'helseforetak' AND due = "
			 "'2026-05-01' AND what = 'Ny kursplan'",
			 item),
	    1);
	memset(&s, 0, sizeof(s));
	expect_err(agreement_item_update(&f->hf.st, id, item, &s, &err), &err, "nothing to change");
	s.status = "klar";
	expect_err(agreement_item_update(&f->hf.st, id, item, &s, &err), &err, "--status: 'klar'");
	s.status = "avvik";
	expect_err(agreement_item_update(&f->hf.st, id, "00000000000000ff", &s, &err), &err,
		   "has no item 00000000000000ff");

	/* Resolving: the id, 4 or more of its first digits; ambiguity said. */
	assert_int_equal(agreement_item_resolve(&f->hf.st, NULL, item, agr, sizeof(agr), got, &err),
			 0);
	assert_string_equal(got, item);
	assert_string_equal(agr, id);
	snprintf(what, sizeof(what), "%.4s", item);
	assert_int_equal(agreement_item_resolve(&f->hf.st, id, what, NULL, 0, got, &err), 0);
	assert_string_equal(got, item);
	snprintf(what, sizeof(what), "%.3s", item);
	expect_err(agreement_item_resolve(&f->hf.st, id, what, NULL, 0, got, &err), &err,
		   "is not an item id");
	expect_err(agreement_item_resolve(&f->hf.st, id, "ABCD", NULL, 0, got, &err), &err,
		   "is not an item id");
	replica_sqlf(&f->hf,
		     "INSERT INTO lm_agreement_item(agreement, id, scope, what, responsible, due, "
		     "status) VALUES ('%s', 'abcd000000000001', '%s', 'x', 'felles', "
		     "'2026-01-01', 'åpen'), ('%s', 'abcd000000000002', '%s', 'y', 'felles', "
		     "'2026-01-01', 'åpen')",
		     id, id, id, id);
	expect_err(agreement_item_resolve(&f->hf.st, id, "abcd", NULL, 0, got, &err), &err,
		   "'abcd' begins 2 item ids");
	assert_int_equal(
	    agreement_item_resolve(&f->hf.st, id, "abcd000000000002", NULL, 0, got, &err), 0);
	expect_err(agreement_item_resolve(&f->hf.st, id, "eeee", NULL, 0, got, &err), &err,
		   "no item 'eeee'");
}

struct note_log {
	char text[1024];
	size_t n;
};

static int log_note(const struct agreement_note *n, void *ctx)
{
	struct note_log *l = ctx;

	l->n += (size_t)snprintf(l->text + l->n, sizeof(l->text) - l->n, "%s:%s:%s|", n->kind,
				 n->item, n->body);
	return 0;
}

static void test_notes(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], item[17], note[17], body[64], want[256];
	struct note_log l;
	lm_err err;

	create_tr(f, id, sizeof(id));
	add_item(&f->hf, id, "felles", "2026-03-01", NULL, item);
	assert_int_equal(
	    agreement_note_add(&f->hf.st, id, NULL, "notat", "Første møte", note, &err), 0);
	assert_int_equal(
	    agreement_note_add(&f->hf.st, id, item, "avvik", "Ikke levert", note, &err), 0);
	snprintf(body, sizeof(body), "%.5s", item);
	assert_int_equal(
	    agreement_note_add(&f->hf.st, id, body, "notat", "Linje 1\nLinje 2", note, &err), 0);
	assert_int_equal(
	    replica_qint(&f->hf,
			 "SELECT count(*) FROM lm_agreement_note WHERE author = '%s' AND "
			 "scope = '%s'",
			 f->hf.hex, id),
	    3);
	memset(&l, 0, sizeof(l));
	assert_int_equal(agreement_notes(&f->hf.st, id, 0, log_note, &l, &err), 0);
	snprintf(want, sizeof(want),
		 "notat::Første møte|avvik:%s:Ikke levert|notat:%s:Linje 1\nLinje 2|", item, item);
	assert_string_equal(l.text, want);
	/* The last 2, still in time order. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(agreement_notes(&f->hf.st, id, 2, log_note, &l, &err), 0);
	assert_non_null(strstr(want, l.text));
	assert_int_equal(strncmp(l.text, "avvik:", 6), 0);
	/* Checks. */
	snprintf(body, sizeof(body), "Pasient %s", f->fnr);
	expect_err(agreement_note_add(&f->hf.st, id, NULL, "notat", body, note, &err), &err,
		   "TEXT: holds what looks like a national identity number");
	expect_err(agreement_note_add(&f->hf.st, id, NULL, "notat", "", note, &err), &err,
		   "TEXT: must not be empty");
	expect_err(agreement_note_add(&f->hf.st, id, "ffff", "notat", "x", note, &err), &err,
		   "no item 'ffff'");
	/* Append-only: no change, no deletion, by any SQLite client. */
	assert_int_equal(replica_exec(&f->hf, "UPDATE lm_agreement_note SET body = 'endret'", &err),
			 -1);
	assert_non_null(strstr(err.msg, "agreement notes are never changed"));
	assert_int_equal(replica_exec(&f->hf, "DELETE FROM lm_agreement_note", &err), -1);
	assert_non_null(strstr(err.msg, "agreement notes are never deleted"));
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_agreement_note WHERE body = "
					     "'endret'"),
			 0);
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_agreement_note"), 3);
}

struct overdue_log {
	char text[1024];
	size_t n;
};

static int log_overdue(const struct agreement_item *it, void *ctx)
{
	struct overdue_log *l = ctx;

	l->n += (size_t)snprintf(l->text + l->n, sizeof(l->text) - l->n, "%s %s %ld|",
				 it->responsible, it->due, it->days_overdue);
	return 0;
}

static const char *overdue_on(struct fx *f, const char *id, const char *date, struct overdue_log *l)
{
	lm_err err;

	memset(l, 0, sizeof(*l));
	if (agreement_overdue(&f->hf.st, id, date, log_overdue, l, &err) != 0)
		fail_msg("overdue: %s", err.msg);
	return l->text;
}

static void test_overdue(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], item[17];
	struct overdue_log l;
	lm_err err;

	create_tr(f, id, sizeof(id));
	add_item(&f->hf, id, "felles", "2026-03-10", NULL, item);
	add_item(&f->hf, id, "kommune", "2026-03-09", "pågår", item);
	add_item(&f->hf, id, "helseforetak", "2026-02-28", "avvik", item);
	add_item(&f->hf, id, "helseforetak", "2024-02-28", NULL, item);
	add_item(&f->hf, id, "kommune", "2020-01-01", "fullført", item); /* done: never */
	/* Due today is not overdue; due yesterday is 1 day. */
	assert_string_equal(overdue_on(f, id, "2026-03-10", &l),
			    "helseforetak 2024-02-28 741|helseforetak 2026-02-28 10|kommune "
			    "2026-03-09 1|");
	assert_string_equal(overdue_on(f, NULL, "2026-03-11", &l),
			    "helseforetak 2024-02-28 742|helseforetak 2026-02-28 11|kommune "
			    "2026-03-09 2|felles 2026-03-10 1|");
	/* Across a month end, and the leap day of 2024. */
	assert_string_equal(overdue_on(f, id, "2026-03-01", &l),
			    "helseforetak 2024-02-28 732|helseforetak 2026-02-28 1|");
	assert_string_equal(overdue_on(f, id, "2024-03-01", &l), "helseforetak 2024-02-28 2|");
	assert_string_equal(overdue_on(f, id, "2024-02-28", &l), "");
	expect_err(agreement_overdue(&f->hf.st, id, "2026-02-29", log_overdue, &l, &err), &err,
		   "--date: '2026-02-29'");
}

/* Only the parties write; the creator alone names them. */
static void test_only_parties_write(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], item[17], note[17];
	struct agreement_item_spec s = {"Opplæring", "kommune", "2026-06-01", NULL, 0};
	struct agreement_change c = {"signert", NULL, NULL, NULL};
	lm_err err;

	create_tr(f, id, sizeof(id));
	assert_int_equal(agreement_party_add(&f->hf.st, id, f->c.hex, "observatør", &err), 1);
	assert_int_equal(agreement_party_add(&f->hf.st, id, f->c.hex, "observator", &err), 0);
	assert_int_equal(role_of(&f->hf, id, &f->c), ROLE_READER);
	expect_err(agreement_party_add(&f->hf.st, id, f->d.hex, "helseforetak", &err), &err,
		   "--role: an agreement has one helseforetak party");
	expect_err(agreement_party_add(&f->hf.st, id, f->d.hex, "eier", &err), &err,
		   "--role: 'eier'");
	expect_err(agreement_party_add(&f->hf.st, id, f->hf.hex, "kommune", &err), &err,
		   "helseforetak party");
	seal(f, &f->hf);
	pull(f, &f->a, &f->hf);
	pull(f, &f->c, &f->hf);

	/* Kommune A, a member, writes items, notes and the agreement. */
	assert_int_equal(agreement_item_add(&f->a.st, id, &s, item, &err), 0);
	assert_int_equal(agreement_note_add(&f->a.st, id, item, "avvik", "Forsinket", note, &err),
			 0);
	assert_int_equal(agreement_update(&f->a.st, id, &c, &err), 0);
	/* ... but names no parties. */
	expect_err(agreement_party_add(&f->a.st, id, f->d.hex, "kommune", &err), &err,
		   "only the site that created agreement");
	/* Observer C receives, and writes nothing. */
	expect_err(agreement_item_add(&f->c.st, id, &s, item, &err), &err,
		   "this site is an observer (observatør)");
	expect_err(agreement_note_add(&f->c.st, id, NULL, "notat", "Hei", note, &err), &err,
		   "observer");
	expect_err(agreement_update(&f->c.st, id, &c, &err), &err, "observer");
	/* Outsider D holds nothing of it, and the store refuses its writes. */
	expect_err(agreement_item_add(&f->d.st, id, &s, item, &err), &err, "no agreement");
	{
		char sql[512];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO lm_agreement_item(agreement, id, scope, what, responsible, "
			 "due, status) VALUES ('%s', '0000000000000001', '%s', 'x', 'felles', "
			 "'2026-01-01', 'åpen')",
			 id, id);
		assert_int_equal(replica_exec(&f->d, sql, &err), -1);
		assert_non_null(strstr(err.msg, "has no role in this scope"));
		assert_int_equal(replica_exec(&f->c, sql, &err), -1);
		assert_non_null(strstr(err.msg, "has no role in this scope"));
		/* A member writes rows of its own agreement only: an item keyed to
		 * another agreement but put in this one's scope, which a site
		 * party to both would list under the other, is refused here and
		 * would be quarantined anywhere else. */
		snprintf(sql, sizeof(sql),
			 "INSERT INTO lm_agreement_item(agreement, id, scope, what, responsible, "
			 "due, status) VALUES ('annen@%064d', '0000000000000002', '%s', 'x', "
			 "'felles', '2026-01-01', 'åpen')",
			 0, id);
		assert_int_equal(replica_exec(&f->a, sql, &err), -1);
		assert_non_null(strstr(err.msg, "CHECK constraint failed"));
	}
	assert_int_equal(replica_int(&f->d, "SELECT count(*) FROM lm_agreement_item"), 0);
	/* A's writes reach the HF, which applies them. */
	seal(f, &f->a);
	pull(f, &f->hf, &f->a);
	assert_int_equal(
	    replica_qint(&f->hf, "SELECT count(*) FROM lm_agreement_item WHERE id = '%s'", item),
	    1);
	assert_int_equal(replica_qint(&f->hf,
				      "SELECT count(*) FROM lm_agreement_note WHERE author "
				      "= '%s' AND kind = 'avvik'",
				      f->a.hex),
			 1);
	assert_int_equal(replica_int(&f->hf, "SELECT count(*) FROM lm_agreement WHERE status = "
					     "'signert'"),
			 1);
	/* The HF cannot touch A's note (owner policy), nor anyone (append-only). */
	assert_int_equal(replica_exec(&f->hf, "UPDATE lm_agreement_note SET body = 'x'", &err), -1);
}

static char *dump_items(struct replica *r)
{
	return replica_query_text(
	    r, "SELECT agreement, id, part, what, responsible, due, status FROM lm_agreement_item "
	       "ORDER BY agreement, id");
}

/* Both parties change one item's status before seeing the other's change:
 * the later write wins at both sites, and the loser is kept. */
static void test_concurrent_update(void **state)
{
	struct fx *f = *state;
	char id[AGREEMENT_ID_MAX + 1], item[17];
	struct agreement_item_spec s;
	lm_err err;

	create_tr(f, id, sizeof(id));
	add_item(&f->hf, id, "felles", "2026-03-01", NULL, item);
	seal(f, &f->hf);
	pull(f, &f->a, &f->hf);
	replica_assert_same("items", &f->hf, &f->a, dump_items);

	memset(&s, 0, sizeof(s));
	s.status = "avvik";
	assert_int_equal(agreement_item_update(&f->hf.st, id, item, &s, &err), 0);
	seal(f, &f->hf); /* the earlier write */
	s.status = "fullført";
	assert_int_equal(agreement_item_update(&f->a.st, id, item, &s, &err), 0);
	seal(f, &f->a); /* the later one: it wins */
	pull(f, &f->a, &f->hf);
	pull(f, &f->hf, &f->a);
	replica_assert_same("items", &f->hf, &f->a, dump_items);
	assert_int_equal(replica_qint(&f->hf,
				      "SELECT count(*) FROM lm_agreement_item WHERE id = '%s' AND "
				      "status = 'fullført'",
				      item),
			 1);
	/* The loser arrived at A, which held the winner: kept there. */
	assert_int_equal(
	    replica_qint(&f->a,
			 "SELECT count(*) FROM conflict WHERE tbl = 'lm_agreement_item' "
			 "AND col = 'status' AND loser_value = 'avvik' AND pk LIKE "
			 "'%%%s%%'",
			 item),
	    1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_items, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overdue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_parties_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_update, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
