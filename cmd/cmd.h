/* cmd.h — the subcommands of anafs.  Each takes argc/argv starting at its
 * own name and returns the process exit status: 0 ok, 1 failure, 2 usage. */
#ifndef ANAFS_CMD_H
#define ANAFS_CMD_H

int cmd_ls(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_workers(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#include <stddef.h>
#include <stdint.h>

/* The default state folder: $XDG_STATE_HOME/anafs, else
 * ~/.local/state/anafs (cap bytes). */
void cmd_default_state(char *out, size_t cap);

/* A size such as 4096, 512M, 4G or 1.5T (powers of 1024) into *out:
 * 0, or -1 when s is not one. */
int cmd_parse_size(const char *s, uint64_t *out);

#endif
