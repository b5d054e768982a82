/* fs_node.c — the inode table, the names of jobs and the scratch files.
 * Every function here runs under m->lock.
 *
 * Nodes are found by number (by_ino) and, while they are what a lookup
 * of their name returns, by what they name (by_key).  A node lives while
 * the kernel refers to it (lookup count), a handle has it open, or it is
 * pinned (the links and the scratch files, which have no other owner). */
#include "fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_of(enum fs_what what, int64_t job, enum fs_file f, const char *name)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	uint64_t parts[3] = {(uint64_t)what, (uint64_t)job, (uint64_t)f};
	const unsigned char *p = (const unsigned char *)parts;
	for (size_t i = 0; i < sizeof(parts); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	for (p = (const unsigned char *)(name ? name : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static size_t slot(const struct fs_mount *m, uint64_t h)
{
	return (size_t)(h ^ (h >> 29)) & (m->nbuckets - 1);
}

int fs_nodes_init(struct fs_mount *m)
{
	m->nbuckets = 1024;
	m->by_ino = calloc(m->nbuckets, sizeof(*m->by_ino));
	m->by_key = calloc(m->nbuckets, sizeof(*m->by_key));
	m->next_ino = FS_INO_NODE;
	return m->by_ino && m->by_key ? 0 : -ENOMEM;
}

static void node_free(struct fs_node *n)
{
	if (n->sc) {
		free(n->sc->buf);
		free(n->sc);
	}
	free(n->name);
	free(n);
}

void fs_nodes_free(struct fs_mount *m)
{
	for (size_t i = 0; m->by_ino && i < m->nbuckets; i++)
		for (struct fs_node *n = m->by_ino[i], *next; n; n = next) {
			next = n->next_ino;
			node_free(n);
		}
	free(m->by_ino);
	free(m->by_key);
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	m->by_ino = m->by_key = NULL;
	m->names = NULL;
}

/* Twice the buckets once there are twice as many nodes (rehash both). */
static void grow(struct fs_mount *m)
{
	size_t nb = m->nbuckets * 2;
	struct fs_node **bi = calloc(nb, sizeof(*bi)), **bk = calloc(nb, sizeof(*bk));
	if (!bi || !bk) {
		free(bi);
		free(bk);
		return; /* longer chains, still correct */
	}
	size_t old = m->nbuckets;
	struct fs_node **oi = m->by_ino, **ok = m->by_key;
	m->nbuckets = nb;
	for (size_t i = 0; i < old; i++) {
		for (struct fs_node *n = oi[i], *next; n; n = next) {
			next = n->next_ino;
			size_t s = slot(m, n->ino);
			n->next_ino = bi[s];
			bi[s] = n;
		}
		for (struct fs_node *n = ok[i], *next; n; n = next) {
			next = n->next_key;
			size_t s = slot(m, n->key);
			n->next_key = bk[s];
			bk[s] = n;
		}
	}
	free(oi);
	free(ok);
	m->by_ino = bi;
	m->by_key = bk;
}

struct fs_node *fs_node_get(struct fs_mount *m, uint64_t ino)
{
	for (struct fs_node *n = m->by_ino[slot(m, ino)]; n; n = n->next_ino)
		if (n->ino == ino)
			return n;
	return NULL;
}

struct fs_node *fs_node_new(struct fs_mount *m, enum fs_what what, int64_t job, enum fs_file f,
			    const char *name)
{
	struct fs_node *n = calloc(1, sizeof(*n));
	if (!n || (name && !(n->name = strdup(name)))) {
		free(n);
		return NULL;
	}
	if (m->nnodes >= 2 * m->nbuckets)
		grow(m);
	n->ino = m->next_ino++;
	n->what = what;
	n->job = job;
	n->f = f;
	n->key = key_of(what, job, f, name);
	size_t s = slot(m, n->ino);
	n->next_ino = m->by_ino[s];
	m->by_ino[s] = n;
	m->nnodes++;
	return n;
}

static bool same(const struct fs_node *n, enum fs_what what, int64_t job, enum fs_file f,
		 const char *name)
{
	return n->what == what && n->job == job && n->f == f &&
	       !strcmp(n->name ? n->name : "", name ? name : "");
}

struct fs_node *fs_node_current(struct fs_mount *m, enum fs_what what, int64_t job,
				enum fs_file f, const char *name)
{
	uint64_t key = key_of(what, job, f, name);
	for (struct fs_node *n = m->by_key[slot(m, key)]; n; n = n->next_key)
		if (n->key == key && same(n, what, job, f, name)) {
			n->nlookup++;
			return n;
		}
	struct fs_node *n = fs_node_new(m, what, job, f, name);
	if (!n)
		return NULL;
	n->current = true;
	n->nlookup = 1;
	size_t s = slot(m, key);
	n->next_key = m->by_key[s];
	m->by_key[s] = n;
	return n;
}

static void unkey(struct fs_mount *m, struct fs_node *n)
{
	if (!n->current)
		return;
	for (struct fs_node **p = &m->by_key[slot(m, n->key)]; *p; p = &(*p)->next_key)
		if (*p == n) {
			*p = n->next_key;
			break;
		}
	n->current = false;
}

void fs_node_bind(struct fs_mount *m, struct fs_node *n, size_t len, double mtime)
{
	unkey(m, n);
	n->bound = true;
	n->bound_len = len;
	n->bound_mtime = mtime;
}

void fs_node_maybe_free(struct fs_mount *m, struct fs_node *n)
{
	if (n->nlookup || n->opens || n->pinned)
		return;
	unkey(m, n);
	for (struct fs_node **p = &m->by_ino[slot(m, n->ino)]; *p; p = &(*p)->next_ino)
		if (*p == n) {
			*p = n->next_ino;
			break;
		}
	m->nnodes--;
	node_free(n);
}

void fs_node_forget(struct fs_mount *m, uint64_t ino, uint64_t nlookup)
{
	struct fs_node *n = ino >= FS_INO_NODE ? fs_node_get(m, ino) : NULL;
	if (!n)
		return;
	n->nlookup = nlookup < n->nlookup ? n->nlookup - nlookup : 0;
	fs_node_maybe_free(m, n);
}

/* ---- names ---- */

/* Index of name in m->names, or where it would go (*found false). */
static size_t name_index(struct fs_mount *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->nnames;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->names[mid]->name, name);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

struct fs_name *fs_name_find(struct fs_mount *m, const char *name)
{
	bool found;
	size_t i = name_index(m, name, &found);
	return found ? m->names[i] : NULL;
}

struct fs_name *fs_name_add(struct fs_mount *m, const char *name, uid_t uid, gid_t gid)
{
	bool found;
	size_t i = name_index(m, name, &found);
	if (found)
		return m->names[i];
	if (strlen(name) > FS_MAX_NAME)
		return NULL;
	if (m->nnames == m->capnames) {
		size_t cap = m->capnames ? 2 * m->capnames : 64;
		struct fs_name **v = realloc(m->names, cap * sizeof(*v));
		if (!v)
			return NULL;
		m->names = v;
		m->capnames = cap;
	}
	struct fs_name *nm = calloc(1, sizeof(*nm));
	if (!nm)
		return NULL;
	strcpy(nm->name, name);
	nm->uid = uid;
	nm->gid = gid;
	nm->mtime = fs_now();
	memmove(m->names + i + 1, m->names + i, (m->nnames - i) * sizeof(*m->names));
	m->names[i] = nm;
	m->nnames++;
	return nm;
}

void fs_name_job(struct fs_mount *m, const char *name, int64_t job, uid_t uid, double when)
{
	/* A job of an older anafs may have a name today's rules refuse: it
	 * gets no jobs/NAME (no lookup could reach it). */
	char q[NAME_MAX + 1], stem[FS_MAX_NAME + 1];
	enum fs_class cls;
	const char *why;
	snprintf(q, sizeof(q), "%.200s.query", name);
	if (strlen(name) > FS_MAX_NAME || fs_name_class(q, &cls, stem, &why) || cls != FS_C_QUERY)
		return;
	struct fs_name *nm = fs_name_add(m, name, uid, m->o.gid);
	if (!nm || job < nm->job)
		return;
	nm->job = job;
	nm->uid = uid;
	nm->gid = m->o.gid;
	nm->mtime = when;
	if (!nm->link_ino) {
		struct fs_node *n = fs_node_new(m, W_LINK, 0, FF_NONE, name);
		if (n) {
			n->pinned = true;
			nm->link_ino = n->ino;
		}
	}
	if (when > m->jobs_mtime)
		m->jobs_mtime = when;
}

void fs_name_unwrite(struct fs_mount *m, struct fs_name *nm)
{
	if (--nm->writers > 0 || nm->job)
		return;
	bool found;
	size_t i = name_index(m, nm->name, &found);
	if (!found)
		return;
	memmove(m->names + i, m->names + i + 1, (m->nnames - i - 1) * sizeof(*m->names));
	m->nnames--;
	free(nm);
}

/* ---- scratch files ---- */

struct fs_scratch *fs_scratch_find(struct fs_mount *m, const char *name)
{
	for (int i = 0; i < m->nscratch; i++)
		if (!strcmp(m->scratch[i]->name, name))
			return m->scratch[i];
	return NULL;
}

struct fs_scratch *fs_scratch_new(struct fs_mount *m, const char *name, uid_t uid, gid_t gid,
				  mode_t mode)
{
	if (m->nwriting >= FS_MAX_DRAFTS || m->nscratch >= FS_MAX_DRAFTS)
		return NULL;
	struct fs_scratch *s = calloc(1, sizeof(*s));
	struct fs_node *n = s ? fs_node_new(m, W_SCRATCH, 0, FF_NONE, NULL) : NULL;
	if (!n) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->uid = uid;
	s->gid = gid;
	s->mode = mode & 0777;
	s->mtime = fs_now();
	s->linked = true;
	s->node = n;
	n->sc = s;
	n->pinned = true;
	m->scratch[m->nscratch++] = s;
	m->nwriting++;
	return s;
}

void fs_scratch_unlink(struct fs_mount *m, struct fs_scratch *s)
{
	if (!s->linked)
		return;
	for (int i = 0; i < m->nscratch; i++)
		if (m->scratch[i] == s) {
			m->scratch[i] = m->scratch[--m->nscratch];
			break;
		}
	s->linked = false;
	m->nwriting--;
	s->node->pinned = false;
	fs_node_maybe_free(m, s->node);
}

int fs_buf_reserve(char **buf, size_t *cap, size_t end)
{
	if (end <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < end)
		c *= 2;
	char *p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}
