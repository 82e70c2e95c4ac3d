// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_stub - stub device files in a user guest (issue 4;
 * docs/devfile.md). At load it asks the transport for the devices the
 * driver VM exports (DEVFILE_OP_LIST) and creates a character device for
 * each, with the same name under /dev. Every file operation on one of
 * them becomes a request (devfile/include/devfile/proto.h) that the shim
 * in the driver VM runs on the real device file:
 *
 *   open/release, read/write (user pointer, count, position), llseek,
 *   unlocked_ioctl/compat_ioctl (cmd and arg untouched: no per-ioctl
 *   code), poll (armed; DEVFILE_NOTE_POLL wakes the file's queue), fasync
 *   (local fasync_helper; DEVFILE_NOTE_SIGIO raises SIGIO here), mmap (a
 *   VM_PFNMAP vma whose pages come from DEVFILE_OP_FAULT, zero copy).
 *
 *   insmod devfile_stub.ko transport=loopback prefix=fwd/
 *
 * Transports (transport=):
 *   loopback   the shim (devfile_shim.ko) in this same kernel, called
 *              directly in the calling process's context; for tests.
 *   hypercall  through devirt (DEVFILE_CALL/FETCH, completion and
 *              notification interrupts); -ENODEV when not under devirt.
 * prefix= is put before each device's name (loopback: the real node
 * exists already; "fwd/" gives /dev/fwd/<name>). real_numbers=1 (default)
 * gives each device its real major:minor when free here, else a dynamic
 * one.
 */
#define pr_fmt(fmt) "devfile_stub: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/poll.h>
#include <linux/wait.h>
#include <linux/hashtable.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/compat.h>
#include <linux/sched/mm.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/input.h>
#include <linux/namei.h>
#include <linux/ctype.h>

#include <devfile/proto.h>
#include <devfile/linux_irq.h>
#include <devirt/hc_linux.h>
#include "devfile_shim.h"

#define STUB_MAX_DEVICES 64

static char *transport = "hypercall";
module_param(transport, charp, 0444);
MODULE_PARM_DESC(transport, "loopback | hypercall");
static char *prefix = "";
module_param(prefix, charp, 0444);
MODULE_PARM_DESC(prefix, "put before each device name, e.g. fwd/");
static bool real_numbers = true;
module_param(real_numbers, bool, 0444);
MODULE_PARM_DESC(real_numbers, "use the real major:minor when free");

/* ---- transports ----------------------------------------------------------- */

struct stub_transport {
	const char *name;
	int (*attach)(void);
	void (*detach)(void);
	/* Run req, fill resp; may sleep. Returns 0 or a transport error. */
	int (*call)(const struct devfile_req *req, struct devfile_resp *resp);
};

static void stub_note(void *priv, const struct devfile_note_msg *note);
static void stub_revoke(u64 gpa, u64 pages);

/*
 * Loopback: the shim in this kernel, called directly. The request runs in
 * the calling process's own context, so the driver's copy_{from,to}_user
 * reach the caller's memory as they will through the mirror. The shim is
 * looked up with symbol_get(): the stub loads without it.
 */
static devfile_execute_fn lb_execute;
static devfile_client_create_fn lb_create;
static devfile_client_destroy_fn lb_destroy;
static struct devfile_client *lb_client;

static void lb_put_symbols(void)
{
	if (lb_execute)
		symbol_put(devfile_shim_execute);
	if (lb_create)
		symbol_put(devfile_shim_client_create);
	if (lb_destroy)
		symbol_put(devfile_shim_client_destroy);
	lb_execute = NULL;
	lb_create = NULL;
	lb_destroy = NULL;
}

static int lb_attach(void)
{
	lb_execute = symbol_get(devfile_shim_execute);
	lb_create = symbol_get(devfile_shim_client_create);
	lb_destroy = symbol_get(devfile_shim_client_destroy);
	if (!lb_execute || !lb_create || !lb_destroy) {
		lb_put_symbols();
		pr_err("loopback: devfile_shim is not loaded\n");
		return -ENODEV;
	}
	/*
	 * The mirror, where the shim makes the real mappings, is the address
	 * space of the process loading this module (insmod): it outlives the
	 * process, and no stub user maps in it.
	 */
	lb_client = lb_create("stub-loopback", stub_note, NULL, current->mm);
	if (IS_ERR(lb_client)) {
		int ret = PTR_ERR(lb_client);

		lb_client = NULL;
		lb_put_symbols();
		return ret;
	}
	return 0;
}

static void lb_detach(void)
{
	if (lb_client)
		lb_destroy(lb_client);
	lb_client = NULL;
	lb_put_symbols();
}

static int lb_call(const struct devfile_req *req, struct devfile_resp *resp)
{
	lb_execute(req, resp, lb_client);
	return 0;
}

/*
 * Hypercall: devirt hands each request to the shim in the driver VM
 * (devfile/hypercalls.c, hostos-shim/devfile_transport.c). The request and response
 * live on this kernel stack; devirt reads them through the caller's page
 * tables. A request that does not finish within a short spin goes
 * asynchronous: the caller sleeps until devirt's completion interrupt
 * (our vector) and collects the response with FETCH, so other threads of
 * this guest keep running. Notes (poll, SIGIO) arrive the same way.
 */
static int hc_irq = -1;
static u8 hc_vector;
static DECLARE_WAIT_QUEUE_HEAD(hc_wq);

/*
 * async=0: the completion vector is not registered, so devirt keeps each
 * request on this vCPU until the driver VM completes it (synchronous
 * waiting; no notes either). Writable at run time, for benchmarks
 * (tests/bench_devfile.py): switch only while no request is in flight.
 */
static bool hc_async = true;

static int hc_async_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret && hc_irq >= 0)
		devirt_hypercall(DEVIRT_HC_DEVFILE_REGISTER,
				 hc_async ? hc_vector : 0, 0, 0);
	return ret;
}

static const struct kernel_param_ops hc_async_ops = {
	.set = hc_async_set,
	.get = param_get_bool,
};
module_param_cb(async, &hc_async_ops, &hc_async, 0644);
MODULE_PARM_DESC(async, "hypercall transport: register the completion "
			"vector (0: wait synchronously in devirt)");

/*
 * info (read): this vCPU's DEVIRT_HC_DEVFILE_INFO counters, as
 * "exits=N calls=N async=N inflight=N" (exits: VM exits of the vCPU that
 * reads the file so far).
 */
static int hc_info_get(char *buf, const struct kernel_param *kp)
{
	struct devirt_devfile_info di;
	long r;

	if (hc_irq < 0)
		return sysfs_emit(buf, "error=%d\n", -ENODEV);
	memset(&di, 0, sizeof(di));
	r = devirt_hypercall(DEVIRT_HC_DEVFILE_INFO, (unsigned long)&di,
			     sizeof(di), 0);
	if (r < 0)
		return sysfs_emit(buf, "error=%ld\n", r);
	return sysfs_emit(
		buf,
		"exits=%llu calls=%llu async=%llu inflight=%llu "
		"polled=%llu timed=%llu call_ns=%llu driver_ns=%llu\n",
		di.exits, di.calls, di.async, di.inflight, di.polled, di.timed,
		di.call_ns, di.driver_ns);
}

static const struct kernel_param_ops hc_info_ops = { .get = hc_info_get };
module_param_cb(info, &hc_info_ops, NULL, 0444);
MODULE_PARM_DESC(info, "this vCPU's devirt forwarding counters and exits");

/*
 * hc_bench (write N, then read): the raw hypercall round trip, N
 * DEVIRT_HC_VERSION hypercalls back to back on this vCPU, as
 * "n=N ns=<total> exits=<VM exits over them>".
 */
static u64 hcb_n, hcb_ns, hcb_exits;

static u64 hc_exits_now(void)
{
	struct devirt_devfile_info di;

	memset(&di, 0, sizeof(di));
	if (devirt_hypercall(DEVIRT_HC_DEVFILE_INFO, (unsigned long)&di,
			     sizeof(di), 0) < 0)
		return 0;
	return di.exits;
}

