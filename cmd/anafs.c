/* anafs.c — the anafs command: dispatch to subcommands. */
#include "anafs_version.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: anafs COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  ls [--json] FILE [TREE]   list the trees and branches of a ROOT file\n"
		"  run QUERY [-j N] [--cutflow] [-o FILE]\n"
		"                            run a query on local threads, print hist.json\n"
		"  mount DIR [--state DIR] [--workers N] [--backend NAME] [--set KEY=VALUE]\n"
		"            [--foreground] [--allow-other]\n"
		"                            mount anafs on DIR: jobs as files\n"
		"  umount DIR [--state DIR]  unmount and stop the daemon\n"
		"  submit FILE [--mount DIR] [--name NAME]\n"
		"                            submit a query to a mount, print the job number\n"
		"  worker --connect URL      a worker process (started by the daemon or a pilot)\n"
		"  cache ls|stat|purge [URL] [--dir D] [--json]\n"
		"                            the node's disk cache of remote files\n"
		"  workers [--mount DIR] [--scale N]\n"
		"                            list a mount's workers, or set how many to run\n"
		"  status [--mount DIR] [--json]\n"
		"                            one line per job: number, name, status, progress, age\n"
		"  watch [N|NAME ...] [--mount DIR] [--interval S]\n"
		"                            live progress bars until the jobs end; exit code\n"
		"                            0 done, 1 failed, 3 cancelled, 4 invalid\n"
		"  help                      this text\n"
		"  --version                 print the version\n"
		"\n"
		"See docs/cli.md, or man anafs and man anafs-query once installed.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(cmd, "umount") || !strcmp(cmd, "unmount"))
		return cmd_umount(argc - 1, argv + 1);
	if (!strcmp(cmd, "submit"))
		return cmd_submit(argc - 1, argv + 1);
	if (!strcmp(cmd, "worker"))
		return cmd_worker(argc - 1, argv + 1);
	if (!strcmp(cmd, "cache"))
		return cmd_cache(argc - 1, argv + 1);
	if (!strcmp(cmd, "workers"))
		return cmd_workers(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("anafs %s\n", ANAFS_VERSION);
		return 0;
	}
	fprintf(stderr, "anafs: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
