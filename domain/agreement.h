/* SPDX-License-Identifier: MIT */
/* Cooperation agreements (samarbeidsavtaler): by law every kommune has one
 * with its helseforetak (HF), a framework agreement with numbered
 * sub-agreements (delavtaler; 2 and 10 cover læring og mestring, 6
 * kompetanse). Each agreement is a governed scope of its own (store/
 * member.h), NAME@ROOT with the creating site as ROOT, so only its parties
 * and observers receive it:
 *
 *   lm_agreement       the agreement (id = scope)        either party writes
 *   lm_agreement_party who is a party, in which role     the root alone
 *   lm_agreement_part  its delavtaler                    either party
 *   lm_agreement_item  follow-up points with due dates   either party
 *   lm_agreement_note  notes and avvik (deviations)      each its own, never
 *                                                        changed (append-only)
 *
 * Roles in lm_member: kommune and helseforetak parties `member`, observers
 * `reader`, and every hub this site peers with `relay`, so the agreement
 * travels through the region's hub and nowhere else.
 *
 * Every function validates what it is given before anything is written and
 * names the option that is wrong ("--due: ..."). Writes refused by the
 * store's policy triggers come back as a sentence about the agreement.
 */
#ifndef LMSYNC_DOMAIN_AGREEMENT_H
#define LMSYNC_DOMAIN_AGREEMENT_H

#include <stddef.h>

#include "domain/validate.h"
#include "proto/changeset.h"
#include "store/store.h"

#define AGREEMENT_ID_MAX    CS_SCOPE_MAX
#define AGREEMENT_PARTS_MAX 99
#define AGREEMENT_ITEM_MIN  4 /* hex digits an item's id prefix needs */

struct agreement {
	char id[AGREEMENT_ID_MAX + 1]; /* the scope: NAME@ROOT */
	char title[DOM_TEXT_SHORT + 1];
	char hf[65]; /* the helseforetak party's site id */
	char from[11], to[11], next_review[11]; /* "" when not set */
	char status[32];			/* dom_agreement_status */
	char updated_at[32];
};

struct agreement_part {
	int number; /* the delavtale's number, 1 to 99 */
	char title[DOM_TEXT_SHORT + 1];
	char status[32];     /* dom_agreement_status, "" when not set */
	char next_review[11];
};

/* What `agreement create` is given. Strings may be NULL: not given. */
struct agreement_spec {
	const char *title;
	const char *hf;		       /* 64 hex digits; NULL: this site (a helseforetak) */
	const char *const *kommuner; /* 64 hex digits each */
	size_t nkommuner;
	const char *from, *to, *status, *next_review;
	const struct agreement_part *parts;
	size_t nparts;
};

/* Parse a --part value "N" or "N:TITLE" into p (status and review left
 * empty); the message names field. */
int agreement_part_parse(const char *field, const char *s, struct agreement_part *p,
			 lm_err *err);

/* Make agreement NAME (the scope NAME@this site) as spec says; its id goes
 * to id. This site is the helseforetak party when its lm_org kind is
 * helseforetak (spec->hf then NULL or this site), otherwise spec->hf is
 * required and this site must be among the kommuner. Grants the parties
 * role member and every hub peer role relay, then writes the agreement, its
 * parties and its delavtaler in one transaction. Refused when it exists. */
int agreement_create(struct store *st, const char *name, const struct agreement_spec *spec,
		     char *id, size_t cap, lm_err *err);

/* The agreement arg names: its id, a unique prefix of one, or the NAME part
 * of exactly one agreement held here. */
int agreement_resolve(struct store *st, const char *arg, char *id, size_t cap, lm_err *err);

/* The agreement with id: 1 found, 0 not, -1 error. */
int agreement_get(struct store *st, const char *id, struct agreement *a, lm_err *err);

/* Change the agreement's fields that are not NULL; next_review, from and to
 * may be "" to clear them. A period whose end comes before its start is
 * refused, counting the stored value of the bound not given. */
struct agreement_change {
	const char *status, *next_review, *from, *to;
};
int agreement_update(struct store *st, const char *id, const struct agreement_change *c,
		     lm_err *err);

/* Set delavtale number's status (dom_agreement_status); it must exist. */
int agreement_part_set_status(struct store *st, const char *id, int number, const char *status,
			      lm_err *err);