static int hc_bench_set(const char *val, const struct kernel_param *kp)
{
	u64 n, i, e0, t0, t1, e1;
	int ret = kstrtou64(val, 0, &n);

	if (ret)
		return ret;
	if (!n || n > 100000000)
		return -EINVAL;
	if (hc_irq < 0) /* no hypercall transport */
		return -ENODEV;
	preempt_disable();
	e0 = hc_exits_now();
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		devirt_hypercall(DEVIRT_HC_VERSION, 0, 0, 0);
	t1 = ktime_get_ns();
	e1 = hc_exits_now();
	preempt_enable();
	hcb_n = n;
	hcb_ns = t1 - t0;
	/* The second INFO is one exit of its own. */
	hcb_exits = e1 - e0 - 1;
	return 0;
}

static int hc_bench_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "n=%llu ns=%llu exits=%llu\n", hcb_n, hcb_ns,
			  hcb_exits);
}

static const struct kernel_param_ops hc_bench_ops = {
	.set = hc_bench_set,
	.get = hc_bench_get,
};
module_param_cb(hc_bench, &hc_bench_ops, NULL, 0644);
MODULE_PARM_DESC(hc_bench, "write N: time N raw hypercalls; read: result");

/*
 * hc_once (read): one DEVIRT_HC_VERSION hypercall per read. make bench
 * times reads of it from a process against reads of a parameter that
 * makes none: a hypercall as a process's system call sees it, next to
 * hc_bench's tight loop in the kernel.
 */
static int hc_once_get(char *buf, const struct kernel_param *kp)
{
	if (hc_irq < 0) /* no hypercall transport */
		return -ENODEV;
	return sysfs_emit(buf, "%ld\n",
			  devirt_hypercall(DEVIRT_HC_VERSION, 0, 0, 0));
}

static const struct kernel_param_ops hc_once_ops = { .get = hc_once_get };
module_param_cb(hc_once, &hc_once_ops, NULL, 0444);
MODULE_PARM_DESC(hc_once, "read: one raw hypercall (its result)");

static void hc_fetch_notes(struct work_struct *work)
{
	struct devfile_note_msg n[16];
	long k;

	do {
		k = devirt_hypercall(DEVIRT_HC_DEVFILE_NOTES, (unsigned long)n,
				     ARRAY_SIZE(n), 0);
		for (long i = 0; i < k; i++)
			stub_note(NULL, &n[i]);
	} while (k == ARRAY_SIZE(n));
}

static DECLARE_WORK(hc_note_work, hc_fetch_notes);

static irqreturn_t hc_interrupt(int irq, void *dev)
{
	wake_up_all(&hc_wq);
	schedule_work(&hc_note_work);
	return IRQ_HANDLED;
}

static int hc_attach(void)
{
	char vendor[13], sig[13];
	int ret;

	devirt_hc_setup(vendor);
	devirt_hc_signature(sig);
	if (strcmp(sig, DEVIRT_CPUID_SIGNATURE)) {
		pr_err("hypercall transport: not running under devirt\n");
		return -ENODEV;
	}
	ret = devfile_vector_alloc(hc_interrupt, "devfile_stub",
				   smp_processor_id(), &hc_vector);
	if (ret < 0)
		return ret;
	hc_irq = ret;
	if (hc_async &&
	    devirt_hypercall(DEVIRT_HC_DEVFILE_REGISTER, hc_vector, 0, 0)) {
		free_irq(hc_irq, NULL);
		hc_irq = -1;
		return -ENODEV;
	}
	return 0;
}

static void hc_detach(void)
{
	if (hc_irq < 0)
		return;
	devirt_hypercall(DEVIRT_HC_DEVFILE_REGISTER, 0, 0, 0);
	free_irq(hc_irq, NULL);
	hc_irq = -1;
	flush_work(&hc_note_work);
}

static long hc_fetch(u64 slot, struct devfile_resp *resp)
{
	return devirt_hypercall(DEVIRT_HC_DEVFILE_FETCH, slot,
				(unsigned long)resp, 0);
}

static int hc_call(const struct devfile_req *req, struct devfile_resp *resp)
{
	long r = devirt_hypercall(DEVIRT_HC_DEVFILE_CALL, (unsigned long)req,
				  (unsigned long)resp, 0);
	bool cancelled = false;
	u64 slot;

	if (r)
		return r == DEVIRT_EFAULT ? -EFAULT : -EIO;
	if (resp->ret != -DEVFILE_EINPROGRESS)
		return 0;
	slot = resp->handle;
	for (;;) {
		/*
		 * The slot stays ours until FETCH returns it: wait for that.
		 * A killed caller cancels (a blocked driver read returns),
		 * then still waits for the completion that frees the slot.
		 */
		/*
		 * FETCH again at least once a second without an interrupt:
		 * a lost completion then costs a second, not the caller
		 * (devirt logs each one it finds, docs/devfile.md).
		 */
		while (!cancelled) {
			long w = wait_event_killable_timeout(
				hc_wq,
				(r = hc_fetch(slot, resp)) != DEVIRT_EAGAIN,
				HZ);

			if (w > 0)
				break;
			if (w < 0) {
				cancelled = true;
				devirt_hypercall(DEVIRT_HC_DEVFILE_CANCEL, slot,
						 0, 0);
			}
		}
		while (cancelled &&
		       !wait_event_timeout(
			       hc_wq,
			       (r = hc_fetch(slot, resp)) != DEVIRT_EAGAIN, HZ))
			;
		if (r != DEVIRT_FETCH_FAULTIN)
			return r ? -EIO : cancelled ? -EINTR : 0;
		/*
		 * The driver touched a page of ours that is not present:
		 * fault it in as the process would, then let it go on.
		 * Failure is fine: the driver then sees -EFAULT.
		 */
		if (current->mm && !cancelled) {
			u64 va = resp->v[0];

			mmap_read_lock(current->mm);
			fixup_user_fault(current->mm, va & PAGE_MASK,
					 (va & 1) ? FAULT_FLAG_WRITE : 0, NULL);
			mmap_read_unlock(current->mm);
		}
		devirt_hypercall(DEVIRT_HC_DEVFILE_RESUME, slot, 0, 0);
	}
}

static const struct stub_transport stub_transports[] = {
	{ "loopback", lb_attach, lb_detach, lb_call },
	{ "hypercall", hc_attach, hc_detach, hc_call },
};

static const struct stub_transport *stub_tp;

static bool stub_hypercall(void)
{
	return stub_tp && stub_tp->attach == hc_attach;
}

/* ---- requests ------------------------------------------------------------- */

static atomic64_t stub_seq;
static atomic64_t stub_nr_notes[5];

static void stub_req_init(struct devfile_req *req, unsigned int op, u64 handle,
			  struct file *file)
{
	memset(req, 0, sizeof(*req));
	req->magic = DEVFILE_MAGIC;
	req->major = DEVFILE_PROTO_MAJOR;
	req->minor = DEVFILE_PROTO_MINOR;
	req->op = op;
	req->seq = atomic64_inc_return(&stub_seq);
	req->handle = handle;
	if (file && (file->f_flags & O_NONBLOCK))
		req->flags |= DEVFILE_REQ_NONBLOCK;
}

/* Send req; the operation's result (>= 0) or -errno. */
static long stub_send(const struct devfile_req *req, struct devfile_resp *resp)
{
	int ret = stub_tp->call(req, resp);

	if (ret)
		return ret;
	if (resp->seq != req->seq)
		return -EPROTO;
	if (resp->ret < -MAX_ERRNO)
		return -EIO;
	return resp->ret;
}

/* ---- devices and open files ----------------------------------------------- */

/*
 * A mirrored device of the driver VM's sysfs (docs/devfile.md, "Device
 * identity"): a stub node, or one of its parents. It carries the real
 * device's uevent variables and attribute files, so that libudev, libdrm
 * and SDL find what they look for. The device's release frees it.
 */
struct stub_obj {
	struct device dev;
	struct device_type type; /* name: DEVTYPE; uevent: the variables */
	char **env; /* NULL-terminated "KEY=value" */
	const struct attribute_group **groups;
	void *mem; /* env, groups and attributes: one allocation */
	struct stub_obj *parent; /* a mirrored parent holds a user count */
	void *owner; /* what to kfree on release */
};

/* A parent device, shared by the nodes below it. */
struct stub_parent {
	struct stub_obj o;
	struct list_head node; /* in stub_parents */
	unsigned int users; /* nodes and parents below, under stub_lock */
	bool on_bus; /* on stub_bus, "subsystem" pointing to a stand-in */
	char key[256]; /* its path of subsystem/name pairs, from the top */
};

