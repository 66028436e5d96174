/* SPDX-License-Identifier: MIT */
/* lmsyncd: the lmsync daemon. Runs in the foreground; logs to stderr. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

static const char usage[] =
    "usage: lmsyncd [-d DIR] [--log-level LEVEL]\n"
    "\n"
    "Run the lmsync daemon for the site in DIR, in the foreground. It keeps the\n"
    "site's store in step with its peers and answers `lmsync status`.\n"
    "\n"
    "  -d, --dir DIR        site directory (default: $LMSYNC_DIR, else\n"
    "                       ~/.local/share/lmsync); create it with `lmsync init`\n"
    "      --log-level L    debug, info, warn or error (overrides lmsync.conf)\n"
    "  -h, --help           show this help\n"
    "      --version        print the version\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop it cleanly (exit 0); SIGHUP reloads the\n"
    "peer list. Logs go to stderr, one line per event.\n"
    "\n"
    "Exit status: 0 stopped by a signal; 1 could not start, or stopped on an\n"
    "error it logged (such as a disk that fails to flush); 2 usage error.\n";

static int parse_args(int argc, char **argv, struct daemon_options *opt)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			opt->dir = optarg;
			break;
		case 'l':
			opt->log_level = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("lmsyncd %s\n", LMSYNC_VERSION);
			exit(0);
		default:
			fputs("Try 'lmsyncd --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lmsyncd: unexpected argument '%s'\n%s", argv[optind], usage);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_options opt = {NULL, NULL};
	struct daemon d;
	lm_err err;
	int rc;

	if (parse_args(argc, argv, &opt) != 0)
		return 2;
	if (sodium_init() < 0) {
		log_error("daemon", "cannot start: libsodium failed to initialise");
		return 1;
	}
	rc = daemon_open(&d, &opt, &err);
	if (rc != 0)
		log_error("daemon", "cannot start: %s", err.msg);
	else if ((rc = daemon_run(&d, &err)) != 0)
		log_error("daemon", "%s", err.msg);
	daemon_close(&d);
	if (rc == 0)
		log_info("daemon", "stopped");
	return rc == 0 ? 0 : 1;
}