/* Add site (64 hex digits) as a party with role (dom_party_role: kommune or
 * observatør; the helseforetak party is set at creation), or change its
 * role. Only an administrator of the agreement (its creator) can. Returns 1
 * when written, 0 when the site had that role already. */
int agreement_party_add(struct store *st, const char *id, const char *site, const char *role,
			lm_err *err);

struct agreement_party {
	char org[65];
	char role[32]; /* dom_party_role */
	char contact[DOM_TEXT_SHORT + 1];
};

/* Walks: the callback returns non-zero to stop. */
typedef int (*agreement_cb)(const struct agreement *a, void *ctx);
typedef int (*agreement_party_cb)(const struct agreement_party *p, void *ctx);
typedef int (*agreement_part_cb)(const struct agreement_part *p, void *ctx);

/* Every agreement this store holds, by id. */
int agreement_list(struct store *st, agreement_cb cb, void *ctx, lm_err *err);
/* Its parties: helseforetak first, then kommuner, then observers. */
int agreement_parties(struct store *st, const char *id, agreement_party_cb cb, void *ctx,
		      lm_err *err);
/* Its delavtaler by number. */
int agreement_parts(struct store *st, const char *id, agreement_part_cb cb, void *ctx,
		    lm_err *err);

/* ---- follow-up items (domain/agreement_item.c) ---- */

struct agreement_item {
	char agreement[AGREEMENT_ID_MAX + 1];
	char id[17];
	int part; /* the delavtale, 0 when none */
	char what[DOM_TEXT_LONG + 1];
	char responsible[32]; /* dom_responsible */
	char due[11];
	char status[32]; /* dom_item_status */
	char updated_at[32];
	long days_overdue; /* filled by agreement_overdue only */
};

/* What `item add` is given; part 0: none, status NULL: åpen. */
struct agreement_item_spec {
	const char *what, *responsible, *due, *status;
	int part;
};

/* Add an item to the agreement; its new id (16 hex digits) goes to item. */
int agreement_item_add(struct store *st, const char *id, const struct agreement_item_spec *s,
		       char item[17], lm_err *err);

/* Change the item's fields that are not NULL (part 0 leaves it). */
int agreement_item_update(struct store *st, const char *id, const char *item,
			  const struct agreement_item_spec *s, lm_err *err);

/* The item arg names (its id or a prefix of at least AGREEMENT_ITEM_MIN hex
 * digits), in the agreement id or, id NULL, in any agreement held here. Its
 * agreement goes to agreement (when not NULL), its id to item. */
int agreement_item_resolve(struct store *st, const char *id, const char *arg, char *agreement,
			   size_t cap, char item[17], lm_err *err);

typedef int (*agreement_item_cb)(const struct agreement_item *i, void *ctx);

/* The items of the agreement id (NULL: of every agreement), with status
 * (NULL: any), by agreement, due date and id. */
int agreement_items(struct store *st, const char *id, const char *status, agreement_item_cb cb,
		    void *ctx, lm_err *err);

/* Items past due on date (YYYY-MM-DD) and not fullført, in the agreement
 * id (NULL: every one), by agreement, responsible party (helseforetak,
 * kommune, felles) and due date, with days_overdue filled: an item due on
 * date is not overdue, one due the day before is 1 day overdue. */
int agreement_overdue(struct store *st, const char *id, const char *date, agreement_item_cb cb,
		      void *ctx, lm_err *err);

/* ---- notes and avvik ---- */

struct agreement_note {
	char author[65];
	char id[17];
	char agreement[AGREEMENT_ID_MAX + 1];
	char item[17]; /* "" when about the agreement as a whole */
	char kind[16]; /* dom_note_kind */
	char body[DOM_TEXT_LONG + 1];
	char at[32];
};

/* Append a note (kind notat or avvik) by this site to the agreement, about
 * item when not NULL (an item id of the agreement). Its id goes to note. */
int agreement_note_add(struct store *st, const char *id, const char *item, const char *kind,
		       const char *body, char note[17], lm_err *err);

typedef int (*agreement_note_cb)(const struct agreement_note *n, void *ctx);

/* The agreement's notes in time order; limit > 0 keeps the last limit. */
int agreement_notes(struct store *st, const char *id, int limit, agreement_note_cb cb, void *ctx,
		    lm_err *err);

#endif