struct stub_dev {
	struct stub_obj o;
	struct cdev cdev;
	struct list_head node; /* in stub_devs */
	char name[DEVFILE_NAME_MAX]; /* the exported name */
	u64 real; /* the driver VM's major << 32 | minor */
	umode_t mode;
	bool region; /* devt's region is registered */
	bool gone; /* withdrawn: every operation but release fails */
};

struct stub_file {
	struct stub_dev *sd;
	u64 handle;
	wait_queue_head_t wq; /* pollers; DEVFILE_NOTE_POLL wakes them */
	struct fasync_struct *fasync; /* DEVFILE_NOTE_SIGIO signals them */
	struct hlist_node node; /* in stub_files, by handle */
	struct rcu_head rcu;
};

static struct class *stub_class; /* nodes without a mirrored identity */
static LIST_HEAD(stub_devs);
static LIST_HEAD(stub_parents);
static unsigned int stub_ndevs;
static DEFINE_MUTEX(stub_lock); /* the lists, classes and rescans */

/* Open files by handle, for notifications (which may come in any context). */
static DEFINE_HASHTABLE(stub_files, 8);
static DEFINE_SPINLOCK(stub_files_lock);

static int stub_band(unsigned int ev)
{
	__poll_t e = (__force __poll_t)ev;

	if (e & (EPOLLIN | EPOLLRDNORM))
		return POLL_IN;
	if (e & (EPOLLOUT | EPOLLWRNORM))
		return POLL_OUT;
	if (e & EPOLLPRI)
		return POLL_PRI;
	if (e & EPOLLERR)
		return POLL_ERR;
	if (e & EPOLLHUP)
		return POLL_HUP;
	if (e & EPOLLMSG)
		return POLL_MSG;
	return POLL_IN;
}

static void stub_rescan_work(struct work_struct *work);
static DECLARE_WORK(stub_rescan, stub_rescan_work);
static bool stub_ready; /* the first scan is done: notes may rescan */

static void stub_note(void *priv, const struct devfile_note_msg *note)
{
	struct stub_file *sf;

	if (note->type < ARRAY_SIZE(stub_nr_notes))
		atomic64_inc(&stub_nr_notes[note->type]);
	if (note->type == DEVFILE_NOTE_EXPORTS) {
		if (READ_ONCE(stub_ready))
			schedule_work(&stub_rescan);
		return;
	}
	/* Only devirt sends it, to hc_fetch_notes' work: may sleep. */
	if (note->type == DEVFILE_NOTE_REVOKE) {
		stub_revoke(note->handle, note->events);
		return;
	}
	rcu_read_lock();
	hash_for_each_possible_rcu(stub_files, sf, node, note->handle)
	{
		if (sf->handle != note->handle)
			continue;
		if (note->type == DEVFILE_NOTE_POLL)
			/* Unkeyed: every poller polls again, and so re-arms. */
			wake_up_all(&sf->wq);
		else if (note->type == DEVFILE_NOTE_SIGIO)
			kill_fasync(&sf->fasync, SIGIO,
				    stub_band(note->events));
		break;
	}
	rcu_read_unlock();
}

#define STUB_OPEN_FLAGS \
	(O_ACCMODE | O_NONBLOCK | O_APPEND | O_DSYNC | __O_SYNC | O_EXCL)

static int stub_open(struct inode *inode, struct file *file)
{
	struct stub_dev *sd =
		container_of(inode->i_cdev, struct stub_dev, cdev);
	struct devfile_resp resp;
	struct devfile_req req;
	struct stub_file *sf;
	long ret;

	if (READ_ONCE(sd->gone))
		return -ENODEV;
	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	sf->sd = sd;
	init_waitqueue_head(&sf->wq);
	stub_req_init(&req, DEVFILE_OP_OPEN, DEVFILE_HANDLE_NONE, file);
	req.a[0] = file->f_flags & STUB_OPEN_FLAGS;
	strscpy(req.name, sd->name, sizeof(req.name));
	ret = stub_send(&req, &resp);
	if (ret < 0) {
		kfree(sf);
		return ret;
	}
	sf->handle = resp.handle;
	/* Positions behave as the real file's do. */
	if (resp.v[0] & DEVFILE_OPEN_STREAM) {
		stream_open(inode, file);
	} else {
		if (resp.v[0] & DEVFILE_OPEN_NOLSEEK)
			file->f_mode &= ~FMODE_LSEEK;
		if (resp.v[0] & DEVFILE_OPEN_NOPREAD)
			file->f_mode &= ~FMODE_PREAD;
		if (resp.v[0] & DEVFILE_OPEN_NOPWRITE)
			file->f_mode &= ~FMODE_PWRITE;
	}
	file->private_data = sf;
	spin_lock(&stub_files_lock);
	hash_add_rcu(stub_files, &sf->node, sf->handle);
	spin_unlock(&stub_files_lock);
	return 0;
}

static int stub_release(struct inode *inode, struct file *file)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	spin_lock(&stub_files_lock);
	hash_del_rcu(&sf->node);
	spin_unlock(&stub_files_lock);
	stub_req_init(&req, DEVFILE_OP_RELEASE, sf->handle, NULL);
	ret = stub_send(&req, &resp);
	if (ret < 0)
		pr_warn_ratelimited("release of %s: %ld\n", sf->sd->name, ret);
	kfree_rcu(sf, rcu);
	return 0;
}

/* A withdrawn device's files fail at once, as a removed device's do. */
static bool stub_gone(struct file *file)
{
	struct stub_file *sf = file->private_data;

	return READ_ONCE(sf->sd->gone);
}

static ssize_t stub_rw(struct file *file, unsigned int op, u64 buf,
		       size_t count, loff_t *ppos)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	if (stub_gone(file))
		return -ENODEV;
	stub_req_init(&req, op, sf->handle, file);
	req.a[0] = buf; /* the caller's pointer, untouched */
	req.a[1] = count;
	req.a[2] = ppos ? *ppos : 0;
	ret = stub_send(&req, &resp);
	if (ret >= 0 && ppos)
		*ppos = resp.v[0];
	return ret;
}

static ssize_t stub_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	return stub_rw(file, DEVFILE_OP_READ, (uintptr_t)buf, count, ppos);
}

static ssize_t stub_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	return stub_rw(file, DEVFILE_OP_WRITE, (uintptr_t)buf, count, ppos);
}

static loff_t stub_llseek(struct file *file, loff_t off, int whence)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	if (stub_gone(file))
		return -ENODEV;
	stub_req_init(&req, DEVFILE_OP_LLSEEK, sf->handle, file);
	req.a[0] = off;
	req.a[1] = whence;
	req.a[2] = file->f_pos;
	ret = stub_send(&req, &resp);
	if (ret < 0)
		return ret;
	file->f_pos = resp.v[0];
	return file->f_pos;
}

static long stub_do_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg, bool compat)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;

	if (stub_gone(file))
		return -ENODEV;
	stub_req_init(&req, DEVFILE_OP_IOCTL, sf->handle, file);
	if (compat)
		req.flags |= DEVFILE_REQ_COMPAT;
	req.a[0] = cmd;
	req.a[1] = arg; /* a value or a user pointer: untouched */
	return stub_send(&req, &resp);
}

static long stub_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return stub_do_ioctl(file, cmd, arg, false);
}

static long stub_compat_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	return stub_do_ioctl(file, cmd, arg, true);
}

static __poll_t stub_poll(struct file *file, poll_table *wait)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	poll_wait(file, &sf->wq, wait);
	if (stub_gone(file))
		return EPOLLERR | EPOLLHUP;
	stub_req_init(&req, DEVFILE_OP_POLL, sf->handle, file);
	req.a[0] = (__force u32)poll_requested_events(wait) & 0xffff;
	/*
	 * A poller that may sleep arms the shim: the next wake-up of the real
	 * file notifies, and wakes sf->wq. Pollers poll again after every
	 * wake-up (with wait set), which arms again.
	 */
	req.a[1] = wait ? DEVFILE_POLL_ARM : 0;
	ret = stub_send(&req, &resp);
	if (ret < 0)
		return EPOLLERR;
	return (__force __poll_t)(u32)ret;
}

