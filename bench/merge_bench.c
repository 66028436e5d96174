/* SPDX-License-Identifier: MIT */
/* merge_bench: how fast a store takes in another store's change sets,
 * measured against the plainest way to put the same rows into SQLite.
 *
 * Each repetition, in a fresh temporary directory:
 *
 *   bare    the rows go into a table of the same columns, without triggers,
 *           in a third SQLite file: one transaction, one prepared INSERT,
 *           in the order the merge meets them (the log streams change sets
 *           scope by scope), so both build the same B-trees the same way;
 *           --bare-in-written-order takes them in key order instead.
 *   insert  the rows go into store A's registered `course` table the same
 *           way, in the order written; the capture triggers record them.
 *   seal    A seals its captures into change sets (one seal_pending call).
 *   merge   the change sets, read out of A's log (cslog_missing_*) into
 *           memory beforehand, are merged into a fresh store B with
 *           merge_batch, timed from the first merge to the last commit,
 *           twice, each time into a fresh B:
 *             one batch: every change set in one merge_batch call, so one
 *               transaction, like the bare insert; the target (issue 4) is
 *               judged on this one;
 *             batches: --batch change sets per call (default 256; the
 *               daemon merges what one loop turn read, about 1 MiB, so
 *               about 20), one transaction each.
 *
 * The rows are course announcements: key (owner, id), one of eight scopes
 * at random, and five columns of Norwegian text and numbers (a description
 * of 200 to 600 bytes). Every file is in WAL mode with synchronous=FULL, as
 * a store is. The median of --reps repetitions is reported, and each
 * merge's rate as a fraction of the bare insert's; both B's and the bare
 * table's contents are checked against A's. Usage:
 *
 *   merge_bench [--rows N] [--reps N] [--batch N] [--bare-in-written-order]
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "store/cslog.h"
#include "store/merge.h"
#include "store/registry.h"
#include "store/seal.h"
#include "store/store.h"

#define COURSE_COLUMNS                                                                             \
	"owner TEXT NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', title TEXT, "      \
	"description TEXT, venue TEXT, seats INTEGER, target TEXT, PRIMARY KEY (owner, id)"
#define INSERT_COURSE                                                                              \
	"INSERT INTO course(owner, id, scope, title, description, venue, seats, target) "          \
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
/* What the three copies are compared by: every value, in key order. */
#define DIGEST_SQL                                                                                 \
	"SELECT owner, id, scope, title, description, venue, seats, target FROM course "           \
	"ORDER BY owner, id"

struct options {
	long rows, reps, batch;
	int written_order; /* the bare insert takes the rows in the order written */
};

struct timing {
	double bare, insert, seal, merge1, merge;		 /* seconds; merge1: one batch */
	double bare_mb, insert_mb, seal_mb, merge1_mb, merge_mb; /* written to storage */
	size_t changesets, bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Megabytes this process has written to storage so far (page cache
 * writes, counted when dirtied), as the kernel accounts them. */
static double written_mb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_oublock * 512.0 / 1e6;
}

static char bench_dir[512]; /* the temporary directory, once made */

static void remove_db(const char *dir, const char *name)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", "-log"};
	char path[600];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffixes[i]);
		unlink(path);
	}
}

static void remove_dir(void)
{
	if (bench_dir[0] == '\0')
		return;
	remove_db(bench_dir, "a.db");
	remove_db(bench_dir, "b.db");
	remove_db(bench_dir, "b1.db");
	remove_db(bench_dir, "bare.db");
	rmdir(bench_dir);
	bench_dir[0] = '\0';
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "merge_bench: %s: %s\n", what, msg);
	remove_dir();
	exit(1);
}

