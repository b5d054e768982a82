/* src_guard.c — surviving a mapped file that shrinks while it is read.
 *
 * Local files are mapped and decoded in place.  When someone truncates a
 * mapped file, an access to a page past its new end raises SIGBUS, whose
 * default action kills the whole daemon and every job in it.  The guard
 * turns that fault into an error of the one source concerned:
 *
 * - a fixed registry of the mapped ranges, SRC_MAX_MAPPED slots, each
 *   claimed and freed with atomics under a sequence count (a seqlock), so
 *   that the signal handler can read it without a lock;
 * - a process-wide SIGBUS handler, installed once, that looks the faulting
 *   address up; inside a registered range it marks the slot faulted, maps
 *   an anonymous zero page over the rest of the range and returns, so the
 *   access and every later one read zeros; outside, it hands the signal to
 *   the handler that was there before (or dies of SIGBUS as before).
 *
 * Readers then ask src_check() after using a view and fail with the error
 * instead of trusting the zeros.  The zero pages are never written: they
 * replace file pages that no longer exist, in a read-only mapping.
 *
 * Sanitizers: ASan installs its own SIGBUS handler at start-up; with its
 * default handle_sigbus=1 it lets ours in, and ours chains to it, so a
 * fault outside our mappings is still reported by ASan.  With
 * handle_sigbus=2 ASan keeps the signal to itself: the install check below
 * then finds that ours is not in place and files are read with pread. */
#include "src_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One registered mapping.  seq is odd while the slot is being claimed or
 * freed; the handler trusts start and len only when seq is even and
 * unchanged across its reads of them.  len 0 marks a free slot. */
struct guard_slot {
	atomic_uint seq;
	atomic_uintptr_t start;
	atomic_size_t len;      /* rounded up to whole pages */
	atomic_int faulted;
};

static struct guard_slot slots[SRC_MAX_MAPPED];
static struct sigaction prev; /* the handler before ours, written once */
static uintptr_t pagesize;
static bool installed;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/* The handler reads these lock-free; a lock inside would defeat it. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2 &&
		       ATOMIC_LONG_LOCK_FREE == 2,
	       "the SIGBUS guard needs lock-free atomics");

/* In the handler: the slot whose range holds addr, or NULL; *end gets the
 * end of that range. */
static struct guard_slot *find_slot(uintptr_t addr, uintptr_t *end)
{
	for (size_t i = 0; i < SRC_MAX_MAPPED; i++) {
		struct guard_slot *sl = &slots[i];
		unsigned s = atomic_load(&sl->seq);
		if (s & 1)
			continue;
		uintptr_t start = atomic_load(&sl->start);
		size_t len = atomic_load(&sl->len);
		if (!len || addr - start >= len || atomic_load(&sl->seq) != s)
			continue;
		*end = start + len;
		return sl;
	}
	return NULL;
}

/* In the handler: replace the pages from the one holding addr to end, the
 * end of sl's range, with zeros (past a page the file lost, it holds none).
 * The flag is set first, so that a thread that reads the zeros this
 * mapping puts there also sees the flag when it checks (the mmap call
 * orders the two).  mmap(2) is not on POSIX's list of async-signal-safe
 * functions, but on Linux it is a plain system call with no user-space
 * lock (glibc's wrapper only sets errno, which the handler saves): this is
 * the one such call the guard makes.  Should it fail (no memory for the
 * page tables), the fault goes on as it would without us. */
static bool zero_fill(struct guard_slot *sl, uintptr_t addr, uintptr_t end)
{
	atomic_store(&sl->faulted, 1);
	uintptr_t page = addr & ~(pagesize - 1);
	void *p = mmap((void *)page, end - page, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return p != MAP_FAILED;
}

/* A fault that is not ours: what would have happened without us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
		if (prev.sa_flags & SA_SIGINFO)
			prev.sa_sigaction(sig, si, uc);
		else
			prev.sa_handler(sig);
		return;
	}
	/* A SIGBUS sent by kill() and ignored before us stays ignored. */
	if (prev.sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	/* Die of SIGBUS at the faulting instruction, with a core: the fault
	 * happens again on return; a sent signal is raised again and arrives
	 * when the handler returns. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct guard_slot *sl = NULL;
	uintptr_t end = 0;
	/* BUS_ADRERR is a page the mapped file does not hold any more (or
	 * could not be read); hardware memory errors and sent signals are
	 * not ours. */
	if (si->si_code == BUS_ADRERR)
		sl = find_slot((uintptr_t)si->si_addr, &end);
	if (!sl || !zero_fill(sl, (uintptr_t)si->si_addr, end))
		chain(sig, si, uc);
	errno = saved;
}

static void install(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	pagesize = ps > 0 ? (uintptr_t)ps : 4096;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev) < 0)
		return;
	/* A sanitizer may accept the call and keep its own handler. */
	struct sigaction now;
	if (sigaction(SIGBUS, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
	    now.sa_sigaction == on_sigbus)
		installed = true;
}

int src_guard_add(const void *start, size_t len)
{
	pthread_once(&install_once, install);
	if (!installed || !len)
		return -1;
	size_t span = (len + pagesize - 1) & ~(size_t)(pagesize - 1);
	for (int i = 0; i < SRC_MAX_MAPPED; i++) {
		struct guard_slot *sl = &slots[i];
		unsigned s = atomic_load(&sl->seq);
		/* A claim by another thread moves seq, so the exchange fails. */
		if ((s & 1) || atomic_load(&sl->len) ||
		    !atomic_compare_exchange_strong(&sl->seq, &s, s + 1))
			continue;
		atomic_store(&sl->start, (uintptr_t)start);
		atomic_store(&sl->faulted, 0);
		atomic_store(&sl->len, span);
		atomic_store(&sl->seq, s + 2);
		return i;
	}
	return -1;
}

void src_guard_remove(int slot)
{
	if (slot < 0 || slot >= SRC_MAX_MAPPED)
		return;
	struct guard_slot *sl = &slots[slot];
	unsigned s = atomic_load(&sl->seq);
	atomic_store(&sl->seq, s + 1);
	atomic_store(&sl->len, 0);
	atomic_store(&sl->start, 0);
	atomic_store(&sl->seq, s + 2);
}

bool src_guard_faulted(int slot)
{
	return slot >= 0 && slot < SRC_MAX_MAPPED && atomic_load(&slots[slot].faulted);
}

bool src_no_mmap(void)
{
	const char *no = getenv("ANAFS_NO_MMAP");
	return no && *no == '1';
}
