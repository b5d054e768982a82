/* cmd_watch.c — `anafs watch [N|NAME ...] [--mount DIR] [--interval S]`:
 * a live progress line per job until the jobs end.
 *
 * It reads the mount's files only: each job's progress.json, every
 * interval, and its `wait` file, polled (poll() says POLLIN once the job is
 * over), so that the end is seen at once rather than at the next tick.  On
 * a terminal the lines are redrawn in place: each frame is one write() that
 * moves the cursor up over the previous frame and clears each line as it
 * rewrites it, every line cut to the terminal's width (asked again on
 * SIGWINCH) so that none wraps.  Elsewhere (a pipe, a file) it prints a
 * plain line for a job when its status changes or its percentage has moved
 * by WATCH_STEP since the line before: a bounded number of lines per job.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP, SIGWINCH) only write a byte into a
 * pipe the main loop polls: all drawing happens in the loop, which shows
 * the cursor again before it exits. */
#include "cmd.h"
#include "cmd_jobs.h"
#include "fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define WATCH_STEP 10.0      /* percent between two plain lines of a job */
#define WATCH_MAX_JOBS 4096  /* jobs one watch follows */
#define WATCH_MAX_POLLED 256 /* of them, those whose `wait` is polled */
#define WATCH_LOST_AFTER 3   /* failed reads in a row that mean the mount is gone */

struct watched {
	int64_t id;
	struct cmd_job j;
	int waitfd;          /* jobs/N/wait, polled; -1 once over or not polled */
	int fails;           /* failed reads in a row */
	bool over;
	double shown_pct;    /* plain mode: what the last line said */
	char shown_status[16];
};

struct watch {
	const char *mnt;
	struct watched *w;
	size_t n;
	bool tty, utf8;
	int cols, rows;      /* terminal size */
	int drawn;           /* lines of the frame on screen */
	int *drawn_w;        /* their widths, for a resize: one per job */
	size_t idw, namew;   /* widths of the number and name columns */
};

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t sig_stop, sig_resize;

static void on_signal(int s)
{
	int e = errno;
	if (s == SIGWINCH)
		sig_resize = 1;
	else
		sig_stop = 1;
	if (write(sig_pipe[1], "x", 1) < 0) {
		/* full: the loop wakes anyway */
	}
	errno = e;
}

static int watch_usage(void)
{
	fprintf(stderr, "usage: anafs watch [N|NAME ...] [--mount DIR] [--interval S]\n"
			"(the mount is --mount DIR, or $ANAFS_MOUNT)\n");
	return CMD_EXIT_USAGE;
}

/* The terminal's size into wt->cols and wt->rows (80x24 when unknown). */
static void term_size(struct watch *wt)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row) {
		wt->cols = 80;
		wt->rows = 24;
		return;
	}
	wt->cols = ws.ws_col < 20 ? 20 : ws.ws_col > 1000 ? 1000 : ws.ws_col;
	wt->rows = ws.ws_row < 3 ? 3 : ws.ws_row;
}

/* "[█████░░░░░]" (or "[#####-----]") of width cols into out. */
static void bar(char *out, size_t cap, double pct, int cols, bool utf8)
{
	int inner = cols - 2, fill = (int)floor(pct / 100.0 * inner + 1e-9);
	fill = fill < 0 ? 0 : fill > inner ? inner : fill;
	size_t o = 0;
	out[o++] = '[';
	for (int i = 0; i < inner && o + 4 < cap; i++) {
		const char *c = utf8 ? (i < fill ? "\xe2\x96\x88" : "\xe2\x96\x91") : (i < fill ? "#" : "-");
		size_t l = strlen(c);
		memcpy(out + o, c, l);
		o += l;
	}
	out[o++] = ']';
	out[o] = 0;
}

/* The fields after the bar: percent, status, events, rate, ETA, workers
 * and what is wrong or awaited.  The status comes early (a narrow
 * terminal cuts the end of the line) and the numbers have fixed widths,
 * so that the bars of every job have one width that holds still. */
static void line_right(const struct cmd_job *j, char *out, size_t cap)
{
	char done[32], total[32], rate[32], eta[32], extra[256] = "";
	fmt_count(done, sizeof(done), (double)j->events_done);
	fmt_count(total, sizeof(total), (double)j->events_total);
	fmt_count(rate, sizeof(rate), j->rate);
	fmt_eta(eta, sizeof(eta), j->eta);
	size_t e = 0;
	if (j->retrying)
		e += (size_t)snprintf(extra + e, sizeof(extra) - e, "  %d to retry", j->retrying);
	if (j->skipped && e < sizeof(extra))
		e += (size_t)snprintf(extra + e, sizeof(extra) - e, "  %d left out", j->skipped);
	if (*j->note && e < sizeof(extra))
		snprintf(extra + e, sizeof(extra) - e, "  %s", j->note);
	snprintf(out, cap, "%5.1f%%  %-9s  %6s/%s ev  %7s ev/s  ETA %s  %d worker%s%s", j->percent,
		 j->status, done, total, rate, eta, j->workers, j->workers == 1 ? "" : "s", extra);
}