#define CHECK(call)                                                                                \
	do {                                                                                       \
		if ((call) != 0)                                                                   \
			die(#call, err.msg);                                                       \
	} while (0)

/* ---- realistic rows ---------------------------------------------------- */

static const char *const titles[] = {
    "Mestringstreff for voksne",
    "KOLS-skole",
    "Diabeteskurs type 2",
    "Hjertekurs for nyopererte",
    "Lær å leve med langvarige smerter",
    "Pårørendeskole demens",
    "Kurs i mestring av depresjon (KiD)",
    "Bra mat for bedre helse",
    "Røykesluttkurs",
    "Søvnskole",
    "Kurs for personer med MS",
    "Revmatismeskole",
    "Pust og bevegelse etter kreftbehandling",
    "Astmaskole for foreldre",
    "Epilepsiskolen",
    "Leve med hørselstap",
    "Foreldreveiledning ICDP",
    "Mestringskurs for ungdom med angst",
    "Trening i vann for eldre",
    "Fallforebyggende trening",
    "Morbid overvekt – oppstartskurs",
    "Hjerneslag: livet etterpå",
    "Parkinsonskolen",
    "Samtalegruppe for etterlatte",
};
static const char *const suffixes[] = {
    "", "", " – høsten 2025", " (Molde)", " – gruppe 2", " for nye deltakere", " (digitalt)",
};
static const char *const sentences[] = {
    "Kurset er for deg som lever med en langvarig sykdom og ønsker å lære mer om hvordan du kan "
    "mestre hverdagen.",
    "Du møter andre i samme situasjon og får dele erfaringer i en trygg gruppe.",
    "Undervisningen ledes av sykepleier, fysioterapeut og en erfaringskonsulent.",
    "Vi snakker om kosthold, fysisk aktivitet, søvn og hvordan du kan ta vare på deg selv.",
    "Pårørende er hjertelig velkomne til å delta på alle samlingene.",
    "Kurset går over fire kvelder, med en kort pause og servering av kaffe og frukt.",
    "Det er ingen egenandel, men du må melde deg på innen fristen.",
    "Ta kontakt med Frisklivssentralen dersom du har spørsmål eller trenger tilrettelegging.",
    "Samlingene holdes i lokaler med heis og teleslynge.",
    "Etter kurset får du tilbud om en oppfølgingssamtale etter tre måneder.",
    "Målet er at du skal kjenne deg tryggere på egen helse og vite hvor du kan få hjelp.",
    "Kurset bygger på læring- og mestringsprinsipper og er utviklet i samarbeid med "
    "brukerorganisasjonene.",
    "Husk å ta med behagelige klær og innesko til treningsøkten.",
    "Tolk kan bestilles ved behov; gi beskjed ved påmelding.",
};
static const char *const venues[] = {
    "Molde sjukehus, Parkvegen 84, 6412 Molde",
    "Frisklivssentralen, Rådhuset 2. etasje, Kristiansund",
    "Ålesund sjukehus, Åsehaugen 5, møterom Hjelmen",
    "Volda helsesenter, Løkjegata 4",
    "Kulturhuset i Sunndalsøra, sal B",
    "Digitalt møterom (lenke sendes ut etter påmelding)",
    "Lærings- og mestringssenteret, Helse Møre og Romsdal",
};
static const char *const targets[] = {
    "Voksne med type 2-diabetes og deres pårørende",
    "Personer med KOLS i alle stadier",
    "Ungdom mellom 16 og 23 år",
    "Foreldre til barn under 12 år",
    "Pårørende til personer med demens",
    "Alle som ønsker å endre levevaner",
    "Eldre over 67 år som bor hjemme",
};
static const char *const scopes[] = {
    "molde", "kristiansund", "alesund", "volda", "sunndal", "surnadal", "orsta", "aukra",
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct row {
	char id[24];
	const char *scope;
	char title[128];
	char description[800];
	const char *venue, *target;
	int seats;
};

/* splitmix64: the same rows on every run. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void make_row(long i, struct row *r)
{
	uint64_t s = (uint64_t)i * 7919 + 1;
	size_t target_len = 200 + next_random(&s) % 401, len = 0;

	snprintf(r->id, sizeof(r->id), "kurs-%07ld", i);
	r->scope = scopes[next_random(&s) % NELEMS(scopes)];
	snprintf(r->title, sizeof(r->title), "%s%s", titles[next_random(&s) % NELEMS(titles)],
		 suffixes[next_random(&s) % NELEMS(suffixes)]);
	r->description[0] = '\0';
	while (len < target_len) {
		const char *sen = sentences[next_random(&s) % NELEMS(sentences)];
		size_t n = strlen(sen);

		if (len > 0 && len + 1 + n > 600)
			break;
		len += (size_t)snprintf(r->description + len, sizeof(r->description) - len, "%s%s",
					len ? " " : "", sen);
	}
	r->venue = venues[next_random(&s) % NELEMS(venues)];
	r->target = targets[next_random(&s) % NELEMS(targets)];
	r->seats = 6 + (int)(next_random(&s) % 25);
}

/* Insert rows order[0..n-1] (0..n-1 when order is NULL) with one prepared
 * statement in one transaction. */
static void insert_rows(sqlite3 *db, const char *owner, const long *order, long n)
{
	sqlite3_stmt *stmt;
	struct row r;
	long i;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, INSERT_COURSE, -1, &stmt, NULL) != SQLITE_OK)
		die("preparing the insert", sqlite3_errmsg(db));
	for (i = 0; i < n; i++) {
		make_row(order ? order[i] : i, &r);
		sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, r.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, r.scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, r.title, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, r.description, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 6, r.venue, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 7, r.seats);
		sqlite3_bind_text(stmt, 8, r.target, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			die("inserting a row", sqlite3_errmsg(db));
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("committing the rows", sqlite3_errmsg(db));
}

/* The order the merge meets the rows in: the log streams change sets by
 * scope, in scope order, each scope's rows in the order they were written. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long *arrival_order(long n)
{
	const char *sorted[NELEMS(scopes)], **scope_of = malloc((size_t)n * sizeof(*scope_of));
	long *order = malloc((size_t)n * sizeof(*order)), i, k = 0;
	struct row r;
	size_t s;

	if (order == NULL || scope_of == NULL)
		die("ordering the rows", "out of memory");
	memcpy(sorted, scopes, sizeof(sorted));
	qsort(sorted, NELEMS(sorted), sizeof(sorted[0]), cmp_str);
	for (i = 0; i < n; i++) {
		make_row(i, &r);
		scope_of[i] = r.scope;
	}
	for (s = 0; s < NELEMS(sorted); s++)
		for (i = 0; i < n; i++)
			if (scope_of[i] == sorted[s])
				order[k++] = i;
	free(scope_of);
	return order;
}

/* A hash of every value of the table, row by row in key order. */
static void digest(sqlite3 *db, char hex[2 * crypto_generichash_BYTES + 1])
{
	crypto_generichash_state h;
	unsigned char out[crypto_generichash_BYTES];
	sqlite3_stmt *stmt;
	long long rows = 0;
	int rc, i;

	if (sqlite3_prepare_v2(db, DIGEST_SQL, -1, &stmt, NULL) != SQLITE_OK)
		die("digest", sqlite3_errmsg(db));
	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(stmt); i++) {
			const unsigned char *v = sqlite3_column_text(stmt, i);
			uint32_t len = (uint32_t)sqlite3_column_bytes(stmt, i);
			unsigned char type = (unsigned char)sqlite3_column_type(stmt, i);

			crypto_generichash_update(&h, &type, 1);
			crypto_generichash_update(&h, (const unsigned char *)&len, sizeof(len));
			if (v != NULL)
				crypto_generichash_update(&h, v, len);
		}
		rows++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		die("digest", sqlite3_errmsg(db));
	crypto_generichash_update(&h, (const unsigned char *)&rows, sizeof(rows));
	crypto_generichash_final(&h, out, sizeof(out));
	sodium_bin2hex(hex, 2 * sizeof(out) + 1, out, sizeof(out));
}

