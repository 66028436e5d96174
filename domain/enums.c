/* SPDX-License-Identifier: MIT */
#include "domain/enums.h"

#include <stdio.h>
#include <string.h>

#define ENUM(name, field, ...)                                                                     \
	static const char *const name##_values[] = {__VA_ARGS__};                                  \
	const struct dom_enum name = {field, name##_values, name##_meaning,                        \
				      sizeof(name##_values) / sizeof(name##_values[0])}

static const char *const dom_org_kind_meaning[] = {
    "a municipality",
    "an inter-municipal service (interkommunalt samarbeid)",
    "a hospital trust (HF) and its learning and mastery centre (LMS)",
    "a regional health authority (regionalt helseforetak, RHF)",
    "a regional hub that stores and forwards for its sites",
    "a user organisation",
    "a national service (e.g. NK LMH)",
};
ENUM(dom_org_kind, "kind", "kommune", "interkommunal", "helseforetak", "rhf", "hub",
     "brukerorganisasjon", "nasjonal");

static const char *const dom_network_kind_meaning[] = {
    "the health region's network",
    "the network around one helseforetak",
    "an inter-municipal network",
    "a themed network",
};
ENUM(dom_network_kind, "kind", "region", "helseforetak", "interkommunalt", "tema");

static const char *const dom_network_role_meaning[] = {
    "leads the network (administrator)",
    "deputy leader (administrator)",
    "coordinates the network (administrator)",
    "a member",
};
ENUM(dom_network_role, "role", "leder", "nestleder", "koordinator", "medlem");

static const char *const dom_course_kind_meaning[] = {
    "a course", "a theme meeting", "a self-help group", "a conversation group",
    "a professional day", "a camp", "e-learning",
};
ENUM(dom_course_kind, "kind", "kurs", "temamøte", "selvhjelpsgruppe", "samtalegruppe", "fagdag",
     "leir", "e-læring");

static const char *const dom_target_group_meaning[] = {
    "patients",
    "relatives (pårørende)",
    "patients and relatives",
    "health professionals",
};
ENUM(dom_target_group, "target group", "pasienter", "pårørende", "begge", "helsepersonell");

static const char *const dom_age_group_meaning[] = {
    "children (under 12)", "young people (12-26)", "adults", "the elderly", "every age",
};
ENUM(dom_age_group, "age group", "barn", "unge", "voksne", "eldre", "alle");

static const char *const dom_delivery_meaning[] = {
    "in person",
    "by video",
    "digital, on one's own time",
};
ENUM(dom_delivery, "delivery", "fysisk", "video", "digitalt");

static const char *const dom_course_status_meaning[] = {
    "planned", "open for registration (åpen for påmelding)", "full", "held", "cancelled",
};
ENUM(dom_course_status, "status", "planlagt", "påmelding", "fulltegnet", "gjennomført",
     "avlyst");

static const char *const dom_agreement_status_meaning[] = {
    "being negotiated",
    "signed",
    "published",
    "up for revision",
};
ENUM(dom_agreement_status, "status", "under-forhandling", "signert", "publisert",
     "til-revisjon");

static const char *const dom_item_status_meaning[] = {
    "open",
    "in progress",
    "done",
    "deviation: not done as agreed",
};
ENUM(dom_item_status, "status", "åpen", "pågår", "fullført", "avvik");

static const char *const dom_responsible_meaning[] = {
    "the hospital trust",
    "the municipality",
    "both, together",
};
ENUM(dom_responsible, "responsible party", "helseforetak", "kommune", "felles");

static const char *const dom_note_kind_meaning[] = {
    "a note",
    "a deviation (avvik) reported to the other party",
};
ENUM(dom_note_kind, "kind", "notat", "avvik");

static const char *const dom_party_role_meaning[] = {
    "the hospital trust party",
    "a municipality party",
    "an observer: receives the agreement, writes nothing",
};
ENUM(dom_party_role, "role", "helseforetak", "kommune", "observatør");

static const char *const dom_benefit_meaning[] = {
    "no benefit",
    "some benefit",
    "good benefit",
    "very good benefit",
};
ENUM(dom_benefit, "benefit", "ingen", "noe", "god", "svært-god");

/* Lower case ASCII, æ ø å as ae o a, "oe" and "aa" as o and a, spaces and
 * underscores as hyphens: what two spellings of one word share. */
static void fold(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (*s && n + 3 < cap) {
		const unsigned char *u = (const unsigned char *)s;

		if (u[0] == 0xc3 && (u[1] == 0xa6 || u[1] == 0x86)) { /* æ Æ */
			out[n++] = 'a';
			out[n++] = 'e';
			s += 2;
		} else if (u[0] == 0xc3 && (u[1] == 0xb8 || u[1] == 0x98)) { /* ø Ø */
			out[n++] = 'o';
			s += 2;
		} else if (u[0] == 0xc3 && (u[1] == 0xa5 || u[1] == 0x85)) { /* å Å */
			out[n++] = 'a';
			s += 2;
		} else if ((s[0] == 'o' || s[0] == 'O') && (s[1] == 'e' || s[1] == 'E')) {
			out[n++] = 'o';
			s += 2;
		} else if ((s[0] == 'a' || s[0] == 'A') && (s[1] == 'a' || s[1] == 'A')) {
			out[n++] = 'a';
			s += 2;
		} else if (*s == ' ' || *s == '_') {
			out[n++] = '-';
			s++;
		} else {
			out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
			s++;
		}
	}
	out[n] = '\0';
}

const char *dom_enum_parse(const struct dom_enum *e, const char *field, const char *s,
			   lm_err *err)
{
	char want[128], have[128], list[512];
	size_t i;

	fold(s, want, sizeof(want));
	for (i = 0; i < e->n; i++) {
		fold(e->values[i], have, sizeof(have));
		if (strcmp(want, have) == 0)
			return e->values[i];
	}
	dom_enum_list(e, list, sizeof(list));
	lm_errf(err, "%s: '%s' is not a %s; use %s", field, s, e->field, list);
	return NULL;
}

void dom_enum_list(const struct dom_enum *e, char *out, size_t cap)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < e->n && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s",
				      i == 0 ? "" : i + 1 == e->n ? " or " : ", ", e->values[i]);
}