static int stub_fasync(int fd, struct file *file, int on)
{
	struct stub_file *sf = file->private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	long ret;

	if (on && stub_gone(file))
		return -ENODEV;
	ret = fasync_helper(fd, file, on, &sf->fasync);
	if (ret <= 0)
		return ret; /* an error, or no change */
	stub_req_init(&req, DEVFILE_OP_FASYNC, sf->handle, file);
	req.a[0] = !!on;
	ret = stub_send(&req, &resp);
	if (ret < 0 && on) {
		fasync_helper(fd, file, 0, &sf->fasync);
		return ret;
	}
	return 0;
}

/* ---- mmap ----------------------------------------------------------------- */

/*
 * One forwarded MMAP: the shim's real mapping behind one vma. A copy of
 * the vma (fork, split, mremap: vm_ops->open) gets a real mapping of its
 * own, as the driver would see natively, and holds its ancestor: a split
 * or moved vma keeps page table entries that the ancestor's mapping
 * provided, which must stay valid as long as they may be used.
 */
struct stub_map {
	refcount_t ref; /* its vma (or vmas), and descendants */
	struct stub_map *parent;
	u64 handle;
	u64 id; /* the shim's mapping id */
	unsigned long pgoff; /* of the first page of the MMAP */
	unsigned long may; /* VM_READ | VM_WRITE | VM_EXEC it was made with */
	bool nosplit;
	/* Hypercall transport: device-window frames devirt gave us, by page. */
	u64 *frames;
	unsigned long nr_frames;
	struct address_space *mapping; /* the file's: revocation zaps there */
};

static bool stub_hypercall(void);

/*
 * Device-window page -> the stub_map whose frames[] holds it, so that a
 * NOTE_REVOKE finds the page-table entries to drop. stub_zc_lock orders
 * frames[] and the lookups against stub_map_frames_put.
 */
static DEFINE_XARRAY(stub_zc);
static DEFINE_SPINLOCK(stub_zc_lock);

/* Give back to devirt every device frame the mapping holds. */
static void stub_map_frames_put(struct stub_map *sm)
{
	u64 *frames = sm->frames;

	if (!frames)
		return;
	spin_lock(&stub_zc_lock);
	for (unsigned long i = 0; i < sm->nr_frames; i++)
		if (frames[i])
			xa_erase(&stub_zc, PHYS_PFN(frames[i]));
	sm->frames = NULL;
	spin_unlock(&stub_zc_lock);
	for (unsigned long i = 0; i < sm->nr_frames; i++)
		if (frames[i])
			devirt_hypercall(DEVIRT_HC_DEVFILE_GUNMAP, frames[i], 1,
					 0);
	kvfree(frames);
}

/*
 * NOTE_REVOKE: the driver VM took back the frames of @pages pages at
 * device-window address @gpa (they are out of our second-level tables
 * already). Drop the entries that map them, wherever the file is mapped,
 * so the next access faults and gets the page's new frame; then give the
 * window pages back. Work context (hc_fetch_notes): may sleep.
 */
static void stub_revoke(u64 gpa, u64 pages)
{
	for (u64 p = 0; p < pages && p < (1ULL << 20); p++) {
		u64 g = gpa + p * PAGE_SIZE;
		struct address_space *mapping = NULL;
		struct inode *inode = NULL;
		struct stub_map *sm;
		loff_t off = 0;

		spin_lock(&stub_zc_lock);
		sm = xa_load(&stub_zc, PHYS_PFN(g));
		for (unsigned long i = 0; sm && sm->frames && i < sm->nr_frames;
		     i++) {
			if (sm->frames[i] != g)
				continue;
			sm->frames[i] = 0;
			xa_erase(&stub_zc, PHYS_PFN(g));
			mapping = sm->mapping;
			inode = mapping ? igrab(mapping->host) : NULL;
			off = (loff_t)(sm->pgoff + i) << PAGE_SHIFT;
			break;
		}
		spin_unlock(&stub_zc_lock);
		if (!mapping)
			continue; /* given back already, or not ours */
		if (inode) {
			unmap_mapping_range(mapping, off, PAGE_SIZE, 1);
			iput(inode);
		}
		devirt_hypercall(DEVIRT_HC_DEVFILE_GUNMAP, g, 1, 0);
	}
}

static const struct vm_operations_struct stub_vm_ops;

/* Forward the MMAP of vma (its range, offset and rights). */
static struct stub_map *stub_map_new(struct vm_area_struct *vma, u64 handle,
				     struct file *file)
{
	struct devfile_resp resp;
	struct devfile_req req;
	struct stub_map *sm;
	unsigned long prot = 0;
	long ret;

	if (vma->vm_flags & VM_READ)
		prot |= PROT_READ;
	if (vma->vm_flags & VM_WRITE)
		prot |= PROT_WRITE;
	if (vma->vm_flags & VM_EXEC)
		prot |= PROT_EXEC;
	sm = kzalloc(sizeof(*sm), GFP_KERNEL);
	if (!sm)
		return ERR_PTR(-ENOMEM);
	stub_req_init(&req, DEVFILE_OP_MMAP, handle, file);
	req.a[0] = vma->vm_start;
	req.a[1] = vma->vm_end - vma->vm_start;
	req.a[2] = vma->vm_pgoff;
	req.a[3] = prot;
	req.a[4] = (vma->vm_flags & VM_SHARED) ? MAP_SHARED : MAP_PRIVATE;
	ret = stub_send(&req, &resp);
	if (ret < 0) {
		kfree(sm);
		return ERR_PTR(ret);
	}
	refcount_set(&sm->ref, 1);
	sm->handle = handle;
	sm->id = resp.v[0];
	if (stub_hypercall()) {
		sm->nr_frames = vma_pages(vma);
		sm->frames = kvcalloc(sm->nr_frames, sizeof(u64), GFP_KERNEL);
		if (!sm->frames) {
			stub_req_init(&req, DEVFILE_OP_MUNMAP, handle, NULL);
			req.a[0] = sm->id;
			stub_send(&req, &resp);
			kfree(sm);
			return ERR_PTR(-ENOMEM);
		}
	}
	sm->pgoff = vma->vm_pgoff;
	sm->mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	sm->may = vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
	sm->nosplit = resp.v[1] & DEVFILE_MAP_NOSPLIT;
	return sm;
}

static void stub_map_put(struct stub_map *sm)
{
	struct devfile_resp resp;
	struct devfile_req req;
	struct stub_map *parent;
	long ret;

	while (sm && refcount_dec_and_test(&sm->ref)) {
		stub_req_init(&req, DEVFILE_OP_MUNMAP, sm->handle, NULL);
		req.a[0] = sm->id;
		ret = stub_send(&req, &resp);
		if (ret < 0)
			pr_warn_ratelimited("munmap of mapping %llu: %ld\n",
					    sm->id, ret);
		/* The vma's entries are gone: the frames can leave too. */
		stub_map_frames_put(sm);
		parent = sm->parent;
		kfree(sm);
		sm = parent;
	}
}

static void stub_vm_open(struct vm_area_struct *vma)
{
	struct stub_map *old = vma->vm_private_data, *sm;

	refcount_inc(&old->ref);
	sm = stub_map_new(vma, old->handle, NULL);
	if (IS_ERR(sm))
		return; /* share the ancestor's mapping */
	sm->parent = old;
	sm->may = old->may;
	vma->vm_private_data = sm;
}

static void stub_vm_close(struct vm_area_struct *vma)
{
	stub_map_put(vma->vm_private_data);
}

static int stub_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	struct stub_map *sm = vma->vm_private_data;

	return sm->nosplit ? -EINVAL : 0;
}

/* The real mapping has the rights of the MMAP: no more here either. */
static int stub_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	struct stub_map *sm = vma->vm_private_data;

	if (newflags & (VM_READ | VM_WRITE | VM_EXEC) & ~sm->may)
		return -EACCES;
	return 0;
}

