/* SPDX-License-Identifier: MIT */
/* What agreement.c and agreement_item.c share; not for other modules. */
#ifndef LMSYNC_DOMAIN_AGREEMENT_INT_H
#define LMSYNC_DOMAIN_AGREEMENT_INT_H

#include "domain/agreement.h"
#include "domain/common.h"
#include "store/member.h"

/* Step a write statement and finalize it; a refusal by the policy triggers
 * becomes a sentence about agreement id. */
int agreement_step(struct store *st, sqlite3_stmt *stmt, const char *id, const char *what,
		   lm_err *err);

/* This site must hold at least role want in agreement id; the message says
 * what this site is to the agreement. */
int agreement_need_role(struct store *st, const char *id, enum member_role want, lm_err *err);

/* The time now with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ), for notes. */
void agreement_now_ms(char out[32]);

/* The agreement with id into out (when not NULL); an error saying it is not
 * here when it is not. */
int agreement_need(struct store *st, const char *id, struct agreement *out, lm_err *err);

/* BEGIN IMMEDIATE, and ROLLBACK after a failure (returns -1). */
int agreement_begin(struct store *st, lm_err *err);
int agreement_rollback(struct store *st);
int agreement_commit(struct store *st, lm_err *err);

#endif