/* ---- the three files ---------------------------------------------------- */

static double bench_bare(const char *path, const char *owner, const long *order, long n, char *dig)
{
	sqlite3 *db;
	double t0, t1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
			 "PRAGMA foreign_keys=ON; CREATE TABLE course (" COURSE_COLUMNS ")",
			 NULL, NULL, NULL) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	t0 = now_s();
	insert_rows(db, owner, order, n);
	t1 = now_s();
	digest(db, dig);
	sqlite3_close(db);
	return t1 - t0;
}

static void make_store(struct store *st, const char *path, const uint8_t pk[32])
{
	lm_err err;

	CHECK(store_open(st, path, STORE_CREATE, &err));
	CHECK(store_claim(st, pk, &err));
	CHECK(store_exec(st, "CREATE TABLE course (" COURSE_COLUMNS ")", &err));
	CHECK(registry_add(st, "course", "owner,id", "scope", POLICY_OWNER, &err));
}

struct envelopes {
	uint8_t **env;
	size_t *len;
	size_t n, bytes;
};

static void read_log(struct store *st, struct envelopes *e)
{
	struct cslog_missing it;
	const uint8_t *env;
	size_t len, cap = 0;
	lm_err err;
	int rc;

	memset(e, 0, sizeof(*e));
	CHECK(cslog_missing_begin(&it, st, NULL, 0, NULL, 0, &err));
	while ((rc = cslog_missing_next(&it, &env, &len, &err)) == 1) {
		if (e->n == cap) {
			cap = cap ? 2 * cap : 1024;
			e->env = realloc(e->env, cap * sizeof(*e->env));
			e->len = realloc(e->len, cap * sizeof(*e->len));
			if (e->env == NULL || e->len == NULL)
				die("reading the log", "out of memory");
		}
		e->env[e->n] = malloc(len);
		if (e->env[e->n] == NULL)
			die("reading the log", "out of memory");
		memcpy(e->env[e->n], env, len);
		e->len[e->n++] = len;
		e->bytes += len;
	}
	cslog_missing_end(&it);
	if (rc != 0)
		die("reading the log", err.msg);
}