static vm_fault_t stub_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct stub_map *sm = vma->vm_private_data;
	struct devfile_resp resp;
	struct devfile_req req;
	pgprot_t prot = vma->vm_page_prot;
	long ret;

	if (stub_gone(vma->vm_file))
		return VM_FAULT_SIGBUS;
	stub_req_init(&req, DEVFILE_OP_FAULT, sm->handle, NULL);
	req.a[0] = sm->id;
	req.a[1] = vmf->pgoff - sm->pgoff;
	req.a[2] = !!(vmf->flags & FAULT_FLAG_WRITE);
	/*
	 * Through devirt the frame enters the guest's second-level tables
	 * once, with the rights it will keep: writable whenever the vma is,
	 * since the page-table entry below is.
	 */
	if (stub_hypercall() && (vma->vm_flags & VM_WRITE))
		req.a[2] = 1;
	ret = stub_send(&req, &resp);
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	if (ret < 0)
		return VM_FAULT_SIGBUS;
	if (resp.v[1] == DEVFILE_MT_UC)
		prot = pgprot_noncached(prot);
	else if (resp.v[1] == DEVFILE_MT_WC)
		prot = pgprot_writecombine(prot);
	if (sm->frames) {
		unsigned long i = vmf->pgoff - sm->pgoff;
		u64 old = 0;

		if (i >= sm->nr_frames ||
		    xa_err(xa_store(&stub_zc, PHYS_PFN(resp.v[0]), sm,
				    GFP_KERNEL))) {
			devirt_hypercall(DEVIRT_HC_DEVFILE_GUNMAP, resp.v[0], 1,
					 0);
			return VM_FAULT_SIGBUS;
		}
		spin_lock(&stub_zc_lock);
		if (sm->frames) {
			old = sm->frames[i];
			sm->frames[i] = resp.v[0];
			if (old)
				xa_erase(&stub_zc, PHYS_PFN(old));
		}
		spin_unlock(&stub_zc_lock);
		/* A page faulted again: its old frame goes back. */
		if (old)
			devirt_hypercall(DEVIRT_HC_DEVFILE_GUNMAP, old, 1, 0);
	}
	/* The real driver's frame itself: zero copy, both directions. */
	return vmf_insert_pfn_prot(vma, vmf->address, PHYS_PFN(resp.v[0]),
				   prot);
}

static const struct vm_operations_struct stub_vm_ops = {
	.open = stub_vm_open,
	.close = stub_vm_close,
	.may_split = stub_vm_may_split,
	.mprotect = stub_vm_mprotect,
	.fault = stub_vm_fault,
};

static int stub_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct stub_file *sf = file->private_data;
	struct stub_map *sm;

	if (stub_gone(file))
		return -ENODEV;
	/*
	 * The vma holds frames of the driver VM (VM_PFNMAP): it cannot be
	 * copy-on-write. A private mapping must stay read-only.
	 */
	if (!(vma->vm_flags & VM_SHARED)) {
		if (vma->vm_flags & VM_WRITE)
			return -EINVAL;
		vma->vm_flags &= ~VM_MAYWRITE;
	}
	sm = stub_map_new(vma, sf->handle, file);
	if (IS_ERR(sm))
		return PTR_ERR(sm);
	/*
	 * VM_WIPEONFORK: a child's copy starts empty and faults its pages
	 * through its own mapping (vm_ops->open), never through frames
	 * copied from the parent's page tables.
	 */
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP |
			 VM_WIPEONFORK;
	vma->vm_ops = &stub_vm_ops;
	vma->vm_private_data = sm;
	return 0;
}

static const struct file_operations stub_fops = {
	.owner = THIS_MODULE,
	.open = stub_open,
	.release = stub_release,
	.read = stub_read,
	.write = stub_write,
	.llseek = stub_llseek,
	.unlocked_ioctl = stub_ioctl,
	.compat_ioctl = stub_compat_ioctl,
	.poll = stub_poll,
	.fasync = stub_fasync,
	.mmap = stub_mmap,
};

/* ---- identity: the driver VM's sysfs, mirrored ---------------------------- */

/*
 * IDENT gives, for each exported node, the lines of the driver VM's sysfs
 * for it and its parents (proto.h). One generic routine turns them into
 * devices here: each level becomes a device of the same subsystem and
 * name, with the same uevent variables and attribute files. A parent on a
 * bus (pci, platform, serio...) cannot join that bus here: it goes on
 * stub_bus, and its "subsystem" link points to a stand-in directory of
 * the bus's name, which is what libudev and libdrm read. The only class
 * known by name is input, whose class the guest's kernel already has.
 */
static bool ident = true;
module_param(ident, bool, 0444);
MODULE_PARM_DESC(ident, "mirror each node's sysfs identity (default on)");

#define IDENT_LEVELS 8
#define IDENT_MAX_ATTRS 160
#define IDENT_MAX_GROUPS 12

struct ident_rec {
	char type; /* 'D', 'E' or 'A' */
	unsigned int level;
	char *key; /* D: subsystem; E: KEY=value; A: the attribute */
	char *val; /* D: c|b; A: the value */
	char *name; /* D: the device's name */
};

struct ident {
	char *text;
	struct ident_rec *rec;
	unsigned int nrec;
	unsigned int nlevels;
	struct ident_rec *dev[IDENT_LEVELS]; /* each level's D record */
};

struct stub_attr {
	struct device_attribute da;
	const char *val;
	size_t len;
};

/* "\\", "\n" and "\xHH" back to bytes, in place. */
static void ident_unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (*s != '\\') {
			*d++ = *s++;
		} else if (s[1] == 'n') {
			*d++ = '\n';
			s += 2;
		} else if (s[1] == 'x' && isxdigit(s[2]) && isxdigit(s[3])) {
			*d++ = hex_to_bin(s[2]) << 4 | hex_to_bin(s[3]);
			s += 4;
		} else if (s[1]) {
			*d++ = s[1];
			s += 2;
		} else {
			s++;
		}
	}
	*d = '\0';
}

/* The identity text of exported device @name, in IDENT's chunks. */
static char *ident_fetch(const char *name, size_t *lenp)
{
	struct devfile_resp resp;
	struct devfile_req req;
	size_t len = 0, off = 0;
	char *text = NULL;
	long ret;

	do {
		stub_req_init(&req, DEVFILE_OP_IDENT, DEVFILE_HANDLE_NONE,
			      NULL);
		strscpy(req.name, name, sizeof(req.name));
		req.a[0] = off;
		ret = stub_send(&req, &resp);
		if (ret < 0 || ret > DEVFILE_IDENT_MAX ||
		    (text && ret != len) || resp.v[0] > sizeof(resp.name) ||
		    (resp.v[0] == 0 && off < (size_t)ret)) {
			kfree(text);
			return ERR_PTR(ret < 0 ? ret : -EPROTO);
		}
		if (!text) {
			len = ret;
			text = kmalloc(len + 1, GFP_KERNEL);
			if (!text)
				return ERR_PTR(-ENOMEM);
		}
		resp.v[0] = min_t(u64, resp.v[0], len - off);
		memcpy(text + off, resp.name, resp.v[0]);
		off += resp.v[0];
	} while (off < len);
	text[len] = '\0';
	*lenp = len;
	return text;
}

static void ident_free(struct ident *id)
{
	kvfree(id->rec);
	kfree(id->text);
}

/* Split the text into records; every level must start with its D line. */
static int ident_parse(struct ident *id, char *text, size_t len)
{
	unsigned int n = 1;
	char *line, *p = text;

	memset(id, 0, sizeof(*id));
	id->text = text;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	id->rec = kvcalloc(n, sizeof(*id->rec), GFP_KERNEL);
	if (!id->rec)
		return -ENOMEM;
	while ((line = strsep(&p, "\n"))) {
		struct ident_rec *r = &id->rec[id->nrec];
		char *lvl;

		if (!line[0])
			continue;
		r->type = line[0];
		if (line[1] != ' ')
			return -EPROTO;
		line += 2;
		lvl = strsep(&line, " ");
		if (!line || kstrtouint(lvl, 10, &r->level) ||
		    r->level >= IDENT_LEVELS)
			return -EPROTO;
		if (r->type == 'D') {
			r->key = strsep(&line, " ");
			r->val = strsep(&line, " ");
			r->name = line;
			if (!r->name || !r->key[0] || !r->name[0] ||
			    strchr(r->name, '/') || r->level != id->nlevels ||
			    (strcmp(r->val, "c") && strcmp(r->val, "b")))
				return -EPROTO;
			id->dev[id->nlevels++] = r;
		} else if (r->type == 'E' || r->type == 'A') {
			if (r->level + 1 != id->nlevels)
				return -EPROTO;
			r->key = line;
			if (r->type == 'A') {
				r->key = strsep(&line, " ");
				r->val = line ? line : "";
			}
			ident_unescape(r->type == 'A' ? r->val : r->key);
		} else {
			return -EPROTO;
		}
		id->nrec++;
	}
	return id->nlevels ? 0 : -EPROTO;
}

