/* test_wire_bounds.c — every bound of every message type (wire.h), both
 * ways: at its bound a field is encoded and decoded, one past it the
 * encoder refuses it (-EINVAL, -EFBIG for a blob past WIRE_MAX_MSG) and
 * the decoder refuses a hand-made frame that carries it (-EBADMSG),
 * without moving the session's recv_seq. */
#include "wire_test.h"

/* ---- bounds, the encoder's side: the sample of type changed by fix ---- */

static int enc_rc(unsigned type, void (*fix)(struct wire_msg *))
{
	struct wire_msg m;
	sample(type, &m);
	fix(&m);
	return round_trip(&m);
}

/* Strings in big of WIRE_MAX_PATH - 1 bytes and of one more. */
#define ATMAX (big + sizeof(big) - WIRE_MAX_PATH)
#define OVER (ATMAX - 1)
#define FIX(name, body) static void name(struct wire_msg *m) { body; }
#define FILL(arr, n) (memset(arr, 'x', n), (arr)[n] = 0)
FIX(h_name_max, FILL(m->u.hello.name, WIRE_MAX_NAME - 1))
FIX(h_name_over, memset(m->u.hello.name, 'x', WIRE_MAX_NAME))
FIX(h_name_empty, m->u.hello.name[0] = 0)
FIX(h_name_ctl, m->u.hello.name[1] = '\n')
FIX(h_host_max, FILL(m->u.hello.host, WIRE_MAX_NAME - 1))
FIX(h_host_over, memset(m->u.hello.host, 'x', WIRE_MAX_NAME))
FIX(h_backend_over, memset(m->u.hello.backend, 'x', WIRE_MAX_NAME))
FIX(h_pilot_max, FILL(m->u.hello.pilot, WIRE_MAX_NAME - 1))
FIX(h_pilot_over, memset(m->u.hello.pilot, 'x', WIRE_MAX_NAME))
FIX(h_pid0, m->u.hello.pid = 0)
FIX(h_slots_max, m->u.hello.slots = WIRE_MAX_SLOTS)
FIX(h_slots_over, m->u.hello.slots = WIRE_MAX_SLOTS + 1)
FIX(h_slots0, m->u.hello.slots = 0)
FIX(w_lease0, m->u.welcome.lease_ms = 0)
FIX(w_period0, m->u.welcome.progress_ms = 0)
FIX(t_text_max, m->u.task.text = big; m->u.task.text_len = WIRE_MAX_TEXT)
FIX(t_text_over, m->u.task.text = big; m->u.task.text_len = WIRE_MAX_TEXT + 1)
FIX(t_text_nul, m->u.task.text = "ab\0c"; m->u.task.text_len = 4)
FIX(t_base_max, m->u.task.basedir = ATMAX)
FIX(t_base_over, m->u.task.basedir = OVER)
FIX(t_url_max, m->u.task.url = ATMAX)
FIX(t_url_over, m->u.task.url = OVER)
FIX(t_tree_max, m->u.task.tree = ATMAX)
FIX(t_tree_over, m->u.task.tree = OVER)
FIX(t_url_empty, m->u.task.url = "")
FIX(t_url_null, m->u.task.url = NULL)
FIX(t_entries_neg, m->u.task.entries = -1; m->u.task.first = m->u.task.last = 0)
FIX(t_first_neg, m->u.task.first = -1)
FIX(t_first_last, m->u.task.first = m->u.task.last + 1)
FIX(t_last_all, m->u.task.last = m->u.task.entries)
FIX(t_last_over, m->u.task.last = m->u.task.entries + 1)
FIX(t_job_neg, m->u.task.key.job = -1)
FIX(p_n_max, m->u.progress.n = WIRE_MAX_PROGRESS)
FIX(p_n_over, m->u.progress.n = WIRE_MAX_PROGRESS + 1)
FIX(p_busy_max, m->u.progress.busy = WIRE_MAX_SLOTS)
FIX(p_busy_over, m->u.progress.busy = WIRE_MAX_SLOTS + 1)
FIX(p_events_neg, m->u.progress.t[2].events = -1)
FIX(r_why_max, FILL(m->u.result.why, WIRE_MAX_WHY - 1))
FIX(r_why_over, memset(m->u.result.why, 'x', WIRE_MAX_WHY))
FIX(r_rc_pos, m->u.result.rc = 1)
FIX(r_rc_blob, m->u.result.rc = -5)
FIX(r_events_neg, m->u.result.events = -1)
FIX(r_blob_over, m->u.result.blob_len = WIRE_MAX_MSG + 1)
FIX(b_why_max, FILL(m->u.bye.why, sizeof(m->u.bye.why) - 1))
FIX(b_why_over, memset(m->u.bye.why, 'x', sizeof(m->u.bye.why)))
FIX(k_job_neg, m->u.key.job = -1)

