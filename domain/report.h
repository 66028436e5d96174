/* SPDX-License-Identifier: MIT */
/* Regional reporting, computed at any site from its own store: a network's
 * members all hold the network's courses and runs, so each gets the same
 * figures with no central server. The person counts of the activity report
 * go through small-number suppression (domain/suppress.h) here, so every
 * output format shows the same markers.
 *
 *   activity      runs held (held = 1) whose start falls in [from, to], of
 *                 the courses published to a network and not archived,
 *                 summed per group (org, kind, target, diagnosis or
 *                 municipality of the course) and in total
 *   completeness  which members of a network have closed a period
 *   close         this site closes its own reporting for a period
 *   agreements    follow-up of agreement items per helseforetak-kommune pair
 */
#ifndef LMSYNC_DOMAIN_REPORT_H
#define LMSYNC_DOMAIN_REPORT_H

#include <stdint.h>

#include "domain/network.h"
#include "domain/suppress.h"
#include "domain/validate.h"
#include "store/store.h"

enum rep_by { REP_BY_NONE, REP_BY_ORG, REP_BY_KIND, REP_BY_TARGET, REP_BY_DIAGNOSIS, REP_BY_MUNICIPALITY };

/* org, kind, target, diagnosis or municipality (field names the option). */
int rep_by_parse(const char *field, const char *s, enum rep_by *by, lm_err *err);
const char *rep_by_name(enum rep_by by);

/* The person counts, in this order; the rest of a row is not suppressed. */
enum {
	REP_PATIENTS,
	REP_RELATIVES,
	REP_PARTICIPANTS, /* patients + relatives */
	REP_FORMS,	  /* evaluation forms returned */
	REP_BENEFIT_NONE, /* ingen nytte */
	REP_BENEFIT_SOME, /* noe */
	REP_BENEFIT_GOOD, /* god */
	REP_BENEFIT_VERY_GOOD, /* svært god */
	REP_NPERSON
};

#define REP_NO_DIAGNOSIS "diagnoseuavhengig"
#define REP_NO_MUNICIPALITY "(not given)"

struct rep_row {
	char key[DOM_TEXT_SHORT + 1];	/* the stored value: owner id, kind ... */
	char label[DOM_TEXT_SHORT + 1]; /* as shown: the org's name ... */
	long courses;			/* distinct courses with a run held */
	long runs, sessions;
	long user_rep_runs;		/* runs of courses with brukerrepresentanter */
	long std_courses;		/* courses by Standard metode */
	int64_t prof_centi, user_rep_centi; /* hours, in hundredths */
	long person[REP_NPERSON];
	enum sup_mark mark[REP_NPERSON];
};

struct rep_activity {
	enum rep_by by;
	int n;		      /* groups (0 without --by) */
	struct rep_row *rows; /* in label order, then key */
	struct rep_row total;
};

/* The activity report of network (an id: network_resolve) over [from, to]
 * (checked dates, from <= to), suppressed. rep_activity_free releases it. */
int rep_activity(struct store *st, const char *network, const char *from, const char *to,
		 enum rep_by by, struct rep_activity *out, lm_err *err);
void rep_activity_free(struct rep_activity *a);

/* A share a of b in whole percent, rounded half up (0 when b is 0). */
long rep_percent(long a, long b);

/* A member of a network and whether it closed the period. */
struct rep_member {
	char org[65];
	char name[DOM_TEXT_SHORT + 1];
	char role[32];
	int closed;
	char closed_at[32]; /* "" when not closed */
};

/* The members of network with their closing of period (dom_period_parse
 * checks it, field --period), by name then id. Caller frees *out. */
int rep_completeness(struct store *st, const char *network, const char *period,
		     struct rep_member **out, int *n, lm_err *err);

/* Close this site's reporting of period in network at now (ISO 8601 UTC,
 * "YYYY-MM-DDTHH:MM:SSZ"). Refused when this site is no member of the
 * network, or the period begins after now's date. Returns 1 when closed
 * now, 0 when it was closed already (closed_at gets when), -1 on error. */
int rep_close(struct store *st, const char *network, const char *period, const char *now,
	      char *closed_at, size_t cap, lm_err *err);

/* The follow-up of one helseforetak-kommune pair, over the agreements whose
 * hf is the helseforetak and which have the kommune as a party (role
 * kommune). An agreement with no hf or no kommune party gets "" there. */
struct rep_pair {
	char hf[65], hf_name[DOM_TEXT_SHORT + 1];
	char kommune[65], kommune_name[DOM_TEXT_SHORT + 1];
	long agreements;
	long open;	 /* items åpen or pågår */
	long overdue;	 /* due before date, not fullført */
	long deviations; /* items avvik */
	long done;	 /* items fullført */
};

/* Every pair this site holds agreements of, by names then ids; date is
 * the day overdue is counted at (a checked date). Caller frees *out. */
int rep_agreements(struct store *st, const char *date, struct rep_pair **out, int *n,
		   lm_err *err);

#endif