/* Uevent variables the driver core sets itself, or that would make the
 * guest look for a driver (MODALIAS, DRIVER) it must not load. */
static bool ident_env_skip(const char *kv)
{
	static const char *const skip[] = { "MAJOR=",	"MINOR=",   "DEVNAME=",
					    "DEVMODE=", "DEVTYPE=", "DRIVER=",
					    "MODALIAS=" };

	for (unsigned int i = 0; i < ARRAY_SIZE(skip); i++)
		if (!strncmp(kv, skip[i], strlen(skip[i])))
			return true;
	return !strchr(kv, '=');
}

/* Attribute names the driver core owns, or that are not plain files. */
static bool ident_attr_skip(const char *name)
{
	const char *slash = strchr(name, '/');

	if (!name[0] || !strcmp(name, "uevent") || !strcmp(name, "dev") ||
	    !strncmp(name, "power/", 6) || strlen(name) > 64 ||
	    (slash && (slash == name || strchr(slash + 1, '/') || !slash[1])))
		return true;
	for (const char *c = name; *c; c++)
		if (!isalnum(*c) && !strchr("_-.:/", *c))
			return true;
	return false;
}

static ssize_t stub_attr_show(struct device *dev, struct device_attribute *da,
			      char *buf)
{
	struct stub_attr *a = container_of(da, struct stub_attr, da);
	size_t n = min_t(size_t, a->len, PAGE_SIZE);

	memcpy(buf, a->val, n);
	return n;
}

static int stub_obj_uevent(struct device *dev, struct kobj_uevent_env *env)
{
	struct stub_obj *o = container_of(dev, struct stub_obj, dev);

	for (char **e = o->env; e && *e; e++)
		if (add_uevent_var(env, "%s", *e))
			return -ENOMEM;
	return 0;
}

static void stub_obj_release(struct device *dev)
{
	struct stub_obj *o = container_of(dev, struct stub_obj, dev);

	kfree(o->mem);
	kfree(o->owner);
}

/* Bump allocation from one block, so that an object frees in one go. */
static void *arena(char **next, char *end, size_t size)
{
	char *p = PTR_ALIGN(*next, sizeof(void *));

	if (p + size > end)
		return NULL;
	*next = p + size;
	return p;
}

/*
 * Give @o level @l of @id: its DEVTYPE, uevent variables and attribute
 * files (groups: "capabilities/ev" is the file ev in group capabilities).
 */
static int stub_obj_ident(struct stub_obj *o, const struct ident *id,
			  unsigned int l)
{
	const char *gname[IDENT_MAX_GROUPS + 1] = { NULL };
	unsigned int gcount[IDENT_MAX_GROUPS + 1] = { 0 };
	unsigned int gsize[IDENT_MAX_GROUPS + 1];
	unsigned int nenv = 0, nattr = 0, ngroups = 1, k;
	struct attribute_group *groups;
	size_t size = 0;
	char *next, *end;

	for (unsigned int i = 0; i < id->nrec; i++) {
		const struct ident_rec *r = &id->rec[i];

		if (r->level != l)
			continue;
		if (r->type == 'E' && !ident_env_skip(r->key)) {
			nenv++;
			size += strlen(r->key) + 1;
		} else if (r->type == 'E' && !strncmp(r->key, "DEVTYPE=", 8)) {
			size += strlen(r->key) + 1;
		} else if (r->type == 'A' && !ident_attr_skip(r->key) &&
			   nattr < IDENT_MAX_ATTRS) {
			const char *slash = strchr(r->key, '/');

			nattr++;
			size += strlen(r->key) + 2 + strlen(r->val);
			for (k = 1; slash && k < ngroups; k++)
				if (!strncmp(gname[k], r->key,
					     slash - r->key) &&
				    gname[k][slash - r->key] == '/')
					break;
			if (slash && k == ngroups) {
				if (ngroups > IDENT_MAX_GROUPS) {
					nattr--;
					continue;
				}
				gname[ngroups++] = r->key; /* cut below */
			}
			gcount[slash ? k : 0]++;
		}
	}
	size += (nenv + 1) * sizeof(char *) +
		nattr * (sizeof(struct stub_attr) + sizeof(void *)) +
		(ngroups + 1) * (sizeof(*groups) + 2 * sizeof(void *)) +
		(ngroups + 2) * 16 + IDENT_MAX_GROUPS * 72;
	o->mem = kzalloc(size, GFP_KERNEL);
	if (!o->mem)
		return -ENOMEM;
	next = o->mem;
	end = next + size;
	o->env = arena(&next, end, (nenv + 1) * sizeof(char *));
	o->groups = arena(&next, end, (ngroups + 1) * sizeof(void *));
	groups = arena(&next, end, ngroups * sizeof(*groups));
	if (!o->env || !o->groups || !groups)
		return -ENOMEM;
	for (k = 0; k < ngroups; k++) {
		groups[k].attrs =
			arena(&next, end, (gcount[k] + 1) * sizeof(void *));
		if (!groups[k].attrs)
			return -ENOMEM;
		if (k) {
			const char *slash = strchr(gname[k], '/');
			char *g = arena(&next, end, slash - gname[k] + 1);

			if (!g)
				return -ENOMEM;
			memcpy(g, gname[k], slash - gname[k]);
			groups[k].name = g;
		}
		o->groups[k] = &groups[k];
		gsize[k] = gcount[k];
		gcount[k] = 0;
	}
	nenv = 0;
	nattr = 0;
	for (unsigned int i = 0; i < id->nrec; i++) {
		const struct ident_rec *r = &id->rec[i];
		const char *slash = r->key ? strchr(r->key, '/') : NULL;
		struct stub_attr *a;
		char *str;

		if (r->level != l)
			continue;
		if (r->type == 'E' && !strncmp(r->key, "DEVTYPE=", 8)) {
			str = arena(&next, end, strlen(r->key) - 7);
			if (!str)
				return -ENOMEM;
			strcpy(str, r->key + 8);
			o->type.name = str;
		}
		if (r->type == 'E' && !ident_env_skip(r->key)) {
			str = arena(&next, end, strlen(r->key) + 1);
			if (!str)
				return -ENOMEM;
			strcpy(str, r->key);
			o->env[nenv++] = str;
		}
		if (r->type != 'A' || ident_attr_skip(r->key) ||
		    nattr == IDENT_MAX_ATTRS)
			continue;
		for (k = 0; slash && ++k < ngroups;)
			if (!strncmp(groups[k].name, r->key, slash - r->key) &&
			    !groups[k].name[slash - r->key])
				break;
		if (k == ngroups || gcount[k] == gsize[k])
			continue; /* a group over the limit */
		a = arena(&next, end, sizeof(*a));
		str = arena(&next, end, strlen(r->key) + strlen(r->val) + 2);
		if (!a || !str)
			return -ENOMEM;
		strcpy(str, slash ? slash + 1 : r->key);
		a->val = str + strlen(str) + 1;
		strcpy((char *)a->val, r->val);
		a->len = strlen(a->val);
		sysfs_attr_init(&a->da.attr);
		a->da.attr.name = str;
		a->da.attr.mode = 0444;
		a->da.show = stub_attr_show;
		groups[k].attrs[gcount[k]++] = &a->da.attr;
		nattr++;
	}
	o->type.uevent = stub_obj_uevent;
	o->dev.type = &o->type;
	o->dev.groups = o->groups;
	o->dev.release = stub_obj_release;
	return 0;
}

/* ---- the subsystems mirrored devices join -------------------------------- */

static struct bus_type stub_bus = { .name = "devfile_mirror" };
static bool stub_bus_registered;
static struct kobject *stub_standins; /* /sys/kernel/devfile_subsystems */

#define STUB_MAX_SUBSYS 16
static struct {
	char name[32];
	struct class *cls; /* ours to destroy, or input_class */
	struct kobject *standin; /* a bus's stand-in directory */
} stub_subsys[STUB_MAX_SUBSYS];

static char *stub_devnode(struct device *dev, umode_t *mode);

static int stub_subsys_find(const char *name)
{
	int i;

	if (strlen(name) >= sizeof(stub_subsys[0].name))
		return -ENAMETOOLONG;
	for (i = 0; i < STUB_MAX_SUBSYS && stub_subsys[i].name[0]; i++)
		if (!strcmp(stub_subsys[i].name, name))
			return i;
	if (i == STUB_MAX_SUBSYS)
		return -ENOSPC;
	strscpy(stub_subsys[i].name, name, sizeof(stub_subsys[i].name));
	return i;
}