/* The number and name, padded to their columns. */
static void line_left(const struct watch *wt, const struct cmd_job *j, char *out, size_t cap)
{
	char name[300];
	size_t nw = cmd_fit(name, sizeof(name), *j->name ? j->name : "-", wt->namew);
	snprintf(out, cap, "%*lld %s%*s  ", (int)wt->idw, (long long)j->id, name,
		 (int)(wt->namew - nw), "");
}

/* One job's line: with a bar of bw columns when bw > 0, cut to cols
 * characters when cols > 0. */
static void job_line(const struct watch *wt, const struct watched *w, char *out, size_t cap,
		     int bw, int cols)
{
	char left[400], right[512], line[2048], b[512] = "";
	line_left(wt, &w->j, left, sizeof(left));
	line_right(&w->j, right, sizeof(right));
	if (bw > 0) {
		bar(b, sizeof(b), w->j.percent, bw, wt->utf8);
		strcat(b, "  ");
	}
	snprintf(line, sizeof(line), "%s%s%s", left, b, right);
	if (cols > 0)
		cmd_fit(out, cap, line, (size_t)cols);
	else
		snprintf(out, cap, "%s", line);
}

/* The bar's width in a frame of cols columns: what the longest line
 * leaves, at most 42; none when under 12. */
static int bar_width(const struct watch *wt, int cols)
{
	int bw = 42;
	for (size_t i = 0; i < wt->n; i++) {
		char left[400], right[512];
		line_left(wt, &wt->w[i].j, left, sizeof(left));
		line_right(&wt->w[i].j, right, sizeof(right));
		int room = cols - (int)cmd_width(left) - (int)cmd_width(right) - 2;
		bw = room < bw ? room : bw;
	}
	return bw >= 12 ? bw : 0;
}

