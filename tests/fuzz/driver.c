/* SPDX-License-Identifier: MIT */
/* A stand-in for libFuzzer's main, so fuzz targets run as short smoke tests
 * under any compiler and sanitizer: `driver SEED_DIR [RUNS [SECONDS]]`.
 *
 * It runs LLVMFuzzerTestOneInput over every file in SEED_DIR, then over up
 * to RUNS (default 10000) generated inputs, stopping early after SECONDS
 * (default 5). Inputs come from a fixed-seed generator, so a run is
 * repeatable: three in four are seeds with one to four mutations (bit flips,
 * byte changes, inserts, deletes, truncation, splices of two seeds), the
 * rest random bytes. A failing input aborts inside the target, where the
 * sanitizer or the check names the place; LMSYNC_FUZZ_SAVE=FILE keeps the
 * input being run in FILE. The driver does not learn from coverage: that is
 * what the libFuzzer build (LMSYNC_FUZZ=ON) is for. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEED_LEN  (1u << 20)
#define MAX_INPUT_LEN (70u * 1024) /* past the 65535-byte Noise limit */

struct seed {
	uint8_t *p;
	size_t len;
};

struct seeds {
	struct seed *v;
	size_t n;
};

static uint64_t next_random(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The file in a buffer of exactly its size, so a target reading past the
 * end is caught by AddressSanitizer. */
static int load_file(const char *path, struct seed *s)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;

	if (f == NULL)
		return -1;
	s->p = malloc(MAX_SEED_LEN);
	s->len = s->p ? fread(s->p, 1, MAX_SEED_LEN, f) : 0;
	fclose(f);
	if (s->p == NULL)
		return -1;
	p = realloc(s->p, s->len ? s->len : 1);
	if (p != NULL)
		s->p = p;
	return 0;
}

static int load_seeds(const char *dir, struct seeds *seeds)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct seed *v;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
			continue;
		v = realloc(seeds->v, (seeds->n + 1) * sizeof(*v));
		if (v == NULL)
			break;
		seeds->v = v;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load_file(path, &seeds->v[seeds->n]) == 0)
			seeds->n++;
	}
	closedir(d);
	return 0;
}

/* One mutation of buf (len bytes, capacity MAX_INPUT_LEN) in place. */
static size_t mutate_once(uint8_t *buf, size_t len, const struct seeds *seeds, uint64_t *x)
{
	size_t pos = len ? next_random(x) % len : 0, n = 1 + next_random(x) % 16, i;
	const struct seed *other;

	switch (next_random(x) % 6) {
	case 0:
		if (len)
			buf[pos] ^= (uint8_t)(1u << (next_random(x) % 8));
		return len;
	case 1:
		if (len)
			buf[pos] = (uint8_t)next_random(x);
		return len;
	case 2: /* insert n random bytes */
		n = len + n > MAX_INPUT_LEN ? MAX_INPUT_LEN - len : n;
		memmove(buf + pos + n, buf + pos, len - pos);
		for (i = 0; i < n; i++)
			buf[pos + i] = (uint8_t)next_random(x);
		return len + n;
	case 3: /* delete up to n bytes */
		n = n > len - pos ? len - pos : n;
		memmove(buf + pos, buf + pos + n, len - pos - n);
		return len - n;
	case 4: /* truncate */
		return pos;
	default: /* splice: keep a prefix, append another seed's tail */
		other = &seeds->v[next_random(x) % seeds->n];
		n = other->len ? next_random(x) % other->len : 0;
		n = other->len - n > MAX_INPUT_LEN - pos ? MAX_INPUT_LEN - pos : other->len - n;
		memcpy(buf + pos, other->p + other->len - n, n);
		return pos + n;
	}
}

static size_t generate(uint8_t *buf, const struct seeds *seeds, uint64_t *x)
{
	size_t len, i, rounds;
	const struct seed *s;

	if (seeds->n == 0 || next_random(x) % 4 == 0) {
		len =
		    next_random(x) % 8 == 0 ? next_random(x) % MAX_INPUT_LEN : next_random(x) % 512;
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)next_random(x);
		return len;
	}
	s = &seeds->v[next_random(x) % seeds->n];
	len = s->len < MAX_INPUT_LEN ? s->len : MAX_INPUT_LEN;
	memcpy(buf, s->p, len);
	rounds = 1 + next_random(x) % 4;
	for (i = 0; i < rounds; i++)
		len = mutate_once(buf, len, seeds, x);
	return len;
}

/* Run one input from a copy of exactly len bytes. With LMSYNC_FUZZ_SAVE set
 * to a path, each input is first written there, so the one that crashes
 * can be replayed (with the libFuzzer build, or by hand). */
static int run_one(const uint8_t *data, size_t len)
{
	const char *save = getenv("LMSYNC_FUZZ_SAVE");
	uint8_t *input = malloc(len ? len : 1);
	FILE *f;

	if (input == NULL)
		return -1;
	if (save != NULL && (f = fopen(save, "wb")) != NULL) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	if (len > 0)
		memcpy(input, data, len);
	LLVMFuzzerTestOneInput(input, len);
	free(input);
	return 0;
}

int main(int argc, char **argv)
{
	struct seeds seeds = {NULL, 0};
	long runs = argc > 2 ? atol(argv[2]) : 10000, i;
	double limit = argc > 3 ? atof(argv[3]) : 5.0, start = now();
	uint64_t x = 0x6c6d73796e63ull; /* "lmsync" */
	uint8_t *buf;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s SEED_DIR [RUNS [SECONDS]]\n", argv[0]);
		return 2;
	}
	if (load_seeds(argv[1], &seeds) < 0 || seeds.n == 0) {
		fprintf(stderr, "%s: no seeds in %s\n", argv[0], argv[1]);
		return 1;
	}
	buf = malloc(MAX_INPUT_LEN);
	if (buf == NULL)
		return 1;
	for (i = 0; i < (long)seeds.n; i++)
		if (run_one(seeds.v[i].p, seeds.v[i].len) < 0)
			return 1;
	for (i = 0; i < runs && now() - start < limit; i++)
		if (run_one(buf, generate(buf, &seeds, &x)) < 0)
			return 1;
	printf("%s: %zu seeds and %ld generated inputs in %.2f s\n", argv[0], seeds.n, i,
	       now() - start);
	for (i = 0; i < (long)seeds.n; i++)
		free(seeds.v[i].p);
	free(seeds.v);
	free(buf);
	return 0;
}