/*
 * The class of that name: the guest's own input class, or one made here.
 * A class the guest has already (its driver is loaded here) is not taken
 * over: NULL, and the node keeps the plain devfile class.
 */
static struct class *stub_class_get(const char *name)
{
	char path[48];
	struct path p;
	int i = stub_subsys_find(name);

	if (i < 0)
		return NULL;
	if (stub_subsys[i].cls)
		return stub_subsys[i].cls;
	/* class-specific: begin (input: the guest kernel's own class) */
	if (!strcmp(name, "input")) {
		stub_subsys[i].cls = &input_class;
		return &input_class;
	}
	/* class-specific: end */
	snprintf(path, sizeof(path), "/sys/class/%s", name);
	if (!kern_path(path, 0, &p)) {
		path_put(&p);
		return NULL;
	}
	stub_subsys[i].cls = class_create(THIS_MODULE, stub_subsys[i].name);
	if (IS_ERR(stub_subsys[i].cls)) {
		stub_subsys[i].cls = NULL;
		return NULL;
	}
	stub_subsys[i].cls->devnode = stub_devnode;
	return stub_subsys[i].cls;
}

/* The stand-in directory a bus device's "subsystem" link points to. */
static struct kobject *stub_standin_get(const char *name)
{
	int i = stub_subsys_find(name);

	if (i < 0 || !stub_standins)
		return NULL;
	if (!stub_subsys[i].standin)
		stub_subsys[i].standin =
			kobject_create_and_add(name, stub_standins);
	return stub_subsys[i].standin;
}

static void stub_subsys_destroy(void)
{
	for (int i = 0; i < STUB_MAX_SUBSYS; i++) {
		if (stub_subsys[i].cls && stub_subsys[i].cls != &input_class)
			class_destroy(stub_subsys[i].cls);
		kobject_put(stub_subsys[i].standin);
		memset(&stub_subsys[i], 0, sizeof(stub_subsys[i]));
	}
}

/* ---- parents ------------------------------------------------------------- */

static void stub_parent_put(struct stub_parent *sp)
{
	while (sp && !--sp->users) {
		struct stub_parent *up = (struct stub_parent *)sp->o.parent;

		list_del(&sp->node);
		device_unregister(&sp->o.dev);
		sp = up;
	}
}

/* Level @l of @id below @up (NULL: the top), found or made. */
static struct stub_parent *
stub_parent_get(const struct ident *id, unsigned int l, struct stub_parent *up)
{
	const struct ident_rec *d = id->dev[l];
	struct stub_parent *sp;
	struct kobject *standin = NULL;
	char key[256];
	int ret;

	if (snprintf(key, sizeof(key), "%s/%s:%s", up ? up->key : "", d->key,
		     d->name) >= sizeof(key))
		return ERR_PTR(-ENAMETOOLONG);
	list_for_each_entry(sp, &stub_parents, node) {
		if (!strcmp(sp->key, key)) {
			sp->users++;
			return sp;
		}
	}
	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		return ERR_PTR(-ENOMEM);
	device_initialize(&sp->o.dev);
	sp->o.owner = sp;
	sp->o.dev.release = stub_obj_release;
	strscpy(sp->key, key, sizeof(sp->key));
	ret = stub_obj_ident(&sp->o, id, l);
	if (!ret)
		ret = dev_set_name(&sp->o.dev, "%s", d->name);
	if (!ret && d->val[0] == 'b') {
		standin = stub_standin_get(d->key);
		sp->o.dev.bus = &stub_bus;
		sp->on_bus = true;
		if (!standin || !stub_bus_registered)
			ret = -ENOENT;
	} else if (!ret) {
		sp->o.dev.class = stub_class_get(d->key);
		if (!sp->o.dev.class)
			ret = -ENOENT;
	}
	sp->o.dev.parent = up ? &up->o.dev : NULL;
	if (!ret)
		ret = device_add(&sp->o.dev);
	if (ret) {
		put_device(&sp->o.dev);
		return ERR_PTR(ret);
	}
	/* What libudev and libdrm read: the bus's name, not ours. */
	if (standin) {
		sysfs_remove_link(&sp->o.dev.kobj, "subsystem");
		ret = sysfs_create_link(&sp->o.dev.kobj, standin, "subsystem");
		if (ret)
			pr_warn("%s: subsystem link: %d\n", d->name, ret);
	}
	if (up)
		up->users++;
	sp->o.parent = up ? &up->o : NULL;
	sp->users = 1;
	list_add(&sp->node, &stub_parents);
	return sp;
}

/* ---- the device nodes ---------------------------------------------------- */

/*
 * devtmpfs names a node of the plain devfile class after the device,
 * whose '/' the driver core turned into '!' ("dri/card0" -> "dri!card0"
 * -> /dev/dri/card0); a mirrored node (a class of the real name) gets
 * its exported name. Both get the real node's permissions.
 */
static char *stub_devnode(struct device *dev, umode_t *mode)
{
	struct stub_dev *sd;

	if (!dev->devt)
		return NULL;
	sd = container_of(dev, struct stub_dev, o.dev);
	if (mode)
		*mode = (sd->mode & 0777) ?: 0600;
	if (dev->class == stub_class)
		return NULL;
	return kasprintf(GFP_KERNEL, "%s%s", prefix, sd->name);
}

/*
 * Mirror @sd's identity: its parents from the top, then its own level.
 * Returns the class for the node, or NULL (no identity: the plain class).
 */
static struct class *stub_dev_ident(struct stub_dev *sd, struct ident *id)
{
	struct stub_parent *sp = NULL, *next;
	struct class *cls;
	size_t len;
	char *text;
	int ret;

	if (!ident || prefix[0])
		return NULL;
	text = ident_fetch(sd->name, &len);
	if (IS_ERR(text)) {
		pr_info("%s: no identity (%ld): a plain node\n", sd->name,
			PTR_ERR(text));
		return NULL;
	}
	ret = ident_parse(id, text, len);
	cls = ret ? NULL : stub_class_get(id->dev[0]->key);
	if (!cls) {
		pr_info("%s: identity not mirrored (%d): a plain node\n",
			sd->name, ret);
		return NULL;
	}
	for (unsigned int l = id->nlevels - 1; l > 0; l--) {
		next = stub_parent_get(id, l, sp);
		stub_parent_put(sp); /* the child holds it now */
		if (IS_ERR(next)) {
			pr_info("%s: parent %s:%s not mirrored (%ld)\n",
				sd->name, id->dev[l]->key, id->dev[l]->name,
				PTR_ERR(next));
			return NULL;
		}
		sp = next;
	}
	if (stub_obj_ident(&sd->o, id, 0)) {
		stub_parent_put(sp);
		return NULL;
	}
	sd->o.parent = sp ? &sp->o : NULL;
	sd->o.dev.parent = sp ? &sp->o.dev : NULL;
	return cls;
}

static int stub_dev_add(const char *name, umode_t mode, u64 major, u64 minor)
{
	struct stub_dev *sd;
	struct ident id = {};
	struct class *cls;
	dev_t real = MKDEV(major, minor);
	int ret = -EBUSY;

	sd = kzalloc(sizeof(*sd), GFP_KERNEL);
	if (!sd)
		return -ENOMEM;
	device_initialize(&sd->o.dev);
	sd->o.owner = sd;
	sd->o.dev.release = stub_obj_release;
	strscpy(sd->name, name, sizeof(sd->name));
	sd->mode = mode;
	sd->real = major << 32 | minor;
	cls = stub_dev_ident(sd, &id);
	if (cls) {
		sd->o.dev.class = cls;
		ret = dev_set_name(&sd->o.dev, "%s", id.dev[0]->name);
	} else {
		/* A plain node: no parent, no mirrored attributes. */
		kfree(sd->o.mem);
		sd->o.mem = NULL;
		sd->o.env = NULL;
		memset(&sd->o.type, 0, sizeof(sd->o.type));
		sd->o.dev.groups = NULL;
		sd->o.dev.type = &sd->o.type;
		sd->o.dev.class = stub_class;
		ret = dev_set_name(&sd->o.dev, "%s%s", prefix, name);
	}
	ident_free(&id);
	sd->o.type.uevent = stub_obj_uevent;
	if (ret)
		goto put;
	ret = -EBUSY;
	if (real_numbers && major && major < (1u << MINORBITS) &&
	    MAJOR(real) == major && MINOR(real) == minor)
		ret = register_chrdev_region(real, 1, "devfile");
	if (!ret)
		sd->o.dev.devt = real;
	else
		ret = alloc_chrdev_region(&sd->o.dev.devt, 0, 1, "devfile");
	if (ret)
		goto put;
	sd->region = true;
	cdev_init(&sd->cdev, &stub_fops);
	sd->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&sd->cdev, &sd->o.dev);
	if (ret) {
		unregister_chrdev_region(sd->o.dev.devt, 1);
		goto put;
	}
	list_add_tail(&sd->node, &stub_devs);
	stub_ndevs++;
	pr_info("/dev/%s%s (%u:%u) forwards %s (%llu:%llu)%s\n", prefix, name,
		MAJOR(sd->o.dev.devt), MINOR(sd->o.dev.devt), name, major,
		minor, cls ? ", identity mirrored" : "");
	return 0;