/* Everything of buf to stdout, however write() cuts it. */
static void put(const char *buf, size_t len)
{
	while (len) {
		ssize_t r = write(STDOUT_FILENO, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		buf += r;
		len -= (size_t)r;
	}
}

/* The frame: back over the last one, each line cleared and rewritten. */
static void draw(struct watch *wt)
{
	size_t cap = 64 + wt->n * 2200, o = 0;
	char *buf = malloc(cap);
	if (!buf)
		return;
	/* Back to the frame's first line.  A terminal made narrower may have
	 * wrapped the lines drawn before (tmux and VTE reflow): each then
	 * takes as many rows as its width asks at the new width. */
	int up = 0;
	for (int i = 0; i < wt->drawn; i++)
		up += wt->drawn_w[i] > wt->cols ? (wt->drawn_w[i] + wt->cols - 1) / wt->cols : 1;
	if (up)
		o += (size_t)snprintf(buf + o, cap - o, "\r\033[%dA", up);
	/* A frame taller than the terminal could not be gone back over: past
	 * its height, the last line counts the jobs left out. */
	size_t shown = wt->n, left_out = 0;
	if (shown > (size_t)wt->rows - 1) {
		shown = (size_t)wt->rows - 2;
		left_out = wt->n - shown;
	}
	int bw = bar_width(wt, wt->cols - 1);
	for (size_t i = 0; i < shown; i++) {
		char line[2100];
		job_line(wt, &wt->w[i], line, sizeof(line), bw, wt->cols - 1);
		wt->drawn_w[i] = (int)cmd_width(line);
		o += (size_t)snprintf(buf + o, cap - o, "\033[2K%s\n", line);
	}
	if (left_out) {
		size_t active = 0;
		for (size_t i = shown; i < wt->n; i++)
			active += !wt->w[i].over;
		char text[160], line[200];
		snprintf(text, sizeof(text), "... and %zu more jobs, %zu of them not over "
			 "(a taller terminal shows them; anafs status lists them)", left_out, active);
		wt->drawn_w[shown] = (int)cmd_fit(line, sizeof(line), text, (size_t)wt->cols - 1);
		o += (size_t)snprintf(buf + o, cap - o, "\033[2K%s\n", line);
	}
	o += (size_t)snprintf(buf + o, cap - o, "\033[J"); /* what a larger frame left */
	put(buf, o < cap ? o : cap - 1);
	wt->drawn = (int)(shown + (left_out > 0));
	free(buf);
}

/* Plain mode: a line for each job whose status changed or whose
 * percentage moved by WATCH_STEP since its last line. */
static void print_changes(struct watch *wt)
{
	for (size_t i = 0; i < wt->n; i++) {
		struct watched *w = &wt->w[i];
		bool moved = fabs(w->j.percent - w->shown_pct) >= WATCH_STEP;
		if (*w->shown_status && !moved && !strcmp(w->shown_status, w->j.status))
			continue;
		char line[2100];
		job_line(wt, w, line, sizeof(line), 0, 0);
		printf("job %s\n", line);
		w->shown_pct = w->j.percent;
		snprintf(w->shown_status, sizeof(w->shown_status), "%s", w->j.status);
	}
	fflush(stdout);
}

/* Read every job not over yet.  Returns 0, or -1 when the mount is lost. */
static int refresh(struct watch *wt)
{
	for (size_t i = 0; i < wt->n; i++) {
		struct watched *w = &wt->w[i];
		if (w->over)
			continue;
		char why[PATH_MAX + 200];
		struct cmd_job j;
		if (cmd_job_read(wt->mnt, w->id, &j, why, sizeof(why))) {
			if (++w->fails >= WATCH_LOST_AFTER) {
				fprintf(stderr, "anafs watch: %s\n", why);
				return -1;
			}
			continue;
		}
		w->fails = 0;
		w->j = j;
		if (cmd_job_over(j.status)) {
			w->over = true;
			if (w->waitfd >= 0)
				close(w->waitfd);
			w->waitfd = -1;
		}
		size_t nw = cmd_width(j.name);
		wt->namew = nw > wt->namew ? (nw > 20 ? 20 : nw) : wt->namew;
	}
	return 0;
}

static bool all_over(const struct watch *wt)
{
	for (size_t i = 0; i < wt->n; i++)
		if (!wt->w[i].over)
			return false;
	return true;
}

/* Sleep until the interval passes, a job's `wait` is readable or a signal
 * comes.  A `wait` that answered is closed: it is not polled again. */
static void sleep_tick(struct watch *wt, int ms)
{
	struct pollfd *p = calloc(wt->n + 1, sizeof(*p));
	size_t *who = calloc(wt->n + 1, sizeof(*who));
	if (!p || !who) {
		free(p);
		free(who);
		poll(NULL, 0, ms);
		return;
	}
	size_t np = 0;
	p[np++] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
	for (size_t i = 0; i < wt->n; i++)
		if (wt->w[i].waitfd >= 0) {
			who[np] = i;
			p[np++] = (struct pollfd){.fd = wt->w[i].waitfd, .events = POLLIN};
		}
	if (poll(p, np, ms) > 0) {
		char drain[64];
		if (p[0].revents && read(sig_pipe[0], drain, sizeof(drain)) < 0) {
			/* nothing to do: the flags say what came */
		}
		for (size_t k = 1; k < np; k++)
			if (p[k].revents) {
				close(wt->w[who[k]].waitfd);
				wt->w[who[k]].waitfd = -1;
			}
	}
	free(p);
	free(who);
}

/* The jobs to watch: those named, or every job not over yet.  Returns 0,
 * or an exit code after saying why. */
static int pick(struct watch *wt, char **names, size_t nnames)
{
	int64_t *ids = NULL;
	size_t n = 0;
	if (nnames) {
		ids = calloc(nnames, sizeof(*ids));
		if (!ids)
			return CMD_EXIT_FAILED;
		for (size_t i = 0; i < nnames; i++) {
			int rc = cmd_job_resolve(wt->mnt, names[i], &ids[n]);
			if (rc) {
				fprintf(stderr, "anafs watch: %s: %s\n", names[i],
					rc == -ENOENT ? "no such job (anafs status lists them)"
						      : strerror(-rc));
				free(ids);
				return CMD_EXIT_USAGE;
			}
			bool dup = false;
			for (size_t k = 0; k < n; k++)
				dup |= ids[k] == ids[n];
			n += !dup;
		}
	} else {
		int rc = cmd_job_list(wt->mnt, &ids, &n);
		if (rc) {
			fprintf(stderr, "anafs watch: %s/jobs: %s (is anafs mounted on %s?)\n", wt->mnt,
				strerror(-rc), wt->mnt);
			return CMD_EXIT_USAGE;
		}
	}
	wt->w = calloc(n ? n : 1, sizeof(*wt->w));
	wt->drawn_w = calloc(n + 1, sizeof(*wt->drawn_w));
	if (!wt->w || !wt->drawn_w) {
		free(ids);
		return CMD_EXIT_FAILED;
	}
	for (size_t i = 0; i < n && wt->n < WATCH_MAX_JOBS; i++) {
		struct watched *w = &wt->w[wt->n];
		char why[PATH_MAX + 200];
		if (cmd_job_read(wt->mnt, ids[i], &w->j, why, sizeof(why))) {
			if (!nnames)
				continue; /* not ours to judge: only those asked for */
			fprintf(stderr, "anafs watch: %s\n", why);
			free(ids);
			return CMD_EXIT_USAGE;
		}
		w->over = cmd_job_over(w->j.status);
		if (!nnames && w->over)
			continue;
		w->id = ids[i];
		w->waitfd = -1;
		w->shown_pct = -WATCH_STEP;
		if (!w->over && wt->n < WATCH_MAX_POLLED) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/jobs/%lld/wait", wt->mnt, (long long)w->id);
			w->waitfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		}
		wt->n++;
	}
	free(ids);
	int64_t maxid = 1;
	for (size_t i = 0; i < wt->n; i++) {
		maxid = wt->w[i].id > maxid ? wt->w[i].id : maxid;
		size_t nw = cmd_width(wt->w[i].j.name);
		wt->namew = nw > wt->namew ? (nw > 20 ? 20 : nw) : wt->namew;
	}
	char d[32];
	wt->idw = (size_t)snprintf(d, sizeof(d), "%lld", (long long)maxid);
	return 0;
}