static void test_bounds_encode(void)
{
	memset(big, 'q', sizeof(big) - 1);
	static const struct {
		unsigned type;
		void (*fix)(struct wire_msg *);
		int rc;
		const char *what;
	} cases[] = {
		{ WIRE_HELLO, h_name_max, 0, "hello name at its bound" },
		{ WIRE_HELLO, h_name_over, -EINVAL, "hello name one over" },
		{ WIRE_HELLO, h_name_empty, -EINVAL, "hello name empty" },
		{ WIRE_HELLO, h_name_ctl, -EINVAL, "hello name with a newline" },
		{ WIRE_HELLO, h_host_max, 0, "hello host at its bound" },
		{ WIRE_HELLO, h_host_over, -EINVAL, "hello host one over" },
		{ WIRE_HELLO, h_backend_over, -EINVAL, "hello backend one over" },
		{ WIRE_HELLO, h_pilot_max, 0, "hello pilot at its bound" },
		{ WIRE_HELLO, h_pilot_over, -EINVAL, "hello pilot one over" },
		{ WIRE_HELLO, h_pid0, -EINVAL, "hello pid 0" },
		{ WIRE_HELLO, h_slots_max, 0, "hello slots at the bound" },
		{ WIRE_HELLO, h_slots_over, -EINVAL, "hello slots one over" },
		{ WIRE_HELLO, h_slots0, -EINVAL, "hello slots 0" },
		{ WIRE_WELCOME, w_lease0, -EINVAL, "welcome lease 0" },
		{ WIRE_WELCOME, w_period0, -EINVAL, "welcome progress period 0" },
		{ WIRE_TASK, t_text_max, 0, "task text at its bound" },
		{ WIRE_TASK, t_text_over, -EINVAL, "task text one over" },
		{ WIRE_TASK, t_text_nul, -EINVAL, "task text with a NUL" },
		{ WIRE_TASK, t_base_max, 0, "task basedir at its bound" },
		{ WIRE_TASK, t_base_over, -EINVAL, "task basedir one over" },
		{ WIRE_TASK, t_url_max, 0, "task url at its bound" },
		{ WIRE_TASK, t_url_over, -EINVAL, "task url one over" },
		{ WIRE_TASK, t_tree_max, 0, "task tree at its bound" },
		{ WIRE_TASK, t_tree_over, -EINVAL, "task tree one over" },
		{ WIRE_TASK, t_url_empty, -EINVAL, "task url empty" },
		{ WIRE_TASK, t_url_null, -EINVAL, "task url NULL" },
		{ WIRE_TASK, t_entries_neg, -EINVAL, "task entries negative" },
		{ WIRE_TASK, t_first_neg, -EINVAL, "task first negative" },
		{ WIRE_TASK, t_first_last, -EINVAL, "task first past last" },
		{ WIRE_TASK, t_last_all, 0, "task last at entries" },
		{ WIRE_TASK, t_last_over, -EINVAL, "task last past entries" },
		{ WIRE_TASK, t_job_neg, -EINVAL, "task job negative" },
		{ WIRE_PROGRESS, p_n_max, 0, "progress n at its bound" },
		{ WIRE_PROGRESS, p_n_over, -EINVAL, "progress n one over" },
		{ WIRE_PROGRESS, p_busy_max, 0, "progress busy at its bound" },
		{ WIRE_PROGRESS, p_busy_over, -EINVAL, "progress busy one over" },
		{ WIRE_PROGRESS, p_events_neg, -EINVAL, "progress events negative" },
		{ WIRE_RESULT, r_why_max, 0, "result why at its bound" },
		{ WIRE_RESULT, r_why_over, -EINVAL, "result why one over" },
		{ WIRE_RESULT, r_rc_pos, -EINVAL, "result rc positive" },
		{ WIRE_RESULT, r_rc_blob, -EINVAL, "failed result with a blob" },
		{ WIRE_RESULT, r_events_neg, -EINVAL, "result events negative" },
		{ WIRE_RESULT, r_blob_over, -EFBIG, "result blob one over WIRE_MAX_MSG" },
		{ WIRE_BYE, b_why_max, 0, "bye why at its bound" },
		{ WIRE_BYE, b_why_over, -EINVAL, "bye why one over" },
		{ WIRE_ACK, k_job_neg, -EINVAL, "ack job negative" },
		{ WIRE_CANCEL, k_job_neg, -EINVAL, "cancel job negative" },
		{ WIRE_GIVEBACK, k_job_neg, -EINVAL, "giveback job negative" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t seq = cs.send_seq + ws.send_seq;
		int rc = enc_rc(cases[i].type, cases[i].fix);
		check(rc == cases[i].rc, "encode: %s: %d, expected %d", cases[i].what, rc, cases[i].rc);
		if (cases[i].rc)
			check(cs.send_seq + ws.send_seq == seq, "encode: %s: send_seq moved", cases[i].what);
	}
	struct wire_msg m;
	sample(WIRE_TASK, &m);
	void *f;
	size_t n;
	check(wire_encode(NULL, &m, &f, &n) == -EINVAL, "a task encoded without a session");
	struct wire_session cold = { 0 };
	check(wire_encode(&cold, &m, &f, &n) == -EINVAL, "a task encoded before the session is ready");
	m.type = 0;
	check(wire_encode(&cs, &m, &f, &n) == -EINVAL, "type 0 encoded");
	m.type = WIRE_TYPE_END;
	check(wire_encode(&cs, &m, &f, &n) == -EINVAL, "an unknown type encoded");
}

static void test_bounds_decode(void)
{
	sessions();
	char s[WIRE_MAX_WHY + 1];
	memset(s, 'w', sizeof(s));
	hello_payload(&pl, WIRE_MAX_NAME - 1, WIRE_MAX_NAME - 1, 1, WIRE_MAX_SLOTS, 'h');
	check(dec_raw(WIRE_HELLO, &pl) == 0, "decode: hello at its bounds refused");
	hello_payload(&pl, WIRE_MAX_NAME, 5, 1, 1, 'h');
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello name one over");
	hello_payload(&pl, 5, WIRE_MAX_NAME, 1, 1, 'h');
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello host one over");
	hello_payload(&pl, 5, 5, 1, WIRE_MAX_SLOTS + 1, 'h');
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello slots one over");
	hello_payload(&pl, 5, 5, 0, 1, 'h');
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello pid 0");
	hello_payload(&pl, 5, 5, 1, 1, 0);
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello name of NUL bytes");
	hello_payload(&pl, 5, 5, 1, 1, '\t');
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello name of tabs");
	hello_payload(&pl, 5, 5, 1, 1, 'h');
	put(&pl, "", 1);
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello with a trailing byte");
	pl.n = 0;
	put(&pl, wnonce, WIRE_NONCE), put32(&pl, 0xffffffffu);
	check(dec_raw(WIRE_HELLO, &pl) == -EBADMSG, "decode: hello name of 4 GB");

	pl.n = 0;
	put(&pl, s, WIRE_MAC), put32(&pl, 1), put32(&pl, 0), put32(&pl, 1);
	check(dec_raw(WIRE_WELCOME, &pl) == -EBADMSG, "decode: welcome lease 0");
	pl.n -= 12, put32(&pl, 1), put32(&pl, 1), put32(&pl, 1);
	check(dec_raw(WIRE_WELCOME, &pl) == 0, "decode: welcome refused");

	task_payload(&pl, WIRE_MAX_TEXT, 't', WIRE_MAX_PATH - 1, WIRE_MAX_PATH - 1, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == 0, "decode: task at its bounds refused");
	task_payload(&pl, WIRE_MAX_TEXT + 1, 't', 1, 1, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task text one over");
	task_payload(&pl, 10, 0, 1, 1, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task text with NUL bytes");
	task_payload(&pl, 10, 't', WIRE_MAX_PATH, 1, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task basedir one over");
	task_payload(&pl, 10, 't', 1, WIRE_MAX_PATH, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task url one over");
	task_payload(&pl, 10, 't', 1, 0, 5, 0, 5);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task url empty");
	task_payload(&pl, 10, 't', 1, 1, 5, 3, 2);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task first past last");
	task_payload(&pl, 10, 't', 1, 1, 5, 0, 6);
	check(dec_raw(WIRE_TASK, &pl) == -EBADMSG, "decode: task last past entries");

	progress_payload(&pl, WIRE_MAX_PROGRESS, WIRE_MAX_PROGRESS, WIRE_MAX_SLOTS);
	check(dec_raw(WIRE_PROGRESS, &pl) == 0, "decode: progress at its bounds refused");
	progress_payload(&pl, WIRE_MAX_PROGRESS + 1, WIRE_MAX_PROGRESS + 1, 1);
	check(dec_raw(WIRE_PROGRESS, &pl) == -EBADMSG, "decode: progress n one over");
	progress_payload(&pl, 1, 1, WIRE_MAX_SLOTS + 1);
	check(dec_raw(WIRE_PROGRESS, &pl) == -EBADMSG, "decode: progress busy one over");
	progress_payload(&pl, 3, 2, 1);
	check(dec_raw(WIRE_PROGRESS, &pl) == -EBADMSG, "decode: progress short of its n");
	progress_payload(&pl, 2, 3, 1);
	check(dec_raw(WIRE_PROGRESS, &pl) == -EBADMSG, "decode: progress past its n");

	for (size_t len = WIRE_MAX_WHY - 1; len <= WIRE_MAX_WHY; len++) {
		pl.n = 0;
		putkey(&pl, 1), put32(&pl, (uint32_t)-5), putstr(&pl, s, len);
		put64(&pl, 1), put64(&pl, 2);
		for (int i = 0; i < 5; i++)
			put64(&pl, 0);
		put32(&pl, 0), put32(&pl, 0);
		check(dec_raw(WIRE_RESULT, &pl) == (len < WIRE_MAX_WHY ? 0 : -EBADMSG),
		      "decode: result why of %zu bytes", len);
	}
	for (size_t len = 255; len <= 256; len++) {
		pl.n = 0;
		put32(&pl, 0), putstr(&pl, s, len);
		check(dec_raw(WIRE_BYE, &pl) == (len < 256 ? 0 : -EBADMSG), "decode: bye why of %zu", len);
	}
	pl.n = 0;
	putkey(&pl, -1);
	check(dec_raw(WIRE_ACK, &pl) == -EBADMSG, "decode: ack of a negative job");
	pl.n = 0;
	check(dec_raw(WIRE_CANCEL, &pl) == -EBADMSG, "decode: cancel without its key");
}

int main(void)
{
	for (int i = 0; i < WIRE_SECRET; i++)
		secret[i] = (uint8_t)(i * 3 + 2);
	for (int i = 0; i < WIRE_NONCE; i++)
		cnonce[i] = (uint8_t)(0xa0 ^ i), wnonce[i] = (uint8_t)(0x10 + i);
	sessions();
	test_bounds_encode();
	test_bounds_decode();
	printf("test_wire_bounds: %d checks, %d failures\n", nchecks, failures);
	return failures ? 1 : 0;
}