put:
	stub_parent_put((struct stub_parent *)sd->o.parent);
	put_device(&sd->o.dev);
	return ret;
}

/* Withdraw @sd: its node goes (a remove uevent), its open files fail. */
static void stub_dev_remove(struct stub_dev *sd)
{
	struct stub_parent *sp = (struct stub_parent *)sd->o.parent;
	struct stub_file *sf;
	unsigned int b;

	WRITE_ONCE(sd->gone, true);
	rcu_read_lock();
	hash_for_each_rcu(stub_files, b, sf, node)
	{
		if (sf->sd != sd)
			continue;
		wake_up_all(&sf->wq);
		kill_fasync(&sf->fasync, SIGIO, POLL_HUP);
	}
	rcu_read_unlock();
	list_del(&sd->node);
	stub_ndevs--;
	pr_info("/dev/%s%s withdrawn\n", prefix, sd->name);
	cdev_device_del(&sd->cdev, &sd->o.dev);
	if (sd->region)
		unregister_chrdev_region(sd->o.dev.devt, 1);
	put_device(&sd->o.dev); /* open files keep it until they close */
	stub_parent_put(sp);
}

struct stub_export {
	char name[DEVFILE_NAME_MAX];
	umode_t mode;
	u64 major, minor;
};

/*
 * Ask the driver VM for its exports and make the nodes follow: new ones
 * appear, withdrawn or changed ones go. No shim (-ENODEV) means none.
 */
static void stub_scan(void)
{
	static bool waiting;
	struct stub_export *ex;
	struct stub_dev *sd, *tmp;
	struct devfile_resp resp;
	struct devfile_req req;
	unsigned int i, n = 0;
	long ret;

	ex = kcalloc(STUB_MAX_DEVICES, sizeof(*ex), GFP_KERNEL);
	if (!ex)
		return;
	mutex_lock(&stub_lock);
	for (i = 0; n < STUB_MAX_DEVICES && i < 4 * STUB_MAX_DEVICES; i++) {
		stub_req_init(&req, DEVFILE_OP_LIST, DEVFILE_HANDLE_NONE, NULL);
		req.a[0] = i;
		ret = stub_send(&req, &resp);
		resp.name[sizeof(resp.name) - 1] = '\0';
		if (ret == -ENOENT)
			break;
		if (ret == -ENODEV) {
			if (!waiting)
				pr_info("no exports from the driver VM yet: "
					"waiting for them\n");
			waiting = true;
			break;
		}
		if (ret == -EACCES)
			continue; /* not this guest's (boot config) */
		if (ret < 0) {
			pr_info("export %u (%s): %ld, skipped\n", i, resp.name,
				ret);
			continue;
		}
		if (!resp.name[0] ||
		    strlen(prefix) + strlen(resp.name) >= DEVFILE_NAME_MAX) {
			pr_warn("export %u: bad name, skipped\n", i);
			continue;
		}
		strscpy(ex[n].name, resp.name, sizeof(ex[n].name));
		ex[n].mode = resp.v[0];
		ex[n].major = resp.v[1];
		ex[n].minor = resp.v[2];
		n++;
		waiting = false;
	}
	list_for_each_entry_safe(sd, tmp, &stub_devs, node)
	{
		for (i = 0; i < n; i++)
			if (!strcmp(ex[i].name, sd->name) &&
			    sd->real == (ex[i].major << 32 | ex[i].minor))
				break;
		if (i == n)
			stub_dev_remove(sd);
		else
			ex[i].name[0] = '\0'; /* have it */
	}
	for (i = 0; i < n; i++) {
		if (!ex[i].name[0])
			continue;
		ret = stub_dev_add(ex[i].name, ex[i].mode, ex[i].major,
				   ex[i].minor);
		if (ret)
			pr_err("/dev/%s%s: %ld\n", prefix, ex[i].name, ret);
	}
	mutex_unlock(&stub_lock);
	kfree(ex);
}

static void stub_rescan_work(struct work_struct *work)
{
	stub_scan();
}

static void stub_remove_devices(void)
{
	struct stub_dev *sd, *tmp;

	mutex_lock(&stub_lock);
	list_for_each_entry_safe(sd, tmp, &stub_devs, node) stub_dev_remove(sd);
	WARN_ON(!list_empty(&stub_parents));
	mutex_unlock(&stub_lock);
}

/* ---- debugfs: what the stub sent and received ------------------------- */

static struct dentry *stub_debugfs;

static int stub_stats_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "transport %s\ndevices %u\nrequests %lld\n",
		   stub_tp->name, stub_ndevs,
		   (long long)atomic64_read(&stub_seq));
	seq_printf(
		s,
		"notes_poll %lld\nnotes_sigio %lld\nnotes_exports %lld\n"
		"notes_revoke %lld\n",
		(long long)atomic64_read(&stub_nr_notes[DEVFILE_NOTE_POLL]),
		(long long)atomic64_read(&stub_nr_notes[DEVFILE_NOTE_SIGIO]),
		(long long)atomic64_read(&stub_nr_notes[DEVFILE_NOTE_EXPORTS]),
		(long long)atomic64_read(&stub_nr_notes[DEVFILE_NOTE_REVOKE]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stub_stats);

/* ---- module --------------------------------------------------------------- */

static int __init stub_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(stub_transports); i++) {
		if (!strcmp(transport, stub_transports[i].name))
			stub_tp = &stub_transports[i];
	}
	if (!stub_tp) {
		pr_err("unknown transport '%s' (loopback, hypercall)\n",
		       transport);
		return -EINVAL;
	}
	if (strlen(prefix) >= DEVFILE_NAME_MAX / 2) {
		pr_err("prefix too long\n");
		return -EINVAL;
	}
	ret = stub_tp->attach();
	if (ret)
		return ret;
	stub_class = class_create(THIS_MODULE, "devfile");
	if (IS_ERR(stub_class)) {
		ret = PTR_ERR(stub_class);
		goto detach;
	}
	stub_class->devnode = stub_devnode;
	if (ident && !prefix[0]) {
		stub_bus_registered = !bus_register(&stub_bus);
		stub_standins = kobject_create_and_add("devfile_subsystems",
						       kernel_kobj);
	}
	/* From here an EXPORTS note rescans; the first scan is ours. */
	WRITE_ONCE(stub_ready, true);
	stub_scan();
	stub_debugfs = debugfs_create_dir("devfile_stub", NULL);
	debugfs_create_file("stats", 0444, stub_debugfs, NULL,
			    &stub_stats_fops);
	pr_info("%u device(s) over %s\n", stub_ndevs, stub_tp->name);
	return 0;
detach:
	stub_tp->detach();
	return ret;
}

static void __exit stub_exit(void)
{
	debugfs_remove_recursive(stub_debugfs);
	WRITE_ONCE(stub_ready, false);
	cancel_work_sync(&stub_rescan);
	stub_tp->detach(); /* no more notes */
	cancel_work_sync(&stub_rescan);
	stub_remove_devices();
	stub_subsys_destroy();
	kobject_put(stub_standins);
	if (stub_bus_registered)
		bus_unregister(&stub_bus);
	class_destroy(stub_class);
	/* Notes read stub_files under RCU: let them finish before unload. */
	rcu_barrier();
}

module_init(stub_init);
module_exit(stub_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: stub device files forwarded to the driver VM");