/* The exit code of jobs that are over: the highest of theirs. */
static int final_code(const struct watch *wt)
{
	int code = CMD_EXIT_DONE;
	for (size_t i = 0; i < wt->n; i++) {
		int c = cmd_job_exit_code(wt->w[i].j.status);
		code = c > code ? c : code;
	}
	return code;
}

int cmd_watch(int argc, char **argv)
{
	struct watch wt = {.mnt = getenv("ANAFS_MOUNT"), .namew = 4};
	double interval = 0.5;
	char **names = calloc((size_t)argc, sizeof(*names));
	size_t nnames = 0;
	if (!names)
		return CMD_EXIT_FAILED;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mount") && i + 1 < argc) {
			wt.mnt = argv[++i];
		} else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			char *end;
			interval = strtod(argv[++i], &end);
			if (*end || end == argv[i] || !(interval >= 0.05 && interval <= 3600)) {
				fprintf(stderr, "anafs watch: --interval %s: seconds, 0.05 to 3600\n",
					argv[i]);
				free(names);
				return CMD_EXIT_USAGE;
			}
		} else if (argv[i][0] == '-') {
			free(names);
			return watch_usage();
		} else {
			names[nnames++] = argv[i];
		}
	}
	if (!wt.mnt || !*wt.mnt) {
		free(names);
		return watch_usage();
	}
	int code = pick(&wt, names, nnames);
	free(names);
	if (code)
		goto out;
	if (!wt.n) {
		printf("no job is queued, running or paused on %s\n", wt.mnt);
		goto out;
	}
	if (pipe(sig_pipe) || fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK) ||
	    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "anafs watch: pipe: %s\n", strerror(errno));
		code = CMD_EXIT_FAILED;
		goto out;
	}
	wt.tty = isatty(STDOUT_FILENO);
	if (setlocale(LC_CTYPE, ""))
		wt.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll wakes */
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	if (wt.tty) {
		term_size(&wt);
		put("\033[?25l", 6); /* the cursor hidden while the lines redraw */
	}
	int ms = (int)lround(interval * 1000);
	for (;;) {
		if (refresh(&wt)) {
			code = CMD_EXIT_LOST;
			goto out;
		}
		if (sig_resize) {
			sig_resize = 0;
			if (wt.tty)
				term_size(&wt);
		}
		if (wt.tty)
			draw(&wt);
		else
			print_changes(&wt);
		if (all_over(&wt) || sig_stop)
			break;
		sleep_tick(&wt, ms);
	}
	if (sig_stop && !all_over(&wt)) {
		fprintf(stderr, "anafs watch: stopped watching; the jobs go on (anafs status)\n");
		code = CMD_EXIT_INTERRUPTED;
	} else {
		code = final_code(&wt);
	}
out:
	if (wt.tty)
		put("\033[?25h", 6); /* the cursor back, however it ends */
	for (size_t i = 0; i < wt.n; i++)
		if (wt.w[i].waitfd >= 0)
			close(wt.w[i].waitfd);
	free(wt.w);
	free(wt.drawn_w);
	return code;
}