static void free_envelopes(struct envelopes *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->env[i]);
	free(e->env);
	free(e->len);
}

/* Merge every envelope of e into a fresh store at path, batch change sets
 * per merge_batch call; the seconds it took and the MB written go to *secs
 * and *mb, the digest of the merged table to dig. */
static void bench_merge(const char *path, const struct envelopes *e, size_t batch, double *secs,
			double *mb, char *dig)
{
	uint8_t pk[32], sk[64];
	struct seal_key key = {pk, sk};
	struct merge_options opt;
	struct merge_outcome *out;
	struct store st;
	double t0, mb0;
	size_t i, j;
	lm_err err;

	crypto_sign_keypair(pk, sk);
	make_store(&st, path, pk);
	out = calloc(batch, sizeof(*out));
	if (out == NULL)
		die("merging", "out of memory");
	memset(&opt, 0, sizeof(opt));
	opt.now_ms = wall_ms();
	opt.max_skew_ms = 300000;
	opt.seal = &key;
	mb0 = written_mb();
	t0 = now_s();
	for (i = 0; i < e->n; i += batch) {
		size_t n = e->n - i < batch ? e->n - i : batch;

		CHECK(merge_batch(&st, (const uint8_t *const *)&e->env[i], &e->len[i], n, &opt, out,
				  &err));
		for (j = 0; j < n; j++)
			if (out[j].result != MERGE_APPLIED)
				die(merge_result_name(out[j].result), out[j].reason);
	}
	*secs = now_s() - t0;
	*mb = written_mb() - mb0;
	digest(st.db, dig);
	store_close(&st);
	free(out);
}

static void run_once(const char *dir, const struct options *o, const long *order, struct timing *t)
{
	char a_path[512], b_path[512], b1_path[512], bare_path[512], owner[65];
	uint8_t pka[32], ska[64];
	struct seal_key ka = {pka, ska};
	struct envelopes e;
	struct store a;
	char dig_bare[2 * crypto_generichash_BYTES + 1], dig_a[sizeof(dig_bare)],
	    dig_b[sizeof(dig_bare)], dig_b1[sizeof(dig_bare)];
	double t0, mb;
	lm_err err;
	int count;

	snprintf(a_path, sizeof(a_path), "%s/a.db", dir);
	snprintf(b_path, sizeof(b_path), "%s/b.db", dir);
	snprintf(b1_path, sizeof(b1_path), "%s/b1.db", dir);
	snprintf(bare_path, sizeof(bare_path), "%s/bare.db", dir);
	crypto_sign_keypair(pka, ska);
	sodium_bin2hex(owner, sizeof(owner), pka, sizeof(pka));

	mb = written_mb();
	t->bare = bench_bare(bare_path, owner, order, o->rows, dig_bare);
	t->bare_mb = written_mb() - mb;

	make_store(&a, a_path, pka);
	mb = written_mb();
	t0 = now_s();
	insert_rows(a.db, owner, NULL, o->rows);
	t->insert = now_s() - t0;
	t->insert_mb = written_mb() - mb;
	mb = written_mb();
	t0 = now_s();
	CHECK(seal_pending(&a, &ka, wall_ms(), &count, &err));
	t->seal = now_s() - t0;
	t->seal_mb = written_mb() - mb;
	read_log(&a, &e);
	if ((size_t)count != e.n)
		die("sealing", "the log does not hold what was sealed");
	t->changesets = e.n;
	t->bytes = e.bytes;
	digest(a.db, dig_a);
	store_close(&a);

	bench_merge(b1_path, &e, e.n ? e.n : 1, &t->merge1, &t->merge1_mb, dig_b1);
	remove_db(dir, "b1.db");
	bench_merge(b_path, &e, (size_t)o->batch, &t->merge, &t->merge_mb, dig_b);

	if (strcmp(dig_a, dig_b) != 0 || strcmp(dig_a, dig_b1) != 0 ||
	    strcmp(dig_a, dig_bare) != 0) {
		fprintf(stderr, "A:    %s\nB:    %s (one batch: %s)\nbare: %s\n", dig_a, dig_b,
			dig_b1, dig_bare);
		die("checking", "the merged rows differ from the sealed ones");
	}
	free_envelopes(&e);
	remove_db(dir, "a.db");
	remove_db(dir, "b.db");
	remove_db(dir, "bare.db");
}

