/* SPDX-License-Identifier: MIT */
/* The help text of `lmsync course`, built at run time from the enum lists
 * of domain/enums.h so the values it lists are the values the checks take. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_course.h"
#include "domain/enums.h"

/* Where the text after a filter's option begins. */
#define VALUES_COLUMN 19

/* An option with a closed list: each value and what it means. */
static void say_enum(FILE *out, const char *opt, const struct dom_enum *e, const char *what,
		     const char *dflt)
{
	size_t i;

	fprintf(out, "    %s %s%s%s%s\n", opt, what, dflt ? " (default " : "", dflt ? dflt : "",
		dflt ? ")" : "");
	for (i = 0; i < e->n; i++)
		fprintf(out, "        %-*s %s\n", cli_pad(e->values[i], 18), e->values[i],
			e->meaning[i]);
}

/* A filter with a closed list: the values after the option, wrapped to
 * stay within 80 columns. */
static void say_values(FILE *out, const char *opt, const struct dom_enum *e)
{
	char list[256], *word, *save = NULL;
	int col = VALUES_COLUMN, width;

	dom_enum_list(e, list, sizeof(list));
	fprintf(out, "    %-*s", VALUES_COLUMN - 4, opt);
	for (word = strtok_r(list, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		width = cli_text_width(word);
		if (col > VALUES_COLUMN && col + 1 + width > 79) {
			fprintf(out, "\n%*s", VALUES_COLUMN, "");
			col = VALUES_COLUMN;
		}
		fprintf(out, "%s%s", col > VALUES_COLUMN ? " " : "", word);
		col += (col > VALUES_COLUMN ? 1 : 0) + width;
	}
	fputc('\n', out);
}

void course_print_more_help(FILE *out)
{

	fprintf(out,
		"\n"
		"A course (tilbud) is an offer of a learning and mastery service: a course, a\n"
		"theme meeting, a group. Each site publishes its own courses to one of its\n"
		"networks; every site of that network receives them, and only the owning\n"
		"site can change them. Runs (gjennomføringer) record when a course was held\n"
		"and how many took part: counts only, never who.\n"
		"\n"
		"  course add --network N --title T --kind K --target G [FIELDS]\n"
		"      Publish a new course to network N (its id, name or display name, as\n"
		"      `lmsync network list` shows; this site must be a member of it).\n"
		"      Prints the new course's id.\n"
		"  course edit ID [FIELDS]\n"
		"      Change the fields given, and only those. Only the owner can. --network\n"
		"      moves the course and its runs to another network: the old network's\n"
		"      sites no longer see it.\n"
		"  course show ID [--json]\n"
		"      Every field of the course, and its runs.\n"
		"  course list [FILTERS] [--json]\n"
		"      The courses here, this site's and those its networks publish, by\n"
		"      start date. --json adds owner_name to the export's keys.\n"
		"  course search QUERY [FILTERS] [--json]\n"
		"      Courses whose title, description, diagnosis, venue, municipality or\n"
		"      co-organisers hold every word of QUERY (a word also finds longer words\n"
		"      it begins: \"kols\" finds \"KOLS-skole\", \"mest\" finds \"mestring\";\n"
		"      case does not matter, æ, ø and å are letters of their own), best\n"
		"      match first.\n"
		"  course archive ID [--undo]\n"
		"      Hide the course from list and search (--archived shows it again);\n"
		"      --undo brings it back.\n"
		"  course run add|update|list ...     runs of a course; see below\n"
		"  course export [--format csv|json] [--network N] [--owner O] [--output FILE]\n"
		"  course import FILE [--format csv|json]\n"
		"      see below\n"
		"\n"
		"ID is a course's id (16 hex digits, as list shows it) or its first 4 or more\n"
		"digits when no other course here begins with them.\n"
		"\n"
		"FIELDS (add and edit):\n"
		"    --title T            the course's name (required for add)\n"
		"    --description D      what it is about, for whom; line breaks allowed\n");
	say_enum(out, "--kind", &dom_course_kind, "K: the kind of offer (required for add):", NULL);
	say_enum(out, "--target", &dom_target_group, "G: who it is for (required for add):", NULL);
	say_enum(out, "--age-group", &dom_age_group, "A:", "alle");
	fprintf(out,
		"    --diagnosis GROUP    the diagnosis group it is for (e.g. diabetes, kols,\n"
		"                         psykisk helse)\n"
		"    --diagnosis-independent\n"
		"                         for people with any diagnosis (the default)\n"
		"    --standard-metode ja|nei  planned, run and evaluated by brukerrepresentanter\n"
		"                         (user representatives: people with lived experience,\n"
		"                         as patient or pårørende) and professionals as equal\n"
		"                         partners (default nei)\n"
		"    --user-reps N        how many brukerrepresentanter take part (0 to 1000;\n"
		"                         at least 1 with --standard-metode ja)\n"
		"    --co-organisers TEXT who runs it with this site (user organisations, ...)\n"
		"    --sessions N         number of sessions (samlinger), 0 to 1000\n"
		"    --session-minutes N  length of a session in minutes, 0 to 1440\n"
		"    --capacity N         places (0 to 100000; 0: not given)\n");
	say_enum(out, "--delivery", &dom_delivery, "HOW:", "fysisk");
	fprintf(out,
		"    --venue V            where it is held\n"
		"    --municipality M     the kommune it is held in\n"
		"    --language L         (default norsk)\n"
		"    --price NOK          what a participant pays, in whole kroner (default 0)\n"
		"    --registration ADDR  where to sign up: a web page (https://...) or the\n"
		"                         service's role address (lms@kommune.no), never a\n"
		"                         person's address or phone number\n");
	say_enum(out, "--status", &dom_course_status, "S:", "planlagt");
	fprintf(out,
		"    --starts DATE, --ends DATE   first and last day, YYYY-MM-DD or DD.MM.YYYY\n"
		"\n"
		"The listed values may be written without æ, ø and å (pamelding, temamote)\n"
		"and in any case. Free text (title, description, venue, ...) must not hold\n"
		"a national identity number (fødselsnummer): lmsync shares no personal data.\n"
		"\n"
		"FILTERS (list and search):\n"
		"    --network N    courses published to network N\n"
		"    --owner O      courses of one site (its id or organisation name)\n");
	say_values(out, "--kind K", &dom_course_kind);
	say_values(out, "--target G", &dom_target_group);
	fprintf(out, "    --diagnosis D  a diagnosis group, or \"independent\"\n"
		     "    --municipality M\n");
	say_values(out, "--status S", &dom_course_status);
	fprintf(out,
		"    --from DATE, --to DATE  courses whose first to last day overlaps\n"
		"    --archived     include archived courses\n"
		"\n"
		"RUNS (gjennomføringer):\n"
		"  course run add COURSE --starts DATE [--ends DATE]\n"
		"      A run of this site's course COURSE; prints the run's id.\n"
		"  course run update RUN [--starts DATE] [--ends DATE] [--held ja|nei]\n"
		"        [--sessions-held N] [--patients N] [--relatives N]\n"
		"        [--professional-hours H] [--user-rep-hours H] [--forms N]\n"
		"        [--benefit-none N] [--benefit-some N] [--benefit-good N]\n"
		"        [--benefit-very-good N]\n"
		"      Report a run: whether it was held, sessions held, how many patients\n"
		"      and pårørende (relatives) took part, hours of professionals and of\n"
		"      brukerrepresentanter (e.g. 2.5), evaluation forms returned and their\n"
		"      answers to overall benefit: --benefit-none (ingen nytte), --benefit-some\n"
		"      (noe), --benefit-good (god), --benefit-very-good (svært god nytte);\n"
		"      the four add up to at most --forms. Only the course's owner adds and\n"
		"      reports runs.\n"
		"  course run list [COURSE] [--json]\n"
		"      The runs of COURSE, or of every course.\n"
		"\n"
		"EXPORT AND IMPORT:\n"
		"  course export [--format csv|json] [--network N] [--owner O] [--output FILE]\n"
		"      Every course here (archived ones too), or those of N or O, as CSV\n"
		"      (RFC 4180, UTF-8, a header row of the field names; the default) or as\n"
		"      a JSON array of objects with the same keys, to FILE or stdout. The\n"
		"      fields: owner, id, network, then those above (user_reps for\n"
		"      --user-reps ...), archived and updated_at.\n"
		"  course import FILE [--format csv|json]\n"
		"      Add or update this site's own courses from FILE (the format from its\n"
		"      extension .csv or .json unless given). All or nothing: one bad record\n"
		"      and nothing is imported; every error is listed (up to 50) with its\n"
		"      line (CSV) or index (JSON) and field. A record with an empty id is a\n"
		"      new course; an empty owner means this site; another site's owner is\n"
		"      an error. Empty numbers, ja/nei fields, age_group, delivery, status\n"
		"      and language keep their value (or the default). A CSV file whose\n"
		"      header is separated by semicolons is read so (a spreadsheet set to\n"
		"      Norwegian saves CSV (semikolondelt) that way), and one that is not\n"
		"      UTF-8 as Windows-1252, which the import then says.\n"
		"\n"
		"Exit status: 0 done, 1 refused or invalid (the message says why), 2 usage.\n");
}
