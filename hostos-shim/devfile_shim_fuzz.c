// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_shim_fuzz - a test module: random requests straight into
 * devfile_shim_execute() (issue 4; docs/devfile.md).
 *
 *   insmod devfile_shim_fuzz.ko iterations=100000 seed=1
 *
 * From a kernel thread, with two fake clients, it sends random operations
 * with random handles (open, closed, forged, another client's),
 * arguments, sizes and pointers (user, kernel, unaligned, absurd), bad
 * magic, versions, flags and op codes, and IDENTs of random names at
 * random offsets (checked against each export's text read whole at the
 * start). Now and then it withdraws an export by writing the shim's
 * devices= (withdraw=N: one in N requests), and puts it back later: that
 * export's handles must then answer -ENODEV, for good, and its OPEN and
 * IDENT -ENOENT while it is out. The first half runs with no user
 * address space (every user pointer faults); the second adopts the
 * client's mirror, as the hypercall transport's servers do, with some
 * real user memory for pointers to reach. Each request must get its
 * defined answer: -EPROTO for a bad magic or major, -ENOSYS for an
 * unknown op, -EINVAL for unknown flags, -EBADF for a handle that is not
 * open in that client, -ENODEV for a withdrawn one, and otherwise a
 * result or an errno (-4095..-1, never -ENOIOCTLCMD); the response must
 * echo the sequence number. At the end it destroys the clients with
 * files and mappings still open (left_files, left_maps) and checks that
 * the shim's counters are back where they were.
 * It prints one line:
 *
 *   DEVFILE-FUZZ done ops=N seed=S bad=B leaks=L ok=... ebadf=... ...
 *
 * and a "DEVFILE-FUZZ bad ..." line for each of the first bad answers.
 * The module stays loaded (rmmod it); it holds the shim meanwhile.
 */
#define pr_fmt(fmt) "devfile_shim_fuzz: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/ioctl.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/sched/signal.h>

#include <devfile/proto.h>
#include "devfile_shim.h"

static unsigned long iterations = 100000;
module_param(iterations, ulong, 0444);
MODULE_PARM_DESC(iterations, "requests to send");
static unsigned int withdraw = 5000;
module_param(withdraw, uint, 0444);
MODULE_PARM_DESC(withdraw, "every this many requests, withdraw an export "
			   "(write devices=) or put it back (0: never)");
static unsigned long long seed;
module_param(seed, ullong, 0444);
MODULE_PARM_DESC(seed, "random seed (0: a random one)");
static bool cancel_test;
module_param(cancel_test, bool, 0444);
MODULE_PARM_DESC(cancel_test, "with probe: withdraw devfile_test under a "
			      "blocked read, which must be cancelled");
static char *probe;
module_param(probe, charp, 0444);
MODULE_PARM_DESC(probe, "a tag: instead of fuzzing, LIST and IDENT every "
			"export, printing DEVFILE-PROBE <tag> lines");

#define FZ_OPEN 16
#define FZ_CLOSED 64
#define FZ_FOREIGN 4
#define FZ_MAPS 32
#define FZ_NAMES 32
#define FZ_REPORT 10
#define FZ_DICT 32
#define FZ_SCRATCH (256UL << 10)

static const unsigned int fz_sizes[] = { 0, 4, 8, 16, 24, 112, 127 };

static devfile_execute_fn fz_execute;
static devfile_client_create_fn fz_create;
static devfile_client_destroy_fn fz_destroy;
static devfile_client_stats_fn fz_stats;

static atomic64_t fz_notes;
static char fz_kbuf[256]; /* a kernel address to pass as a user pointer */

enum fz_expect {
	FZ_ANY, /* a result or an errno */
	FZ_EPROTO,
	FZ_ENOSYS,
	FZ_EINVAL,
	FZ_EBADF,
	FZ_ENODEV,
	FZ_ENOENT,
};

struct fz_map {
	u64 handle;
	u64 id;
	u64 pages;
};

/* An export's identity text, read whole at the start (IDENT). */
struct fz_ident {
	long ret; /* its length, or the error IDENT gave */
	char *text;
};

struct fz {
	struct rnd_state rnd;
	struct devfile_client *a, *b; /* b: the "other guest" */
	char names[FZ_NAMES][DEVFILE_NAME_MAX];
	unsigned int nnames;
	struct fz_ident ident[FZ_NAMES];
	u64 open[FZ_OPEN];
	unsigned int nopen;
	u64 closed[FZ_CLOSED];
	unsigned int nclosed, closed_next;
	u64 foreign[FZ_FOREIGN]; /* open in b */
	unsigned int nforeign;
	struct fz_map maps[FZ_MAPS];
	unsigned int nmaps;
	u32 dict[FZ_DICT]; /* ioctl commands some driver knew (not -ENOTTY) */
	unsigned int ndict;
	struct mm_struct *mirror; /* a's, adopted in the second half */
	unsigned long scratch; /* user memory there, FZ_SCRATCH bytes */
	u64 seq;
	unsigned long ops, bad;
	unsigned long ok, ebadf, eproto, enosys, einval, efault, enodev, other;
	/* Export withdrawal (devices= written): which one is out, or -1. */
	int out;
	unsigned long withdrawals;
	bool open_dead[FZ_OPEN]; /* open[i]'s export was withdrawn */
	int open_name[FZ_OPEN]; /* open[i]'s index in names[], or -1 */
	unsigned long ok_op[DEVFILE_OP_MAX]; /* successes, by op */
};

static u32 fz_u32(struct fz *f)
{
	return prandom_u32_state(&f->rnd);
}

static u64 fz_u64(struct fz *f)
{
	return ((u64)fz_u32(f) << 32) | fz_u32(f);
}

static u32 fz_below(struct fz *f, u32 n)
{
	return fz_u32(f) % n;
}

/* A pointer, size, offset or value: ordinary and hostile ones. */
static u64 fz_value(struct fz *f)
{
	if (f->scratch && !fz_below(f, 3)) /* real user memory */
		return f->scratch + fz_below(f, FZ_SCRATCH + 64);
	switch (fz_below(f, 14)) {
	case 0:
		return 0;
	case 1:
		return fz_below(f, 4097);
	case 2:
		return fz_u64(f);
	case 3: /* kernel data, unaligned */
		return (u64)(uintptr_t)fz_kbuf + fz_below(f, 64);
	case 4: /* the direct map */
		return PAGE_OFFSET + ((u64)fz_below(f, 1 << 18) << PAGE_SHIFT) +
		       fz_below(f, 8);
	case 5: /* kernel text */
		return (u64)(uintptr_t)&fz_value + fz_below(f, 4096);
	case 6: /* user space, unaligned (nothing mapped in a kthread) */
		return 0x400000 + fz_u32(f);
	case 7: /* the end of user space, straddling it */
		return TASK_SIZE_MAX - fz_below(f, 8192);
	case 8:
		return ~0ULL;
	case 9:
		return 1ULL << fz_below(f, 64);
	case 10:
		return (u64)fz_below(f, 65536) << PAGE_SHIFT;
	case 11:
		return -(u64)fz_below(f, 4096);
	case 12:
		return fz_below(f, 16);
	default:
		return (u64)fz_below(f, 64) << PAGE_SHIFT;
	}
}

static u64 fz_handle_open(struct fz *f)
{
	return f->nopen ? f->open[fz_below(f, f->nopen)] : DEVFILE_HANDLE_NONE;
}

static bool fz_is_open(struct fz *f, u64 h)
{
	unsigned int i;

	for (i = 0; i < f->nopen; i++) {
		if (f->open[i] == h)
			return true;
	}
	return false;
}

/* A handle, and whether the shim must refuse it (-EBADF) for client a. */
static u64 fz_handle(struct fz *f, bool *bad)
{
	u64 h;

	*bad = true;
	switch (fz_below(f, 10)) {
	case 0: /* closed */
		if (f->nclosed)
			return f->closed[fz_below(f, f->nclosed)];
		return DEVFILE_HANDLE_NONE;
	case 1: /* another client's */
		if (f->nforeign)
			return f->foreign[fz_below(f, f->nforeign)];
		return DEVFILE_HANDLE_NONE;
	case 2: /* forged: an open one with bits flipped */
		h = fz_handle_open(f) ^ (1ULL << fz_below(f, 64));
		break;
	case 3: /* forged: anything */
		h = fz_value(f);
		break;
	default:
		if (!f->nopen)
			return DEVFILE_HANDLE_NONE;
		*bad = false;
		return fz_handle_open(f);
	}
	*bad = !fz_is_open(f, h);
	return h;
}

static void fz_report(struct fz *f, const struct devfile_req *req,
		      const struct devfile_resp *resp, long ret,
		      const char *why)
{
	f->bad++;
	if (f->bad > FZ_REPORT)
		return;
	pr_info("DEVFILE-FUZZ bad op=%u flags=%#x handle=%#llx a=%#llx,%#llx,%#llx ret=%ld resp.ret=%lld: %s\n",
		req->op, req->flags, req->handle, req->a[0], req->a[1],
		req->a[2], ret, resp->ret, why);
}

/* Send req to client c and check the answer. */
static long fz_send(struct fz *f, struct devfile_client *c,
		    struct devfile_req *req, struct devfile_resp *resp,
		    enum fz_expect expect)
{
	static const long want[] = {
		[FZ_EPROTO] = -EPROTO, [FZ_ENOSYS] = -ENOSYS,
		[FZ_EINVAL] = -EINVAL, [FZ_EBADF] = -EBADF,
		[FZ_ENODEV] = -ENODEV, [FZ_ENOENT] = -ENOENT,
	};
	long ret;

	req->seq = ++f->seq;
	memset(resp, 0xa5, sizeof(*resp));
	ret = fz_execute(req, resp, c);
	f->ops++;
	if (resp->seq != req->seq)
		fz_report(f, req, resp, ret, "seq not echoed");
	else if (resp->ret != ret)
		fz_report(f, req, resp, ret,
			  "resp.ret differs from the return");
	else if (ret < -MAX_ERRNO || ret == -ENOIOCTLCMD)
		fz_report(f, req, resp, ret, "not an errno");
	else if (ret < 0 && resp->handle != DEVFILE_HANDLE_NONE)
		fz_report(f, req, resp, ret, "error with a handle");
	else if (expect != FZ_ANY && ret != want[expect])
		fz_report(f, req, resp, ret, "wrong error");
	if (ret >= 0 && req->op < DEVFILE_OP_MAX)
		f->ok_op[req->op]++;
	if (ret >= 0)
		f->ok++;
	else if (ret == -EBADF)
		f->ebadf++;
	else if (ret == -EPROTO)
		f->eproto++;
	else if (ret == -ENOSYS)
		f->enosys++;
	else if (ret == -EINVAL)
		f->einval++;
	else if (ret == -EFAULT)
		f->efault++;
	else if (ret == -ENODEV)
		f->enodev++;
	else
		f->other++;
	return ret;
}

static void fz_req(struct devfile_req *req, unsigned int op, u64 handle)
{
	memset(req, 0, sizeof(*req));
	req->magic = DEVFILE_MAGIC;
	req->major = DEVFILE_PROTO_MAJOR;
	req->minor = DEVFILE_PROTO_MINOR;
	req->op = op;
	/* Never block: the fuzzer is a kthread nobody will signal. */
	req->flags = DEVFILE_REQ_NONBLOCK;
	req->handle = handle;
}

static void fz_forget_maps(struct fz *f, u64 handle)
{
	unsigned int i = 0;

	while (i < f->nmaps) {
		if (f->maps[i].handle == handle)
			f->maps[i] = f->maps[--f->nmaps];
		else
			i++;
	}
}

static void fz_closed(struct fz *f, u64 h)
{
	unsigned int i;

	for (i = 0; i < f->nopen; i++) {
		if (f->open[i] == h) {
			f->nopen--;
			f->open[i] = f->open[f->nopen];
			f->open_dead[i] = f->open_dead[f->nopen];
			f->open_name[i] = f->open_name[f->nopen];
			break;
		}
	}
	fz_forget_maps(f, h);
	if (f->nclosed < FZ_CLOSED)
		f->closed[f->nclosed++] = h;
	else
		f->closed[f->closed_next++ % FZ_CLOSED] = h;
}

/* Whether names[i] is withdrawn now (the name, in case it is listed twice). */
static bool fz_is_out(struct fz *f, int i)
{
	return f->out >= 0 && i >= 0 && !strcmp(f->names[i], f->names[f->out]);
}

static bool fz_handle_dead(struct fz *f, u64 h)
{
	unsigned int i;

	for (i = 0; i < f->nopen; i++) {
		if (f->open[i] == h)
			return f->open_dead[i];
	}
	return false;
}

/* Write devices=: every listed name but those equal to names[out]. */
static int fz_write_devices(struct fz *f, int out)
{
	size_t size = FZ_NAMES * (DEVFILE_NAME_MAX + 1) + 2;
	struct file *fp;
	unsigned int i;
	loff_t pos = 0;
	ssize_t ret;
	char *list;
	int n = 0;

	list = kzalloc(size, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	for (i = 0; i < f->nnames; i++) {
		if (out < 0 || strcmp(f->names[i], f->names[out]))
			n += scnprintf(list + n, size - n, "%s%s", n ? "," : "",
				       f->names[i]);
	}
	n += scnprintf(list + n, size - n, "\n");
	fp = filp_open("/sys/module/devfile_shim/parameters/devices", O_WRONLY,
		       0);
	if (IS_ERR(fp)) {
		kfree(list);
		return PTR_ERR(fp);
	}
	ret = kernel_write(fp, list, n, &pos);
	filp_close(fp, NULL);
	kfree(list);
	return ret < 0 ? ret : 0;
}

/*
 * Withdraw a random export (its open handles die: -ENODEV from then on,
 * even after it is back), or put the withdrawn one back.
 */
static void fz_toggle(struct fz *f)
{
	unsigned int i;
	int out, ret;

	if (f->out >= 0) {
		ret = fz_write_devices(f, -1);
		if (ret)
			pr_info("DEVFILE-FUZZ bad: restoring devices= failed: %d\n",
				ret);
		f->bad += !!ret;
		f->out = -1;
		return;
	}
	if (!f->nnames)
		return;
	out = fz_below(f, f->nnames);
	ret = fz_write_devices(f, out);
	if (ret) {
		pr_info("DEVFILE-FUZZ bad: writing devices= failed: %d\n", ret);
		f->bad++;
		return;
	}
	f->out = out;
	f->withdrawals++;
	for (i = 0; i < f->nopen; i++) {
		if (fz_is_out(f, f->open_name[i]))
			f->open_dead[i] = true;
	}
}

static long fz_release(struct fz *f, struct devfile_client *c, u64 h,
		       enum fz_expect expect)
{
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	fz_req(&req, DEVFILE_OP_RELEASE, h);
	ret = fz_send(f, c, &req, &resp, expect);
	if (!ret && c == f->a)
		fz_closed(f, h);
	return ret;
}

static void fz_open(struct fz *f)
{
	enum fz_expect expect = FZ_ANY;
	struct devfile_resp resp;
	struct devfile_req req;
	unsigned int i;
	int name = -1;
	long ret;

	if (f->nopen == FZ_OPEN)
		fz_release(f, f->a, f->open[fz_below(f, f->nopen)], FZ_ANY);
	fz_req(&req, DEVFILE_OP_OPEN, fz_u64(f));
	req.a[0] = fz_below(f, 4) ? (O_RDWR | O_NONBLOCK) : fz_value(f);
	switch (fz_below(f, 8)) {
	case 0: /* not terminated */
		memset(req.name, 'a' + fz_below(f, 26), sizeof(req.name));
		break;
	case 1:
		for (i = 0; i < sizeof(req.name) - 1; i++)
			req.name[i] = 1 + fz_below(f, 255);
		break;
	case 2:
		strscpy(req.name, "../dev/null", sizeof(req.name));
		break;
	default:
		if (!f->nnames)
			break;
		name = fz_below(f, f->nnames);
		strscpy(req.name, f->names[name], sizeof(req.name));
		/* Withdrawn: not exported now. */
		if (fz_is_out(f, name) && req.a[0] <= UINT_MAX &&
		    (req.a[0] & O_ACCMODE) != O_ACCMODE)
			expect = FZ_ENOENT;
	}
	ret = fz_send(f, f->a, &req, &resp, expect);
	if (ret >= 0) {
		/* Opened non-blocking or not, requests say NONBLOCK. */
		if (fz_is_open(f, resp.handle) || !resp.handle) {
			fz_report(f, &req, &resp, ret, "bad new handle");
		} else {
			f->open_dead[f->nopen] = false;
			f->open_name[f->nopen] = name;
			f->open[f->nopen++] = resp.handle;
		}
	}
}

/*
 * Read export name's identity text whole through client c, starting at
 * start and then DEVFILE_NAME_MAX bytes at a time, checking that the
 * answers agree (one length, full chunks up to the end, no NUL, whole
 * lines). Returns the length or IDENT's error; *textp (kvmalloc'd) the
 * text, from offset 0 up to start left zero.
 */
static long fz_ident_read(struct fz *f, struct devfile_client *c,
			  const char *name, u64 start, char **textp)
{
	struct devfile_resp resp;
	struct devfile_req req;
	long len = -1, ret;
	u64 off = start, n;
	char *text;

	*textp = NULL;
	text = kvzalloc(DEVFILE_IDENT_MAX + DEVFILE_NAME_MAX, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	for (;;) {
		fz_req(&req, DEVFILE_OP_IDENT, DEVFILE_HANDLE_NONE);
		strscpy(req.name, name, sizeof(req.name));
		req.a[0] = off;
		ret = fz_send(f, c, &req, &resp, FZ_ANY);
		if (ret < 0) {
			if (len >= 0)
				fz_report(f, &req, &resp, ret,
					  "IDENT failed in the middle");
			break;
		}
		if (ret > DEVFILE_IDENT_MAX || (len >= 0 && ret != len) ||
		    off > ret) {
			fz_report(f, &req, &resp, ret,
				  "IDENT length too long or changed");
			ret = -EPROTO;
			break;
		}
		len = ret;
		n = min_t(u64, DEVFILE_NAME_MAX, len - off);
		if (resp.v[0] != n || memchr(resp.name, 0, n)) {
			fz_report(f, &req, &resp, ret, "IDENT chunk wrong");
			ret = -EPROTO;
			break;
		}
		memcpy(text + off, resp.name, n);
		if (!n)
			break;
		off += n;
	}
	if (ret < 0) {
		kvfree(text);
		return ret;
	}
	if (len && text[len - 1] != '\n')
		fz_report(f, &req, &resp, len, "IDENT text not whole lines");
	*textp = text;
	return len;
}

/* IDENT with random names (exported or not, unterminated) and offsets. */
static void fz_ident(struct fz *f)
{
	struct fz_ident *id = NULL;
	struct devfile_resp resp;
	struct devfile_req req;
	enum fz_expect expect = FZ_ANY;
	long want = -ENOENT, ret, len = 0;
	unsigned int i;
	u64 off, n;

	/* A handle means nothing to IDENT. */
	fz_req(&req, DEVFILE_OP_IDENT,
	       fz_below(f, 4) ? DEVFILE_HANDLE_NONE : fz_handle_open(f));
	for (i = 1; i < ARRAY_SIZE(req.a); i++)
		req.a[i] = fz_value(f);
	switch (fz_below(f, 10)) {
	case 0: /* not terminated */
		memset(req.name, 'a' + fz_below(f, 26), sizeof(req.name));
		expect = FZ_EINVAL;
		break;
	case 1:
		for (i = 0; i < sizeof(req.name) - 1; i++)
			req.name[i] = 1 + fz_below(f, 255);
		break;
	case 2:
		strscpy(req.name, "../dev/null", sizeof(req.name));
		break;
	case 3: /* a prefix of an export */
		if (f->nnames) {
			strscpy(req.name, f->names[fz_below(f, f->nnames)],
				sizeof(req.name));
			req.name[strlen(req.name) - 1] = '\0';
		}
		break;
	default:
		if (!f->nnames)
			break;
		i = fz_below(f, f->nnames);
		strscpy(req.name, f->names[i], sizeof(req.name));
		if (fz_is_out(f, i)) /* withdrawn: -ENOENT */
			break;
		id = &f->ident[i];
		want = id->ret;
		len = max(want, 0L);
	}
	switch (fz_below(f, 9)) {
	case 0:
		off = 0;
		break;
	case 1: /* the end */
		off = len;
		break;
	case 2: /* just past it */
		off = len + 1;
		break;
	case 3:
		off = len + 1 + fz_below(f, 1 << 20);
		break;
	case 4:
		off = ~0ULL;
		break;
	case 5:
		off = 1ULL << (31 + fz_below(f, 33));
		break;
	case 6:
		off = fz_value(f);
		break;
	default:
		off = fz_below(f, len + 1);
	}
	req.a[0] = off;
	ret = fz_send(f, f->a, &req, &resp, expect);
	if (expect != FZ_ANY)
		return;
	if (!id || want < 0) {
		if (ret != want)
			fz_report(f, &req, &resp, ret, "IDENT: wrong error");
		return;
	}
	if (off > len) {
		if (ret != -EINVAL)
			fz_report(f, &req, &resp, ret,
				  "IDENT past the end not -EINVAL");
		return;
	}
	n = min_t(u64, DEVFILE_NAME_MAX, len - off);
	if (ret != len)
		fz_report(f, &req, &resp, ret, "IDENT: length changed");
	else if (resp.v[0] != n || memcmp(resp.name, id->text + off, n))
		fz_report(f, &req, &resp, ret, "IDENT: bytes differ");
}

/* What IDENT says about every listed export, for comparison later. */
static void fz_ident_all(struct fz *f)
{
	unsigned int i;

	for (i = 0; i < f->nnames; i++)
		f->ident[i].ret = fz_ident_read(f, f->a, f->names[i], 0,
						&f->ident[i].text);
}

static void fz_ident_free(struct fz *f)
{
	unsigned int i;

	for (i = 0; i < FZ_NAMES; i++) {
		kvfree(f->ident[i].text);
		f->ident[i].text = NULL;
	}
}

/*
 * cancel_test=1 (with probe): a read blocked in the driver on a handle
 * whose export is withdrawn. The client registers a cancel callback as
 * the hypercall transport does (signal the thread running the request);
 * the withdrawal must return at once, call it, and the read must answer
 * -ENODEV. Uses the test device's pipe mode (a read waits for data).
 */
#define FZ_TEST_SET_MODE _IOW('D', 8, int) /* devfile_testdev.h */

static void fz_notify(void *priv, const struct devfile_note_msg *note);

struct fz_cancel {
	struct devfile_client *c;
	u64 handle;
	struct task_struct *task; /* the blocked reader */
	atomic_t cancels;
	bool started;
	long ret;
	struct completion done;
};

static void fz_cancel_cb(void *priv, u64 handle)
{
	struct fz_cancel *fc = priv;

	if (fc && handle == fc->handle && READ_ONCE(fc->task)) {
		atomic_inc(&fc->cancels);
		send_sig(SIGUSR1, fc->task, 1);
	}
}

/* A kthread's end: return only when told, the module may go right after. */
static int fz_wait_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int fz_cancel_reader(void *data)
{
	struct fz_cancel *fc = data;
	struct devfile_resp resp;
	struct devfile_req req;

	allow_signal(SIGUSR1);
	fz_req(&req, DEVFILE_OP_READ, fc->handle);
	req.flags = 0; /* blocking */
	req.a[0] = 0x10000; /* never reached: the FIFO stays empty */
	req.a[1] = 16;
	WRITE_ONCE(fc->started, true);
	fc->ret = fz_execute(&req, &resp, fc->c);
	complete(&fc->done);
	return fz_wait_stop();
}

static void fz_cancel_test(struct fz *f)
{
	devfile_client_set_cancel_fn set_cancel;
	struct fz_cancel fc = {};
	struct devfile_resp resp;
	struct devfile_req req;
	struct task_struct *t = NULL;
	unsigned long scratch = 0;
	long rel = 1, wret = 1;
	int i, out = -1;
	ktime_t t0;
	s64 ms = -1;

	for (i = 0; i < f->nnames; i++) {
		if (!strcmp(f->names[i], "devfile_test"))
			out = i;
	}
	init_completion(&fc.done);
	set_cancel = symbol_get(devfile_shim_client_set_cancel);
	fc.c = fz_create("cancel", fz_notify, &fc, NULL);
	if (out < 0 || !set_cancel || IS_ERR(fc.c) || !current->mm)
		goto out;
	set_cancel(fc.c, fz_cancel_cb);
	fz_req(&req, DEVFILE_OP_OPEN, DEVFILE_HANDLE_NONE);
	req.a[0] = O_RDWR;
	strscpy(req.name, "devfile_test", sizeof(req.name));
	if (fz_send(f, fc.c, &req, &resp, FZ_ANY))
		goto out;
	fc.handle = resp.handle;
	/* Pipe mode, from this (insmod) process: the ioctl reads an int. */
	scratch = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(scratch) || put_user(1, (int __user *)scratch)) {
		scratch = 0;
		goto out;
	}
	fz_req(&req, DEVFILE_OP_IOCTL, fc.handle);
	req.a[0] = FZ_TEST_SET_MODE;
	req.a[1] = scratch;
	if (fz_send(f, fc.c, &req, &resp, FZ_ANY))
		goto out;
	/* Empty the FIFO, so that the reader blocks. */
	do {
		fz_req(&req, DEVFILE_OP_READ, fc.handle);
		req.a[0] = scratch;
		req.a[1] = PAGE_SIZE;
	} while (fz_send(f, fc.c, &req, &resp, FZ_ANY) > 0);
	t = kthread_run(fz_cancel_reader, &fc, "devfile_fuzz_rd");
	if (IS_ERR(t)) {
		t = NULL;
		goto out;
	}
	WRITE_ONCE(fc.task, t);
	msleep(300); /* let it block in the driver */
	if (completion_done(&fc.done)) {
		pr_info("DEVFILE-PROBE %s bad: the read did not block (%ld)\n",
			probe, fc.ret);
		f->bad++;
		goto out;
	}
	t0 = ktime_get();
	wret = fz_write_devices(f, out);
	ms = ktime_ms_delta(ktime_get(), t0);
	if (!wait_for_completion_timeout(&fc.done, 5 * HZ)) {
		pr_info("DEVFILE-PROBE %s bad: the blocked read was not cancelled\n",
			probe);
		f->bad++;
		send_sig(SIGUSR1, t, 1);
		wait_for_completion(&fc.done);
	}
	if (wret || fc.ret != -ENODEV || atomic_read(&fc.cancels) != 1)
		f->bad++;
	fz_req(&req, DEVFILE_OP_RELEASE, fc.handle);
	rel = fz_send(f, fc.c, &req, &resp, FZ_ANY);
	fc.handle = 0;
	if (rel)
		f->bad++;
	if (fz_write_devices(f, -1))
		f->bad++;
out:
	if (t)
		kthread_stop(t);
	if (scratch)
		vm_munmap(scratch, PAGE_SIZE);
	if (!IS_ERR_OR_NULL(fc.c))
		fz_destroy(fc.c);
	if (set_cancel)
		symbol_put(devfile_shim_client_set_cancel);
	else
		f->bad++;
	pr_info("DEVFILE-PROBE %s cancel read=%ld cancels=%d write=%ld write_ms=%lld release=%ld\n",
		probe, fc.ret, atomic_read(&fc.cancels), wret, ms, rel);
}

/*
 * probe=TAG: no fuzzing. LIST, then each export's IDENT read in chunks
 * from offset 0 and again from an odd offset (the two must agree), the
 * ends checked (the end: no bytes; past it and huge: -EINVAL). Lines:
 *   DEVFILE-PROBE TAG list N name,name,...   (name! where LIST said ENXIO)
 *   DEVFILE-PROBE TAG ident NAME ret=LEN|-ERR crc=CRC32
 *   DEVFILE-PROBE TAG line NAME: <a D or E line of the text>
 *   DEVFILE-PROBE TAG done bad=B
 */
static void fz_probe(struct fz *f)
{
	struct devfile_resp resp;
	struct devfile_req req;
	unsigned int i, k;
	char *list, *text, *line, *next;
	long ret;
	int n = 0;

	list = kzalloc(FZ_NAMES * (DEVFILE_NAME_MAX + 2), GFP_KERNEL);
	if (!list)
		return;
	for (i = 0; i < FZ_NAMES; i++) {
		fz_req(&req, DEVFILE_OP_LIST, DEVFILE_HANDLE_NONE);
		req.a[0] = i;
		ret = fz_send(f, f->a, &req, &resp, FZ_ANY);
		if (ret == -ENOENT)
			break;
		resp.name[sizeof(resp.name) - 1] = '\0';
		strscpy(f->names[f->nnames++], resp.name, DEVFILE_NAME_MAX);
		n += scnprintf(list + n, FZ_NAMES * (DEVFILE_NAME_MAX + 2) - n,
			       "%s%s%s", i ? "," : "", resp.name,
			       ret == -ENXIO ? "!" : "");
	}
	pr_info("DEVFILE-PROBE %s list %u %s\n", probe, f->nnames, list);
	kfree(list);
	fz_ident_all(f);
	for (i = 0; i < f->nnames; i++) {
		struct fz_ident *id = &f->ident[i];

		pr_info("DEVFILE-PROBE %s ident %s ret=%ld crc=%08x\n", probe,
			f->names[i], id->ret,
			id->ret > 0 ? crc32_le(~0, id->text, id->ret) ^ ~0 : 0);
		if (id->ret < 0)
			continue;
		/* Again from an odd offset: the same bytes. */
		ret = fz_ident_read(f, f->a, f->names[i], id->ret ? 37 : 0,
				    &text);
		if (ret != id->ret ||
		    (ret > 37 && memcmp(text + 37, id->text + 37, ret - 37))) {
			f->bad++;
			pr_info("DEVFILE-PROBE %s bad %s: chunks from 37 differ\n",
				probe, f->names[i]);
		}
		kvfree(text);
		/* Past the end, and huge offsets: -EINVAL. */
		for (k = 0; k < 3; k++) {
			fz_req(&req, DEVFILE_OP_IDENT, DEVFILE_HANDLE_NONE);
			strscpy(req.name, f->names[i], sizeof(req.name));
			req.a[0] = k == 0 ? id->ret + 1 :
				   k == 1 ? ~0ULL :
					    1ULL << 63;
			fz_send(f, f->a, &req, &resp, FZ_EINVAL);
		}
		for (line = id->text; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next = '\0';
			if (line[0] == 'D' || line[0] == 'E')
				pr_info("DEVFILE-PROBE %s line %s: %s\n", probe,
					f->names[i], line);
			if (next)
				*next++ = '\n';
		}
	}
	if (cancel_test)
		fz_cancel_test(f);
	pr_info("DEVFILE-PROBE %s done bad=%lu\n", probe, f->bad);
}

static void fz_learn(struct fz *f, u32 cmd)
{
	unsigned int i;

	for (i = 0; i < f->ndict; i++) {
		if (f->dict[i] == cmd)
			return;
	}
	if (f->ndict < FZ_DICT)
		f->dict[f->ndict++] = cmd;
}

static void fz_one(struct fz *f)
{
	struct devfile_resp resp;
	struct devfile_req req;
	enum fz_expect expect = FZ_ANY;
	unsigned int i, op;
	bool bad_handle;
	u64 h;
	long ret;

	op = fz_below(f, DEVFILE_OP_MAX + 2);
	if (op == DEVFILE_OP_OPEN) {
		fz_open(f);
		return;
	}
	if (op == DEVFILE_OP_IDENT) {
		fz_ident(f);
		return;
	}
	h = fz_handle(f, &bad_handle);
	fz_req(&req, op, h);
	for (i = 0; i < ARRAY_SIZE(req.a); i++)
		req.a[i] = fz_value(f);
	if (fz_below(f, 3) == 0)
		req.flags |= DEVFILE_REQ_COMPAT;
	if (op >= DEVFILE_OP_MAX) {
		req.op = fz_below(f, 2) ? op : fz_u32(f) | DEVFILE_OP_MAX;
		if (req.op < DEVFILE_OP_MAX)
			req.op = DEVFILE_OP_MAX;
		expect = FZ_ENOSYS;
	} else if (op >= DEVFILE_OP_RELEASE && bad_handle) {
		expect = FZ_EBADF;
	}

	/* Make the arguments plausible often enough to reach the driver. */
	switch (op) {
	case DEVFILE_OP_LIST:
		if (fz_below(f, 2))
			req.a[0] = fz_below(f, f->nnames + 2);
		break;
	case DEVFILE_OP_LLSEEK:
		if (fz_below(f, 2))
			req.a[1] = fz_below(f, 6);
		break;
	case DEVFILE_OP_IOCTL:
		/*
		 * The test device's magic with sizes of common argument types,
		 * or a command that a driver answered before.
		 */
		if (f->ndict && fz_below(f, 2))
			req.a[0] = f->dict[fz_below(f, f->ndict)];
		else if (fz_below(f, 2))
			req.a[0] = _IOC(
				fz_below(f, 4), 'D', fz_below(f, 16),
				fz_sizes[fz_below(f, ARRAY_SIZE(fz_sizes))]);
		if (f->scratch && fz_below(f, 2))
			req.a[1] = f->scratch + 4 * fz_below(f, 64);
		break;
	case DEVFILE_OP_POLL:
		if (fz_below(f, 2))
			req.a[1] = fz_below(f, 2);
		break;
	case DEVFILE_OP_FASYNC:
		if (fz_below(f, 4))
			req.a[0] = fz_below(f, 2);
		break;
	case DEVFILE_OP_MMAP:
		if (fz_below(f, 4)) {
			req.a[0] = 0x7f0000000000ULL;
			req.a[1] = (1 + fz_below(f, 16)) << PAGE_SHIFT;
			req.a[2] = fz_below(f, 4) ? fz_below(f, 8) :
						    (u64)fz_below(f, 4) << 18;
			req.a[3] = fz_below(f, 8);
			req.a[4] = fz_below(f, 2) ? MAP_SHARED : MAP_PRIVATE;
		}
		if (f->nmaps == FZ_MAPS) {
			struct fz_map *m = &f->maps[fz_below(f, f->nmaps)];
			struct devfile_req un;

			fz_req(&un, DEVFILE_OP_MUNMAP, m->handle);
			un.a[0] = m->id;
			fz_send(f, f->a, &un, &resp, FZ_ANY);
			*m = f->maps[--f->nmaps];
		}
		break;
	case DEVFILE_OP_FAULT:
	case DEVFILE_OP_MUNMAP:
		if (f->nmaps && fz_below(f, 4)) {
			struct fz_map *m = &f->maps[fz_below(f, f->nmaps)];

			if (!bad_handle)
				req.handle = m->handle;
			req.a[0] = m->id;
			req.a[1] = fz_below(f, m->pages + 1);
			req.a[2] = fz_below(f, 2);
		}
		break;
	}

	switch (fz_below(f, 50)) {
	case 0:
		req.magic = fz_u32(f);
		if (req.magic != DEVFILE_MAGIC)
			expect = FZ_EPROTO;
		break;
	case 1:
		req.major = fz_u32(f);
		if (req.major != DEVFILE_PROTO_MAJOR)
			expect = FZ_EPROTO;
		break;
	case 2:
		req.flags |= 1u << (2 + fz_below(f, 30));
		if (expect != FZ_ENOSYS)
			expect = FZ_EINVAL;
		break;
	case 3:
		req.minor = fz_u32(f); /* a newer minor is fine */
		break;
	}

	/* A valid handle of a sent to b: unknown there. */
	if (op >= DEVFILE_OP_RELEASE && op < DEVFILE_OP_MAX && !bad_handle &&
	    f->nopen && fz_below(f, 20) == 0 && expect == FZ_ANY) {
		fz_send(f, f->b, &req, &resp, FZ_EBADF);
		return;
	}

	/* A handle of a withdrawn export: -ENODEV for all but RELEASE. */
	if (expect == FZ_ANY && !bad_handle && op > DEVFILE_OP_RELEASE &&
	    fz_handle_dead(f, req.handle))
		expect = FZ_ENODEV;
	ret = fz_send(f, f->a, &req, &resp, expect);
	if (op == DEVFILE_OP_IOCTL && expect == FZ_ANY && !bad_handle &&
	    ret != -ENOTTY && req.a[0] <= U32_MAX)
		fz_learn(f, req.a[0]);
	if (ret < 0 || expect != FZ_ANY)
		return;
	if (op == DEVFILE_OP_RELEASE) {
		fz_closed(f, req.handle);
	} else if (op == DEVFILE_OP_MMAP && f->nmaps < FZ_MAPS) {
		f->maps[f->nmaps].handle = req.handle;
		f->maps[f->nmaps].id = resp.v[0];
		f->maps[f->nmaps].pages = req.a[1] >> PAGE_SHIFT;
		f->nmaps++;
	} else if (op == DEVFILE_OP_MUNMAP) {
		for (i = 0; i < f->nmaps; i++) {
			if (f->maps[i].id == req.a[0] &&
			    f->maps[i].handle == req.handle) {
				f->maps[i] = f->maps[--f->nmaps];
				break;
			}
		}
	}
}

static void fz_list(struct fz *f)
{
	struct devfile_resp resp;
	struct devfile_req req;
	unsigned int i;

	for (i = 0; i < FZ_NAMES; i++) {
		fz_req(&req, DEVFILE_OP_LIST, DEVFILE_HANDLE_NONE);
		req.a[0] = i;
		if (fz_send(f, f->a, &req, &resp, FZ_ANY) == -ENOENT)
			break;
		resp.name[sizeof(resp.name) - 1] = '\0';
		strscpy(f->names[f->nnames++], resp.name, DEVFILE_NAME_MAX);
	}
}

/* Open a few files in b, whose handles a must refuse. */
static void fz_foreign(struct fz *f)
{
	struct devfile_resp resp;
	struct devfile_req req;
	unsigned int i;

	for (i = 0; i < FZ_FOREIGN && f->nnames; i++) {
		fz_req(&req, DEVFILE_OP_OPEN, DEVFILE_HANDLE_NONE);
		req.a[0] = O_RDONLY | O_NONBLOCK;
		strscpy(req.name, f->names[i % f->nnames], sizeof(req.name));
		if (fz_send(f, f->b, &req, &resp, FZ_ANY) >= 0)
			f->foreign[f->nforeign++] = resp.handle;
	}
}

static bool fz_stats_equal(struct devfile_shim_stats *x,
			   struct devfile_shim_stats *y)
{
	return x->files == y->files && x->inflight == y->inflight &&
	       x->mappings == y->mappings && x->pages == y->pages &&
	       x->watches == y->watches;
}

struct fz_run {
	struct fz *f;
	struct completion done;
};

static int fz_thread(void *data)
{
	struct fz_run *run = data;
	struct fz *f = run->f;

	fz_list(f);
	fz_ident_all(f);
	fz_foreign(f);
	/* First half: no address space, every user pointer faults. */
	while (f->ops < iterations / 2) {
		fz_one(f);
		if (!(f->ops % 1024))
			cond_resched();
		if (withdraw && !fz_below(f, withdraw))
			fz_toggle(f);
	}
	/*
	 * Second half: in the mirror, as the hypercall transport's servers
	 * run (mmaps happen in place), with some real user memory whose
	 * words are 0 and 1 (pipe mode, small counts) for pointers to reach.
	 */
	if (f->mirror) {
		kthread_use_mm(f->mirror);
		f->scratch = vm_mmap(NULL, 0, FZ_SCRATCH,
				     PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
		if (IS_ERR_VALUE(f->scratch)) {
			f->scratch = 0;
		} else {
			u32 w;
			unsigned long i;

			for (i = 0; i < PAGE_SIZE / 4; i++) {
				w = i & 1;
				if (copy_to_user(
					    (void __user *)(f->scratch + 4 * i),
					    &w, 4))
					break;
			}
		}
	}
	while (f->ops < iterations) {
		fz_one(f);
		if (!(f->ops % 1024))
			cond_resched();
		if (withdraw && !fz_below(f, withdraw))
			fz_toggle(f);
	}
	/* Leave the exports as they were. */
	if (f->out >= 0)
		fz_toggle(f);
	if (f->mirror) {
		if (f->scratch)
			vm_munmap(f->scratch, FZ_SCRATCH);
		f->scratch = 0;
		kthread_unuse_mm(f->mirror);
	}
	complete(&run->done);
	return fz_wait_stop();
}

static void fz_notify(void *priv, const struct devfile_note_msg *note)
{
	atomic64_inc(&fz_notes);
}

static int fz_get_symbols(void)
{
	fz_execute = symbol_get(devfile_shim_execute);
	fz_create = symbol_get(devfile_shim_client_create);
	fz_destroy = symbol_get(devfile_shim_client_destroy);
	fz_stats = symbol_get(devfile_shim_client_stats);
	if (fz_execute && fz_create && fz_destroy && fz_stats)
		return 0;
	if (fz_execute)
		symbol_put(devfile_shim_execute);
	if (fz_create)
		symbol_put(devfile_shim_client_create);
	if (fz_destroy)
		symbol_put(devfile_shim_client_destroy);
	if (fz_stats)
		symbol_put(devfile_shim_client_stats);
	pr_err("devfile_shim is not loaded\n");
	return -ENODEV;
}

static void fz_put_symbols(void)
{
	symbol_put(devfile_shim_execute);
	symbol_put(devfile_shim_client_create);
	symbol_put(devfile_shim_client_destroy);
	symbol_put(devfile_shim_client_stats);
}

static int __init fz_init(void)
{
	struct devfile_shim_stats before, left = {}, after;
	struct devfile_resp resp;
	struct task_struct *task;
	struct fz_run run;
	unsigned long leaks = 0;
	struct fz *f;
	ktime_t t0;
	int ret;

	ret = fz_get_symbols();
	if (ret)
		return ret;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		ret = -ENOMEM;
		goto put;
	}
	if (!seed)
		seed = get_random_u64() ?: 1;
	prandom_seed_state(&f->rnd, seed);
	f->out = -1;
	fz_stats(NULL, &before);
	/* The mirror: this insmod's address space, which outlives it. */
	f->a = fz_create("fuzz", fz_notify, NULL, current->mm);
	/* a holds a reference on it until destroyed, after the thread. */
	f->mirror = IS_ERR(f->a) ? NULL : current->mm;
	f->b = fz_create("fuzz-other", fz_notify, NULL, NULL);
	if (IS_ERR(f->a) || IS_ERR(f->b)) {
		ret = -ENOMEM;
		goto destroy;
	}
	/* No request at all. */
	if (fz_execute(NULL, &resp, f->a) != -EINVAL)
		f->bad++;
	if (probe && *probe) {
		fz_probe(f);
		fz_ident_free(f);
		goto destroy;
	}

	t0 = ktime_get();
	run.f = f;
	init_completion(&run.done);
	task = kthread_run(fz_thread, &run, "devfile_fuzz");
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		goto destroy;
	}
	wait_for_completion(&run.done);
	kthread_stop(task);

	/*
	 * Close b's files; leave a's open, with their mappings: destroying
	 * the client must close and unmap them all.
	 */
	while (f->nforeign)
		fz_release(f, f->b, f->foreign[--f->nforeign], FZ_ANY);
	fz_stats(f->b, &left);
	if (left.files || left.inflight) {
		pr_info("DEVFILE-FUZZ leak client files=%ld inflight=%ld\n",
			left.files, left.inflight);
		leaks++;
	}
	fz_stats(f->a, &left);
destroy:
	if (!IS_ERR_OR_NULL(f->a))
		fz_destroy(f->a);
	if (!IS_ERR_OR_NULL(f->b))
		fz_destroy(f->b);
	fz_ident_free(f);
	if (!ret && !(probe && *probe)) {
		fz_stats(NULL, &after);
		if (!fz_stats_equal(&before, &after)) {
			pr_info("DEVFILE-FUZZ leak shim files=%ld mappings=%ld pages=%ld watches=%ld inflight=%ld\n",
				after.files, after.mappings, after.pages,
				after.watches, after.inflight);
			leaks++;
		}
		pr_info("DEVFILE-FUZZ done ops=%lu seed=%llu bad=%lu leaks=%lu ok=%lu ebadf=%lu eproto=%lu enosys=%lu einval=%lu efault=%lu enodev=%lu other=%lu withdrawals=%lu notes=%lld left_files=%ld left_maps=%ld ms=%lld\n",
			f->ops, seed, f->bad, leaks, f->ok, f->ebadf, f->eproto,
			f->enosys, f->einval, f->efault, f->enodev, f->other,
			f->withdrawals, (long long)atomic64_read(&fz_notes),
			left.files, left.mappings,
			ktime_ms_delta(ktime_get(), t0));
		pr_info("DEVFILE-FUZZ ioctls learned=%u; ok by op: list=%lu open=%lu release=%lu read=%lu write=%lu llseek=%lu ioctl=%lu poll=%lu fasync=%lu mmap=%lu fault=%lu munmap=%lu ident=%lu\n",
			f->ndict, f->ok_op[DEVFILE_OP_LIST],
			f->ok_op[DEVFILE_OP_OPEN], f->ok_op[DEVFILE_OP_RELEASE],
			f->ok_op[DEVFILE_OP_READ], f->ok_op[DEVFILE_OP_WRITE],
			f->ok_op[DEVFILE_OP_LLSEEK], f->ok_op[DEVFILE_OP_IOCTL],
			f->ok_op[DEVFILE_OP_POLL], f->ok_op[DEVFILE_OP_FASYNC],
			f->ok_op[DEVFILE_OP_MMAP], f->ok_op[DEVFILE_OP_FAULT],
			f->ok_op[DEVFILE_OP_MUNMAP],
			f->ok_op[DEVFILE_OP_IDENT]);
	}
	kfree(f);
	if (!ret)
		return 0;
put:
	fz_put_symbols();
	return ret;
}

static void __exit fz_exit(void)
{
	fz_put_symbols();
}

module_init(fz_init);
module_exit(fz_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: fuzzes devfile_shim_execute (test module)");