/* ---- reporting ------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const struct timing *t, long n, size_t offset)
{
	double v[64];
	long i;

	for (i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&t[i] + offset, sizeof(double));
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const struct options *o, const struct timing *t)
{
	char batches[64];
	struct {
		const char *name;
		size_t offset, mb;
		int ratio; /* print its rate as a fraction of the bare insert's */
	} rows[] = {
	    {"bare insert", offsetof(struct timing, bare), offsetof(struct timing, bare_mb), 0},
	    {"store insert (A)", offsetof(struct timing, insert),
	     offsetof(struct timing, insert_mb), 0},
	    {"seal (A)", offsetof(struct timing, seal), offsetof(struct timing, seal_mb), 0},
	    {"merge (B), one batch", offsetof(struct timing, merge1),
	     offsetof(struct timing, merge1_mb), 1},
	    {batches, offsetof(struct timing, merge), offsetof(struct timing, merge_mb), 1},
	};
	double bare = median(t, o->reps, offsetof(struct timing, bare));
	double merge1 = median(t, o->reps, offsetof(struct timing, merge1));
	double merge = median(t, o->reps, offsetof(struct timing, merge));
	size_t i;

	snprintf(batches, sizeof(batches), "merge (B), batches of %ld", o->batch);
	printf("\n%ld rows x 5 columns, median of %ld rep%s, bare insert in %s order; merge "
	       "in one batch of all %zu change sets (one transaction, like the bare insert), "
	       "then in batches of %ld\n\n",
	       o->rows, o->reps, o->reps == 1 ? "" : "s",
	       o->written_order ? "written (key)" : "arrival", t[0].changesets, o->batch);
	printf("| %-28s | %9s | %10s | %10s | %6s |\n", "step", "seconds", "rows/s", "MB written",
	       "/ bare");
	printf("|------------------------------|----------:|-----------:|-----------:|-------:|\n");
	for (i = 0; i < NELEMS(rows); i++) {
		double s = median(t, o->reps, rows[i].offset);
		char ratio[16] = "";

		if (rows[i].ratio)
			snprintf(ratio, sizeof(ratio), "%.3f", bare / s);
		printf("| %-28s | %9.3f | %10.0f | %10.0f | %6s |\n", rows[i].name, s,
		       (double)o->rows / s, median(t, o->reps, rows[i].mb), ratio);
	}
	printf("\nmerge / bare insert, one batch: %.3f (target >= 0.5: %s); in batches of %ld: "
	       "%.3f\n",
	       bare / merge1, bare / merge1 >= 0.5 ? "met" : "NOT met", o->batch, bare / merge);
	printf("change sets: %zu, %zu bytes (%.0f bytes per change set, %.0f per row)\n",
	       t[0].changesets, t[0].bytes, (double)t[0].bytes / (double)t[0].changesets,
	       (double)t[0].bytes / (double)o->rows);
}

static long arg_long(const char *name, const char *value, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = value ? strtol(value, &end, 10) : 0;
	if (value == NULL || errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "merge_bench: %s takes a number from %ld to %ld\n", name, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct options o = {100000, 3, 256, 0};
	long *order;
	struct timing t[64];
	const char *tmp = getenv("TMPDIR");
	char dir[512];
	long r;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0)
			o.rows = arg_long("--rows", argv[++i], 1, 10000000);
		else if (strcmp(argv[i], "--reps") == 0)
			o.reps = arg_long("--reps", argv[++i], 1, 64);
		else if (strcmp(argv[i], "--batch") == 0)
			o.batch = arg_long("--batch", argv[++i], 1, 100000);
		else if (strcmp(argv[i], "--bare-in-written-order") == 0)
			o.written_order = 1;
		else {
			fprintf(stderr, "usage: merge_bench [--rows N] [--reps N] [--batch N] "
					"[--bare-in-written-order]\n");
			return 2;
		}
	}
	if (sodium_init() < 0)
		die("libsodium", "cannot initialise");
	order = o.written_order ? NULL : arrival_order(o.rows);
	snprintf(dir, sizeof(dir), "%s/lmsync-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die(dir, strerror(errno));
	snprintf(bench_dir, sizeof(bench_dir), "%s", dir);
	printf("merge_bench: SQLite %s, files in %s\n", sqlite3_libversion(), dir);
	for (r = 0; r < o.reps; r++) {
		run_once(dir, &o, order, &t[r]);
		printf("rep %ld: bare %.3f s, insert %.3f s, seal %.3f s, merge one batch %.3f s "
		       "(%.0f MB written), in batches of %ld %.3f s (%.0f MB)\n",
		       r + 1, t[r].bare, t[r].insert, t[r].seal, t[r].merge1, t[r].merge1_mb,
		       o.batch, t[r].merge, t[r].merge_mb);

		fflush(stdout);
	}
	remove_dir();
	free(order);
	report(&o, t);
	return 0;
}
