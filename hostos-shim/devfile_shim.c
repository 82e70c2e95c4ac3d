// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_shim - runs forwarded device-file operations on the real device
 * files of the driver VM (issue 4; docs/devfile.md).
 *
 *   insmod devfile_shim.ko devices=devfile_test,dri/card0
 *
 * exports /dev/devfile_test and /dev/dri/card0. A transport creates one
 * client per guest (devfile_shim_client_create) and passes each of its
 * requests (struct devfile_req, devfile/include/devfile/proto.h) to
 * devfile_shim_execute(), which runs it on the real file and fills struct
 * devfile_resp. Nothing here depends on the device class, and nothing
 * describes an ioctl: user pointers go to the driver untouched, and its
 * copy_{from,to}_user reach the caller's memory because the operation runs
 * in the caller's address space (loopback: the calling process itself;
 * hypercall transport: the guest process's mirror).
 *
 * Per client:
 *   - a handle table: a handle encodes the client, a slot and the slot's
 *     generation, so stale, forged and foreign handles get -EBADF;
 *   - a mirror address space (struct mm_struct) in which the shim makes
 *     the real mmap of each of the client's mappings; FAULT returns the
 *     frame that backs a page there (zero copy);
 *   - a notification callback: the shim puts its own entries on the
 *     driver's wait queues (the real file's poll), and turns wake-ups into
 *     DEVFILE_NOTE_POLL (when the stub armed a poll) and DEVFILE_NOTE_SIGIO
 *     (when the stub turned FASYNC on);
 *   - counters (open files, requests in flight, mappings, ...), in
 *     /sys/kernel/debug/devfile_shim/stats.
 * Destroying a client closes everything it left open.
 */
#define pr_fmt(fmt) "devfile_shim: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/kthread.h>
#include <linux/workqueue.h>
#include <linux/completion.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <linux/idr.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/sort.h>
#include <linux/notifier.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/signal.h>

#include "devfile_shim.h"

#define SHIM_MAX_EXPORTS 32
/* Wait queues one file's poll may use (drivers use one or two). */
#define SHIM_MAX_WAITS 4
/* The largest single mapping (a GPU's VRAM BAR is at most this). */
#define SHIM_MAP_MAX (1ULL << 36)
/* Bits of a handle: client id, slot generation, slot + 1. */
#define H_SLOT_BITS 16
#define H_GEN_BITS 24
#define H_GEN_MASK ((1u << H_GEN_BITS) - 1)
#define H_CLIENT_SHIFT (H_SLOT_BITS + H_GEN_BITS)
#define H_CLIENT_MAX ((1u << (64 - H_CLIENT_SHIFT)) - 1)

static unsigned int max_files = 1024;
module_param(max_files, uint, 0444);
MODULE_PARM_DESC(max_files, "open handles per client (at most 65534)");
static unsigned int max_maps = 4096;
module_param(max_maps, uint, 0444);
MODULE_PARM_DESC(max_maps, "live mappings per client");

/*
 * The exported names (devices=). Writable at run time: a new list is
 * swapped in under shim_exports_lock, then the files of withdrawn names
 * die (docs/devfile.md, "Dynamic exports").
 */
struct shim_exports {
	unsigned int n;
	char name[SHIM_MAX_EXPORTS][DEVFILE_NAME_MAX];
};

static struct shim_exports shim_exp;
static DEFINE_MUTEX(shim_exports_lock);
static BLOCKING_NOTIFIER_HEAD(shim_exports_chain);
static bool shim_ready; /* shim_init ran: clients may exist */
/* Since load: files killed and mappings revoked by withdrawals. */
static atomic64_t shim_withdrawn, shim_revoked;

struct shim_counters {
	atomic_long_t files;
	atomic_long_t inflight;
	atomic_long_t mappings;
	atomic_long_t pages;
	atomic_long_t watches;
	atomic64_t ops;
	atomic64_t notes;
};

static struct shim_counters shim_total;
static LIST_HEAD(shim_clients);
static DEFINE_MUTEX(shim_clients_lock);
static DEFINE_IDA(shim_client_ids);
static struct dentry *shim_debugfs;

struct shim_slot {
	struct shim_file *sf; /* NULL: free */
	u32 gen; /* of the current or next handle of this slot */
};

struct devfile_client {
	unsigned int id; /* 1 .. H_CLIENT_MAX: the top bits of its handles */
	char name[32];
	devfile_notify_fn notify;
	void *priv;
	struct mm_struct *mirror; /* mmget() reference, or NULL */

	spinlock_t lock; /* slots, maps, dead */
	struct shim_slot *slots;
	unsigned int nslots;
	unsigned int next_slot;
	struct idr maps; /* mapping id -> struct shim_map */
	bool dead;
	devfile_cancel_fn cancel; /* set by the transport, or NULL */
	const struct devfile_zc_ops *zc; /* likewise: zero copy, revocation */

	struct shim_counters cnt;
	/*
	 * Lifetime: one reference for being alive (dropped by destroy), one
	 * per request in flight and one per open file. The last put
	 * completes idle, on which destroy waits before freeing.
	 */
	refcount_t users;
	struct completion idle;
	struct list_head node; /* in shim_clients */
};

/* One of the shim's entries on a driver wait queue. */
struct shim_wait {
	struct shim_file *sf;
	wait_queue_head_t *whead; /* NULL once the queue said POLLFREE */
	wait_queue_entry_t wait;
};

/* One open real file: a handle of a client. */
struct shim_file {
	refcount_t ref; /* the handle table's, requests', mappings' */
	struct devfile_client *client;
	struct file *filp;
	u64 handle;
	char name[DEVFILE_NAME_MAX]; /* the export it was opened as */
	/*
	 * Its export was withdrawn: every op but RELEASE gets -ENODEV. Set
	 * under shim_exports_lock and the client's lock, never cleared.
	 */
	bool dead;

	struct mutex lock; /* watching, FASYNC, llseek's use of f_pos */
	bool watching; /* waits[] are on the driver's queues */
	bool sigio; /* FASYNC on: wake-ups become DEVFILE_NOTE_SIGIO */
	atomic_t interest; /* armed poll events: the next match notifies */
	poll_table pt;
	unsigned int nwaits;
	struct shim_wait waits[SHIM_MAX_WAITS];
};

#define MAP_UNMAPPED 0 /* bit of shim_map.state */

/* One MMAP: the real mapping in the client's mirror. */
struct shim_map {
	refcount_t ref; /* the client's idr's, and FAULTs' */
	int id;
	struct shim_file *sf; /* reference held */
	unsigned long addr; /* in the mirror */
	unsigned long len;
	unsigned int prot;
	unsigned int flags;
	/* MAP_UNMAPPED: set before the real munmap; read under its lock */
	unsigned long state;
	bool revoked; /* its export was withdrawn; under the client's lock */
	struct xarray pages; /* pfn -> struct page *, references from GUP */
	/*
	 * Zero copy (client->zc): the guest address each page's frame was
	 * given at (0: none), and the notifier on the mirror range that takes
	 * them back. zc_lock orders a FAULT's gmap against the notifier.
	 */
	u64 *gpas;
	spinlock_t zc_lock;
	bool mni_on;
	struct mmu_interval_notifier mni;
};

static void client_put(struct devfile_client *c)
{
	if (refcount_dec_and_test(&c->users))
		complete(&c->idle);
}

static void cnt_add(struct devfile_client *c, size_t off, long v)
{
	atomic_long_add(v, (atomic_long_t *)((char *)&c->cnt + off));
	atomic_long_add(v, (atomic_long_t *)((char *)&shim_total + off));
}

#define CNT_ADD(c, field, v) \
	cnt_add(c, offsetof(struct shim_counters, field), v)

static void cnt_event(struct devfile_client *c, size_t off)
{
	atomic64_inc((atomic64_t *)((char *)&c->cnt + off));
	atomic64_inc((atomic64_t *)((char *)&shim_total + off));
}

#define CNT_EVENT(c, field) cnt_event(c, offsetof(struct shim_counters, field))

/* ---- exports ------------------------------------------------------------ */

/*
 * An export is a path under /dev: components of [A-Za-z0-9_+:.-], none
 * empty, "." or "..", so that the name cannot leave /dev.
 */
static bool shim_name_ok(const char *name)
{
	const char *p, *comp = name;

	if (!*name || strlen(name) >= DEVFILE_NAME_MAX)
		return false;
	for (p = name;; p++) {
		if (*p == '/' || !*p) {
			size_t n = p - comp;

			if (!n || (n == 1 && comp[0] == '.') ||
			    (n == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (!*p)
				return true;
			comp = p + 1;
		} else if (!isalnum(*p) && !strchr("_+:.-", *p)) {
			return false;
		}
	}
}

static int shim_parse_devices(const char *val, struct shim_exports *set)
{
	char *copy, *s, *tok;
	int ret = 0;

	set->n = 0;
	copy = kstrdup(val ?: "", GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	s = copy;
	while ((tok = strsep(&s, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok)
			continue;
		if (!shim_name_ok(tok)) {
			pr_err("bad device name '%s'\n", tok);
			ret = -EINVAL;
			break;
		}
		if (set->n == SHIM_MAX_EXPORTS) {
			pr_err("more than %d devices\n", SHIM_MAX_EXPORTS);
			ret = -E2BIG;
			break;
		}
		strscpy(set->name[set->n++], tok, DEVFILE_NAME_MAX);
	}
	kfree(copy);
	return ret;
}

/* Whether name is in set (shim_exports_lock held for shim_exp). */
static bool shim_exports_has(const struct shim_exports *set, const char *name)
{
	unsigned int i;

	for (i = 0; i < set->n; i++) {
		if (!strcmp(set->name[i], name))
			return true;
	}
	return false;
}

static bool shim_exported(const char *name)
{
	bool ret;

	mutex_lock(&shim_exports_lock);
	ret = shim_exports_has(&shim_exp, name);
	mutex_unlock(&shim_exports_lock);
	return ret;
}

static void shim_exports_changed(void);

/*
 * devices= at load and written at run time (0644): validated the same
 * way, swapped in whole or not at all. A change withdraws the files of
 * names no longer listed and notifies every client.
 */
static int shim_devices_set(const char *val, const struct kernel_param *kp)
{
	struct shim_exports *set;
	unsigned int i, n;
	bool changed;
	int ret;

	set = kzalloc(sizeof(*set), GFP_KERNEL);
	if (!set)
		return -ENOMEM;
	ret = shim_parse_devices(val, set);
	if (ret) {
		kfree(set);
		return ret;
	}
	mutex_lock(&shim_exports_lock);
	changed = set->n != shim_exp.n;
	for (i = 0; i < set->n && !changed; i++)
		changed = strcmp(set->name[i], shim_exp.name[i]);
	shim_exp = *set;
	mutex_unlock(&shim_exports_lock);
	n = set->n;
	kfree(set);
	if (changed && READ_ONCE(shim_ready)) {
		pr_info("exports changed: %u device(s)\n", n);
		shim_exports_changed();
	}
	return 0;
}

static int shim_devices_get(char *buf, const struct kernel_param *kp)
{
	unsigned int i;
	int n = 0;

	mutex_lock(&shim_exports_lock);
	for (i = 0; i < shim_exp.n; i++)
		n += sysfs_emit_at(buf, n, "%s%s", i ? "," : "",
				   shim_exp.name[i]);
	mutex_unlock(&shim_exports_lock);
	n += sysfs_emit_at(buf, n, "\n");
	return n;
}

static const struct kernel_param_ops shim_devices_ops = {
	.set = shim_devices_set,
	.get = shim_devices_get,
};

module_param_cb(devices, &shim_devices_ops, NULL, 0644);
MODULE_PARM_DESC(devices, "comma-separated device names under /dev to export "
			  "(writable: withdrawn devices' handles die)");

/* ---- handles -------------------------------------------------------------- */

static u64 shim_make_handle(struct devfile_client *c, unsigned int slot,
			    u32 gen)
{
	return ((u64)c->id << H_CLIENT_SHIFT) | ((u64)gen << H_SLOT_BITS) |
	       (slot + 1);
}

/*
 * The table slot of handle h, or -1 when h is not a live handle of c
 * (another client's, a stale generation, a forged one). Under c->lock.
 */
static int shim_handle_slot(struct devfile_client *c, u64 h)
{
	unsigned int slot = (h & ((1u << H_SLOT_BITS) - 1)) - 1;
	u32 gen = (h >> H_SLOT_BITS) & H_GEN_MASK;

	if ((h >> H_CLIENT_SHIFT) != c->id || slot >= c->nslots ||
	    !c->slots[slot].sf || c->slots[slot].gen != gen)
		return -1;
	return slot;
}

/*
 * The open file of handle h with a reference, or NULL (-EBADF); *dead:
 * its export was withdrawn (read under the lock that orders it against
 * the withdrawal, see shim_withdraw()).
 */
static struct shim_file *shim_get_file(struct devfile_client *c, u64 h,
				       bool *dead)
{
	struct shim_file *sf = NULL;
	int slot;

	spin_lock(&c->lock);
	slot = shim_handle_slot(c, h);
	if (slot >= 0) {
		sf = c->slots[slot].sf;
		refcount_inc(&sf->ref);
		*dead = sf->dead;
	}
	spin_unlock(&c->lock);
	return sf;
}

/* Take the file of handle h out of the table; the caller owns its ref. */
static struct shim_file *shim_take_handle(struct devfile_client *c, u64 h)
{
	struct shim_file *sf = NULL;
	int slot;

	spin_lock(&c->lock);
	slot = shim_handle_slot(c, h);
	if (slot >= 0) {
		sf = c->slots[slot].sf;
		c->slots[slot].sf = NULL;
		c->slots[slot].gen = (c->slots[slot].gen + 1) & H_GEN_MASK ?: 1;
	}
	spin_unlock(&c->lock);
	return sf;
}

/* Whether sf is still installed in its slot; c->lock held. */
static bool shim_installed_locked(struct devfile_client *c,
				  struct shim_file *sf)
{
	unsigned int slot = (sf->handle & ((1u << H_SLOT_BITS) - 1)) - 1;

	return slot < c->nslots && c->slots[slot].sf == sf;
}

static int shim_install(struct devfile_client *c, struct shim_file *sf)
{
	unsigned int i, slot;
	int ret = -EMFILE;

	spin_lock(&c->lock);
	if (c->dead) {
		ret = -ENODEV;
		goto out;
	}
	for (i = 0; i < c->nslots; i++) {
		slot = (c->next_slot + i) % c->nslots;
		if (c->slots[slot].sf)
			continue;
		c->slots[slot].sf = sf;
		sf->handle = shim_make_handle(c, slot, c->slots[slot].gen);
		c->next_slot = slot + 1;
		ret = 0;
		break;
	}
out:
	spin_unlock(&c->lock);
	return ret;
}

/* ---- watches on the driver's wait queues ------------------------------- */

static void shim_notify(struct shim_file *sf, unsigned int type,
			__poll_t events)
{
	struct devfile_client *c = sf->client;
	struct devfile_note_msg note = {
		.type = type,
		.events = (__force unsigned int)events,
		.handle = sf->handle,
	};

	CNT_EVENT(c, notes);
	if (c->notify)
		c->notify(c->priv, &note);
}

/*
 * A driver woke one of its queues (any context, the queue's lock held).
 * An armed poll whose events match (or an unkeyed wake-up) notifies once
 * and disarms: the stub wakes all its pollers, which poll again and so
 * re-arm. FASYNC turns every wake-up into a SIGIO note.
 */
static int shim_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
		     void *key)
{
	struct shim_wait *w = container_of(wait, struct shim_wait, wait);
	struct shim_file *sf = w->sf;
	__poll_t ev = key_to_poll(key);
	unsigned int want = atomic_read(&sf->interest);

	if (want && (!ev || (ev & (__force __poll_t)want))) {
		if (atomic_xchg(&sf->interest, 0))
			shim_notify(sf, DEVFILE_NOTE_POLL, ev);
	}
	if (READ_ONCE(sf->sigio) && !(ev & POLLFREE))
		shim_notify(sf, DEVFILE_NOTE_SIGIO, ev);
	if (ev & POLLFREE) {
		/* The queue goes away before the file (as for epoll). */
		list_del_init(&wait->entry);
		smp_store_release(&w->whead, NULL);
	}
	return 0;
}

static void shim_queue_proc(struct file *filp, wait_queue_head_t *whead,
			    poll_table *pt)
{
	struct shim_file *sf = container_of(pt, struct shim_file, pt);
	struct shim_wait *w;

	if (sf->nwaits == SHIM_MAX_WAITS) {
		pr_warn_once("a poll uses more than %d wait queues\n",
			     SHIM_MAX_WAITS);
		return;
	}
	w = &sf->waits[sf->nwaits++];
	w->sf = sf;
	w->whead = whead;
	init_waitqueue_func_entry(&w->wait, shim_wake);
	add_wait_queue(whead, &w->wait);
}

/* Put the shim's entries on the driver's queues once; sf->lock held. */
static void shim_watch_locked(struct shim_file *sf)
{
	if (sf->watching)
		return;
	sf->watching = true;
	init_poll_funcptr(&sf->pt, shim_queue_proc);
	sf->pt._key = ~(__poll_t)0;
	vfs_poll(sf->filp, &sf->pt);
	CNT_ADD(sf->client, watches, 1);
}

static void shim_unwatch(struct shim_file *sf)
{
	wait_queue_head_t *whead;
	unsigned int i;

	if (!sf->watching)
		return;
	for (i = 0; i < sf->nwaits; i++) {
		rcu_read_lock();
		whead = smp_load_acquire(&sf->waits[i].whead);
		if (whead)
			remove_wait_queue(whead, &sf->waits[i].wait);
		rcu_read_unlock();
	}
	sf->watching = false;
	CNT_ADD(sf->client, watches, -1);
}

/* ---- files ---------------------------------------------------------------- */

static void shim_file_destroy(struct shim_file *sf)
{
	struct devfile_client *c = sf->client;

	shim_unwatch(sf);
	/* The VFS calls ->fasync(-1, filp, 0) itself for a FASYNC file. */
	filp_close(sf->filp, NULL);
	kfree(sf);
	CNT_ADD(c, files, -1);
	client_put(c); /* last: c may be freed right after */
}

static void shim_put_file(struct shim_file *sf)
{
	if (refcount_dec_and_test(&sf->ref))
		shim_file_destroy(sf);
}

static void shim_set_nonblock(struct file *filp, bool nonblock)
{
	if (!!(filp->f_flags & O_NONBLOCK) == nonblock)
		return;
	spin_lock(&filp->f_lock);
	if (nonblock)
		filp->f_flags |= O_NONBLOCK;
	else
		filp->f_flags &= ~O_NONBLOCK;
	spin_unlock(&filp->f_lock);
}

/* ---- the mirror: real mappings in the client's address space ----------- */

struct mirror_call {
	struct work_struct work;
	struct completion done;
	struct mm_struct *mm;
	bool map; /* vm_mmap, else vm_munmap */
	struct file *filp;
	unsigned long addr, len, prot, flags, off;
	bool nosplit; /* out: the driver refuses to split the mapping */
	long ret;
};

/*
 * Where the mirror's real (un)mapping can run. vm_mmap() and vm_munmap()
 * work on current->mm:
 *   - a kernel thread that adopted the mirror (the hypercall transport's
 *     servers) holds none of its locks: right here;
 *   - any other caller (loopback: the stub's ->mmap and vma close run
 *     under the caller's own mmap_lock) hands it to a worker that adopts
 *     the mirror;
 *   - a user process whose own mm is the mirror cannot: it may hold that
 *     mmap_lock (-EDEADLK).
 */
enum shim_mirror_ctx { MIRROR_WORKER, MIRROR_HERE, MIRROR_DEADLOCK };

static enum shim_mirror_ctx shim_mirror_ctx(struct devfile_client *c)
{
	if (current->mm != c->mirror)
		return MIRROR_WORKER;
	if (current->flags & PF_KTHREAD)
		return MIRROR_HERE;
	return MIRROR_DEADLOCK;
}

static void mirror_do(struct mirror_call *mc)
{
	struct vm_area_struct *vma;

	if (!mc->map) {
		mc->ret = vm_munmap(mc->addr, mc->len);
		return;
	}
	mc->ret = vm_mmap(mc->filp, 0, mc->len, mc->prot, mc->flags, mc->off);
	if (IS_ERR_VALUE(mc->ret))
		return;
	mc->addr = mc->ret;
	mc->ret = 0;
	mmap_read_lock(mc->mm);
	vma = vma_lookup(mc->mm, mc->addr);
	/* Ask the driver whether it would split it. */
	if (vma && vma->vm_ops && vma->vm_ops->may_split &&
	    mc->len > PAGE_SIZE &&
	    vma->vm_ops->may_split(vma, mc->addr + PAGE_SIZE))
		mc->nosplit = true;
	mmap_read_unlock(mc->mm);
}

static void mirror_work(struct work_struct *work)
{
	struct mirror_call *mc = container_of(work, struct mirror_call, work);

	kthread_use_mm(mc->mm);
	mirror_do(mc);
	kthread_unuse_mm(mc->mm);
	complete(&mc->done);
}

/*
 * Run mc on the mirror. here_ok: the caller is known to hold no mmap_lock
 * (client destruction), so a user process in the mirror runs it in place.
 */
static long mirror_run(struct devfile_client *c, struct mirror_call *mc,
		       bool here_ok)
{
	mc->mm = c->mirror;
	switch (shim_mirror_ctx(c)) {
	case MIRROR_HERE:
		mirror_do(mc);
		return mc->ret;
	case MIRROR_DEADLOCK:
		if (here_ok) {
			mirror_do(mc);
			return mc->ret;
		}
		mc->ret = -EDEADLK;
		return mc->ret;
	case MIRROR_WORKER:
		break;
	}
	INIT_WORK_ONSTACK(&mc->work, mirror_work);
	init_completion(&mc->done);
	queue_work(system_unbound_wq, &mc->work);
	wait_for_completion(&mc->done);
	destroy_work_on_stack(&mc->work);
	return mc->ret;
}

static void shim_put_map(struct shim_map *m)
{
	struct devfile_client *c = m->sf->client;
	struct page *page;
	unsigned long pfn;
	long n = 0;

	if (!refcount_dec_and_test(&m->ref))
		return;
	/* Unmapped by now: the notifier took every guest address back. */
	if (m->mni_on)
		mmu_interval_notifier_remove(&m->mni);
	kvfree(m->gpas);
	xa_for_each(&m->pages, pfn, page)
	{
		put_page(page);
		n++;
	}
	xa_destroy(&m->pages);
	CNT_ADD(c, pages, -n);
	shim_put_file(m->sf);
	kfree(m);
}

/*
 * The real munmap of m in the mirror, once: at MUNMAP, RELEASE, client
 * destruction or the withdrawal of its export, whichever comes first.
 */
static void shim_unmap_real(struct shim_map *m, bool here_ok)
{
	struct devfile_client *c = m->sf->client;
	struct mirror_call mc = {
		.map = false,
		.addr = m->addr,
		.len = m->len,
	};

	if (test_and_set_bit(MAP_UNMAPPED, &m->state))
		return;
	if (mirror_run(c, &mc, here_ok))
		pr_warn("munmap of mapping %d: %ld\n", m->id, mc.ret);
	CNT_ADD(c, mappings, -1);
}

/* Unmap a mapping already taken out of the client's idr. */
static void shim_unmap(struct shim_map *m, bool here_ok)
{
	shim_unmap_real(m, here_ok);
	shim_put_map(m);
}

/*
 * Unmap every mapping of sf, or all of the client's (sf NULL: the client
 * is being destroyed, by a caller that holds no mmap_lock).
 */
static void shim_unmap_all(struct devfile_client *c, struct shim_file *sf)
{
	struct shim_map *m, *found;
	int id;

	for (;;) {
		found = NULL;
		spin_lock(&c->lock);
		idr_for_each_entry(&c->maps, m, id)
		{
			if (!sf || m->sf == sf) {
				found = idr_remove(&c->maps, id);
				break;
			}
		}
		spin_unlock(&c->lock);
		if (!found)
			return;
		shim_unmap(found, !sf);
	}
}

/* ---- identity (IDENT) ----------------------------------------------------- */

/*
 * The identity text of an exported node (proto.h, docs/devfile.md "Device
 * identity"), built from this kernel's sysfs without knowing any class:
 * /sys/dev/char/MAJ:MIN leads to the device's directory (level 0); its
 * parents follow, up to the first one on a bus. Cached per export, built
 * again when the node's dev_t changes.
 */
#define IDENT_LEVELS 6
#define IDENT_VALUE_MAX 512 /* longer attribute values are left out */
#define IDENT_DIR_MAX 256 /* entries of one directory looked at */

struct shim_ident {
	struct list_head node; /* in shim_idents */
	char name[DEVFILE_NAME_MAX];
	dev_t dev;
	size_t len;
	char *text;
};

static LIST_HEAD(shim_idents);
static DEFINE_MUTEX(shim_ident_lock); /* shim_idents, building */

struct ident_buf {
	char *text; /* DEVFILE_IDENT_MAX */
	size_t len;
	size_t mark; /* where the current line started */
	bool over; /* the current line does not fit */
	bool full; /* a line did not fit: nothing more goes in */
	char *val; /* PAGE_SIZE + 1: a file's contents */
	char *path; /* PATH_MAX: a path being built */
	char *dpath; /* PATH_MAX: d_path()'s buffer */
};

static void ib_put(struct ident_buf *b, const char *s, size_t n)
{
	if (b->over || b->len + n > DEVFILE_IDENT_MAX) {
		b->over = true;
		return;
	}
	memcpy(b->text + b->len, s, n);
	b->len += n;
}

/* s escaped: "\\", "\n", and "\xHH" for other bytes below 0x20 or 0x7f. */
static void ib_esc(struct ident_buf *b, const char *s, size_t n)
{
	char hex[5];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = s[i];

		if (ch == '\\') {
			ib_put(b, "\\\\", 2);
		} else if (ch == '\n') {
			ib_put(b, "\\n", 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", ch);
			ib_put(b, hex, 4);
		} else {
			ib_put(b, s + i, 1);
		}
	}
}

static __printf(2, 3) void ib_begin(struct ident_buf *b, const char *fmt, ...)
{
	char head[96];
	va_list ap;
	int n;

	b->mark = b->len;
	b->over = b->full;
	va_start(ap, fmt);
	n = vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	ib_put(b, head, min_t(size_t, n, sizeof(head) - 1));
}

/* End the line; one that does not fit ends the text (line boundary). */
static void ib_end(struct ident_buf *b)
{
	ib_put(b, "\n", 1);
	if (b->over) {
		b->len = b->mark;
		b->full = true;
	}
}

/*
 * Read the regular file at path into b->val (at most max bytes, NUL
 * added). Returns the length, or an error: not there, not readable
 * (write-only attributes), or a failing read.
 */
static ssize_t ident_read(struct ident_buf *b, const char *path, size_t max)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	if (!S_ISREG(file_inode(f)->i_mode) || !(file_inode(f)->i_mode & 0444))
		n = -EACCES;
	else
		n = kernel_read(f, b->val, max, &pos);
	filp_close(f, NULL);
	if (n >= 0)
		b->val[n] = '\0';
	return n;
}

/* Whether path exists (not following a last link). */
static bool ident_exists(const char *path)
{
	struct path p;

	if (kern_path(path, 0, &p))
		return false;
	path_put(&p);
	return true;
}

/*
 * The real path of path with links followed (in b->dpath), or NULL.
 */
static char *ident_realpath(struct ident_buf *b, const char *path)
{
	struct path p;
	char *s;

	if (kern_path(path, LOOKUP_FOLLOW, &p))
		return NULL;
	s = d_path(&p, b->dpath, PATH_MAX);
	path_put(&p);
	return IS_ERR(s) ? NULL : s;
}

struct ident_ent {
	char *name;
	unsigned int type; /* DT_* */
};

struct ident_dir {
	struct dir_context ctx;
	struct ident_ent *ent;
	unsigned int n;
};

static bool ident_filldir(struct dir_context *ctx, const char *name, int len,
			  loff_t off, u64 ino, unsigned int type)
{
	struct ident_dir *d = container_of(ctx, struct ident_dir, ctx);

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return true;
	if (d->n == IDENT_DIR_MAX)
		return false;
	d->ent[d->n].name = kstrndup(name, len, GFP_KERNEL);
	if (!d->ent[d->n].name)
		return false;
	d->ent[d->n++].type = type;
	return true;
}

static int ident_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ident_ent *)a)->name,
		      ((const struct ident_ent *)b)->name);
}

static void ident_dir_free(struct ident_dir *d)
{
	while (d->n)
		kfree(d->ent[--d->n].name);
	kfree(d->ent);
	d->ent = NULL;
}

/* The entries of directory path, sorted by name (for a stable text). */
static int ident_list(const char *path, struct ident_dir *d)
{
	struct file *f;
	int ret;

	d->n = 0;
	d->ent = kcalloc(IDENT_DIR_MAX, sizeof(*d->ent), GFP_KERNEL);
	if (!d->ent)
		return -ENOMEM;
	f = filp_open(path, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(f)) {
		ident_dir_free(d);
		return PTR_ERR(f);
	}
	d->ctx.actor = ident_filldir;
	d->ctx.pos = 0;
	ret = iterate_dir(f, &d->ctx);
	filp_close(f, NULL);
	if (ret) {
		ident_dir_free(d);
		return ret;
	}
	sort(d->ent, d->n, sizeof(*d->ent), ident_ent_cmp, NULL);
	return 0;
}

/*
 * "A level attr value" for the readable attribute at dir/attr: text
 * (no NUL or control bytes but tab, newline and CR) of at most
 * IDENT_VALUE_MAX bytes, its last newline dropped. Others are skipped.
 */
static void ident_attr(struct ident_buf *b, unsigned int level, const char *dir,
		       const char *attr)
{
	ssize_t n, i;

	if (snprintf(b->path, PATH_MAX, "%s/%s", dir, attr) >= PATH_MAX)
		return;
	n = ident_read(b, b->path, IDENT_VALUE_MAX + 1);
	if (n < 0 || n > IDENT_VALUE_MAX)
		return;
	for (i = 0; i < n; i++) {
		unsigned char ch = b->val[i];

		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ||
		    ch == 0x7f)
			return;
	}
	if (n && b->val[n - 1] == '\n')
		n--;
	ib_begin(b, "A %u ", level);
	ib_esc(b, attr, strlen(attr));
	ib_put(b, " ", 1);
	ib_esc(b, b->val, n);
	ib_end(b);
}

/* Whether directory dir/sub is a device of its own (has a uevent). */
static bool ident_is_device(struct ident_buf *b, const char *dir,
			    const char *sub)
{
	if (snprintf(b->path, PATH_MAX, "%s%s%s/uevent", dir, sub ? "/" : "",
		     sub ?: "") >= PATH_MAX)
		return false;
	return ident_exists(b->path);
}

/* The attributes of a plain attribute group dir/group, as group/attr. */
static void ident_group(struct ident_buf *b, unsigned int level,
			const char *dir, const char *group)
{
	struct ident_dir d;
	char *gdir, *attr;
	unsigned int i;

	gdir = kasprintf(GFP_KERNEL, "%s/%s", dir, group);
	if (!gdir || ident_list(gdir, &d)) {
		kfree(gdir);
		return;
	}
	for (i = 0; i < d.n && !b->full; i++) {
		if (d.ent[i].type != DT_REG)
			continue;
		attr = kasprintf(GFP_KERNEL, "%s/%s", group, d.ent[i].name);
		if (attr)
			ident_attr(b, level, dir, attr);
		kfree(attr);
	}
	ident_dir_free(&d);
	kfree(gdir);
}

/* One level: its D line, its uevent as E lines, its attributes. */
static void ident_level(struct ident_buf *b, unsigned int level,
			const char *dir, const char *subsys, bool bus)
{
	const char *name = strrchr(dir, '/') + 1;
	struct ident_dir d;
	char *line, *next;
	unsigned int i;
	ssize_t n;

	ib_begin(b, "D %u ", level);
	ib_esc(b, subsys, strlen(subsys));
	ib_put(b, bus ? " b " : " c ", 3);
	ib_esc(b, name, strlen(name));
	ib_end(b);

	snprintf(b->path, PATH_MAX, "%s/uevent", dir);
	n = ident_read(b, b->path, PAGE_SIZE);
	for (line = n > 0 ? b->val : NULL; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		ib_begin(b, "E %u ", level);
		ib_esc(b, line, strlen(line));
		ib_end(b);
	}

	if (ident_list(dir, &d))
		return;
	for (i = 0; i < d.n && !b->full; i++) {
		const char *e = d.ent[i].name;

		if (d.ent[i].type == DT_REG) {
			if (strcmp(e, "uevent") && strcmp(e, "dev"))
				ident_attr(b, level, dir, e);
		} else if (d.ent[i].type == DT_DIR) {
			/* Plain groups only: not power, MSI, child devices. */
			if (strcmp(e, "power") && strcmp(e, "msi_irqs") &&
			    !ident_is_device(b, dir, e))
				ident_group(b, level, dir, e);
		}
	}
	ident_dir_free(&d);
}

/*
 * Build the text of the character device dev into b. Levels are the
 * directories that have a uevent file and a subsystem link, from the
 * device up: glue directories are passed over; it stops after the first
 * device on a bus (its subsystem under /sys/bus/), at /sys/devices, or
 * after IDENT_LEVELS levels.
 */
static long ident_build(struct ident_buf *b, dev_t dev)
{
	char *cur, *subsys, *sub, *s;
	unsigned int level = 0;
	bool bus = false;

	snprintf(b->path, PATH_MAX, "/sys/dev/char/%u:%u", MAJOR(dev),
		 MINOR(dev));
	s = ident_realpath(b, b->path);
	if (!s || strncmp(s, "/sys/devices/", 13))
		return -ENXIO; /* no device behind the node (or no sysfs) */
	cur = kstrdup(s, GFP_KERNEL);
	subsys = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!cur || !subsys) {
		kfree(cur);
		kfree(subsys);
		return -ENOMEM;
	}
	while (level < IDENT_LEVELS && !bus && strlen(cur) > 12 &&
	       strcmp(cur, "/sys/devices")) {
		if (ident_is_device(b, cur, NULL)) {
			snprintf(b->path, PATH_MAX, "%s/subsystem", cur);
			sub = ident_realpath(b, b->path);
			if (sub) {
				bus = !strncmp(sub, "/sys/bus/", 9);
				strscpy(subsys, strrchr(sub, '/') + 1,
					PATH_MAX);
				ident_level(b, level++, cur, subsys, bus);
			}
		}
		*strrchr(cur, '/') = '\0';
	}
	kfree(subsys);
	kfree(cur);
	return 0;
}

/* The cached text of export name for node dev, built if need be. */
static struct shim_ident *ident_get_locked(const char *name, dev_t dev,
					   long *err)
{
	struct shim_ident *id, *old = NULL;
	struct ident_buf b = {};

	list_for_each_entry(id, &shim_idents, node) {
		if (!strcmp(id->name, name)) {
			if (id->dev == dev)
				return id;
			old = id;
			break;
		}
	}
	*err = -ENOMEM;
	id = kzalloc(sizeof(*id), GFP_KERNEL);
	b.text = kvmalloc(DEVFILE_IDENT_MAX, GFP_KERNEL);
	b.val = kmalloc(PAGE_SIZE + 1, GFP_KERNEL);
	b.path = kmalloc(PATH_MAX, GFP_KERNEL);
	b.dpath = kmalloc(PATH_MAX, GFP_KERNEL);
	if (id && b.text && b.val && b.path && b.dpath)
		*err = ident_build(&b, dev);
	kfree(b.val);
	kfree(b.path);
	kfree(b.dpath);
	if (*err) {
		kvfree(b.text);
		kfree(id);
		return NULL;
	}
	strscpy(id->name, name, sizeof(id->name));
	id->dev = dev;
	id->len = b.len;
	id->text = b.text;
	if (old) {
		list_del(&old->node);
		kvfree(old->text);
		kfree(old);
	}
	list_add_tail(&id->node, &shim_idents);
	return id;
}

/* Drop the cached texts of names no longer exported. */
static void ident_prune(void)
{
	struct shim_ident *id, *tmp;

	mutex_lock(&shim_ident_lock);
	list_for_each_entry_safe(id, tmp, &shim_idents, node)
	{
		if (shim_exported(id->name))
			continue;
		list_del(&id->node);
		kvfree(id->text);
		kfree(id);
	}
	mutex_unlock(&shim_ident_lock);
}

static long op_ident(const struct devfile_req *req, struct devfile_resp *resp)
{
	unsigned long long off = req->a[0];
	struct shim_ident *id;
	struct inode *inode;
	struct path path;
	dev_t dev = 0;
	char *name;
	long ret;
	size_t n;

	if (!memchr(req->name, 0, sizeof(req->name)))
		return -EINVAL;
	if (!shim_exported(req->name))
		return -ENOENT;
	name = kasprintf(GFP_KERNEL, "/dev/%s", req->name);
	if (!name)
		return -ENOMEM;
	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	kfree(name);
	if (ret)
		return -ENXIO;
	inode = d_backing_inode(path.dentry);
	if (S_ISCHR(inode->i_mode))
		dev = inode->i_rdev;
	else
		ret = -ENXIO;
	path_put(&path);
	if (ret)
		return ret;

	mutex_lock(&shim_ident_lock);
	id = ident_get_locked(req->name, dev, &ret);
	if (!id)
		goto out;
	if (off > id->len) {
		ret = -EINVAL;
		goto out;
	}
	n = min_t(size_t, sizeof(resp->name), id->len - off);
	memcpy(resp->name, id->text + off, n);
	resp->v[0] = n;
	ret = id->len;
out:
	mutex_unlock(&shim_ident_lock);
	return ret;
}

/* ---- operations ----------------------------------------------------------- */

static long op_list(const struct devfile_req *req, struct devfile_resp *resp)
{
	struct inode *inode;
	struct path path;
	char *name = NULL;
	long ret;

	mutex_lock(&shim_exports_lock);
	if (req->a[0] < shim_exp.n) {
		strscpy(resp->name, shim_exp.name[req->a[0]],
			sizeof(resp->name));
		name = kasprintf(GFP_KERNEL, "/dev/%s", resp->name);
		ret = name ? 0 : -ENOMEM;
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&shim_exports_lock);
	if (ret)
		return ret;
	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	kfree(name);
	if (ret)
		return -ENXIO; /* listed, but no such node now */
	inode = d_backing_inode(path.dentry);
	if (S_ISCHR(inode->i_mode)) {
		resp->v[0] = inode->i_mode;
		resp->v[1] = MAJOR(inode->i_rdev);
		resp->v[2] = MINOR(inode->i_rdev);
	} else {
		ret = -ENXIO;
	}
	path_put(&path);
	return ret;
}

#define SHIM_OPEN_FLAGS \
	(O_ACCMODE | O_NONBLOCK | O_APPEND | O_DSYNC | __O_SYNC | O_EXCL)

static long op_open(struct devfile_client *c, const struct devfile_req *req,
		    struct devfile_resp *resp)
{
	unsigned long long flags = req->a[0];
	struct shim_file *sf;
	struct file *filp;
	unsigned int fm = 0;
	char *path;
	long ret;

	if (!memchr(req->name, 0, sizeof(req->name)))
		return -EINVAL;
	if (flags > UINT_MAX || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (!shim_exported(req->name))
		return -ENOENT;
	path = kasprintf(GFP_KERNEL, "/dev/%s", req->name);
	if (!path)
		return -ENOMEM;
	filp = filp_open(path, (flags & SHIM_OPEN_FLAGS) | O_NOCTTY, 0);
	kfree(path);
	/* Exported, but no such node now: -ENXIO, as LIST says. */
	if (filp == ERR_PTR(-ENOENT))
		return -ENXIO;
	if (IS_ERR(filp))
		return PTR_ERR(filp);
	if (!S_ISCHR(file_inode(filp)->i_mode)) {
		filp_close(filp, NULL);
		return -ENXIO;
	}
	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf) {
		filp_close(filp, NULL);
		return -ENOMEM;
	}
	refcount_set(&sf->ref, 1);
	refcount_inc(&c->users);
	sf->client = c;
	sf->filp = filp;
	strscpy(sf->name, req->name, sizeof(sf->name));
	mutex_init(&sf->lock);
	atomic_set(&sf->interest, 0);
	CNT_ADD(c, files, 1);
	ret = shim_install(c, sf);
	if (ret) {
		shim_put_file(sf);
		return ret;
	}
	/*
	 * Withdrawn since the check above? The withdrawal sets dead on the
	 * files it finds installed; one installed after it is caught here.
	 */
	mutex_lock(&shim_exports_lock);
	if (!shim_exports_has(&shim_exp, sf->name)) {
		spin_lock(&c->lock);
		sf->dead = true;
		spin_unlock(&c->lock);
	}
	mutex_unlock(&shim_exports_lock);
	if (READ_ONCE(sf->dead)) {
		sf = shim_take_handle(c, sf->handle);
		if (sf)
			shim_put_file(sf);
		return -ENOENT;
	}
	if (filp->f_mode & FMODE_STREAM)
		fm |= DEVFILE_OPEN_STREAM;
	if (!(filp->f_mode & FMODE_LSEEK))
		fm |= DEVFILE_OPEN_NOLSEEK;
	if (!(filp->f_mode & FMODE_PREAD))
		fm |= DEVFILE_OPEN_NOPREAD;
	if (!(filp->f_mode & FMODE_PWRITE))
		fm |= DEVFILE_OPEN_NOPWRITE;
	resp->handle = sf->handle;
	resp->v[0] = fm;
	return 0;
}

static long op_release(struct devfile_client *c, const struct devfile_req *req)
{
	struct shim_file *sf = shim_take_handle(c, req->handle);

	if (!sf)
		return -EBADF;
	shim_unmap_all(c, sf);
	shim_put_file(sf);
	return 0;
}

/*
 * vfs_read()/vfs_write() with the caller's user buffer, which modules
 * cannot call: the same checks, then the driver's read/write or
 * read_iter/write_iter.
 */
static ssize_t shim_rw(struct file *filp, bool write, void __user *buf,
		       size_t count, loff_t *pos)
{
	struct kiocb kiocb;
	struct iov_iter iter;
	ssize_t ret;

	if (!(filp->f_mode & (write ? FMODE_WRITE : FMODE_READ)))
		return -EBADF;
	if (!(filp->f_mode & (write ? FMODE_CAN_WRITE : FMODE_CAN_READ)))
		return -EINVAL;
	if (unlikely(!access_ok(buf, count)))
		return -EFAULT;
	ret = rw_verify_area(write ? WRITE : READ, filp, pos, count);
	if (ret)
		return ret;
	if (count > MAX_RW_COUNT)
		count = MAX_RW_COUNT;
	if (write && filp->f_op->write)
		return filp->f_op->write(filp, buf, count, pos);
	if (!write && filp->f_op->read)
		return filp->f_op->read(filp, buf, count, pos);
	if (!(write ? filp->f_op->write_iter : filp->f_op->read_iter))
		return -EINVAL;
	init_sync_kiocb(&kiocb, filp);
	kiocb.ki_pos = *pos;
	iov_iter_ubuf(&iter, write ? ITER_SOURCE : ITER_DEST, buf, count);
	ret = write ? call_write_iter(filp, &kiocb, &iter) :
		      call_read_iter(filp, &kiocb, &iter);
	WARN_ON_ONCE(ret == -EIOCBQUEUED);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

static long op_rw(struct shim_file *sf, const struct devfile_req *req,
		  struct devfile_resp *resp, bool write)
{
	loff_t pos = (loff_t)req->a[2];
	ssize_t ret;

	if (req->a[1] > SSIZE_MAX)
		return -EINVAL;
	ret = shim_rw(sf->filp, write, u64_to_user_ptr(req->a[0]), req->a[1],
		      &pos);
	if (ret >= 0)
		resp->v[0] = pos;
	return ret;
}

static long op_llseek(struct shim_file *sf, const struct devfile_req *req,
		      struct devfile_resp *resp)
{
	loff_t pos;

	if (req->a[1] > SEEK_MAX)
		return -EINVAL;
	/* The position is the caller's: put it in the file for SEEK_CUR. */
	mutex_lock(&sf->lock);
	sf->filp->f_pos = (loff_t)req->a[2];
	pos = vfs_llseek(sf->filp, (loff_t)req->a[0], (int)req->a[1]);
	mutex_unlock(&sf->lock);
	if (pos < 0 && pos >= -MAX_ERRNO)
		return pos;
	resp->v[0] = pos;
	return 0;
}

static long op_ioctl(struct shim_file *sf, const struct devfile_req *req)
{
	struct file *filp = sf->filp;
	long ret;

	if (req->a[0] > UINT_MAX)
		return -EINVAL;
	if (!(req->flags & DEVFILE_REQ_COMPAT))
		return vfs_ioctl(filp, (unsigned int)req->a[0], req->a[1]);
	if (!filp->f_op->compat_ioctl)
		return -ENOTTY;
	ret = filp->f_op->compat_ioctl(filp, (unsigned int)req->a[0],
				       req->a[1]);
	return ret == -ENOIOCTLCMD ? -ENOTTY : ret;
}

static long op_poll(struct shim_file *sf, const struct devfile_req *req)
{
	__poll_t events = (__force __poll_t)(req->a[0] & 0xffff);
	poll_table pt;

	if (req->a[1] & ~(unsigned long long)DEVFILE_POLL_ARM)
		return -EINVAL;
	if (req->a[1] & DEVFILE_POLL_ARM) {
		mutex_lock(&sf->lock);
		shim_watch_locked(sf);
		mutex_unlock(&sf->lock);
		/* Arm before looking, so that no wake-up falls in between. */
		atomic_or((__force int)(events | EPOLLERR | EPOLLHUP),
			  &sf->interest);
		smp_mb__after_atomic();
	}
	init_poll_funcptr(&pt, NULL);
	pt._key = events;
	return (__force long)vfs_poll(sf->filp, &pt);
}

static long op_fasync(struct shim_file *sf, const struct devfile_req *req)
{
	struct file *filp = sf->filp;
	bool on = req->a[0];
	long ret = 0;

	if (req->a[0] > 1)
		return -EINVAL;
	mutex_lock(&sf->lock);
	if (on) {
		shim_watch_locked(sf);
		/*
		 * Let the driver keep its own fasync state too (its f_owner
		 * is unset, so its kill_fasync signals nobody): the VFS then
		 * undoes it at close, as for any FASYNC file.
		 */
		if (filp->f_op->fasync && !(filp->f_flags & FASYNC)) {
			ret = filp->f_op->fasync(-1, filp, 1);
			if (ret >= 0) {
				ret = 0;
				spin_lock(&filp->f_lock);
				filp->f_flags |= FASYNC;
				spin_unlock(&filp->f_lock);
			}
		}
		if (!ret)
			WRITE_ONCE(sf->sigio, true);
	} else {
		WRITE_ONCE(sf->sigio, false);
		if (filp->f_op->fasync && (filp->f_flags & FASYNC)) {
			filp->f_op->fasync(-1, filp, 0);
			spin_lock(&filp->f_lock);
			filp->f_flags &= ~FASYNC;
			spin_unlock(&filp->f_lock);
		}
	}
	mutex_unlock(&sf->lock);
	return ret;
}

/*
 * Take the guest addresses of pages [first, last) of m back (zc_lock
 * held), runs of consecutive addresses in one call.
 */
static void shim_zc_revoke_locked(struct shim_map *m, unsigned long first,
				  unsigned long last)
{
	struct devfile_client *c = m->sf->client;
	u64 run = 0, n = 0;

	for (unsigned long i = first; i <= last; i++) {
		u64 gpa = i < last ? m->gpas[i] : 0;

		if (n && gpa == run + n * PAGE_SIZE) {
			n++;
		} else {
			if (n)
				c->zc->revoke(c->priv, run, n);
			run = gpa;
			n = gpa ? 1 : 0;
		}
		if (i < last)
			m->gpas[i] = 0;
	}
}

/*
 * The driver VM's kernel is about to zap pages of the mirror mapping: a
 * munmap or release, a TTM move or eviction, anything. Every frame of
 * the range leaves the guest first (revoke returns once the guest's CPUs
 * flushed), so none outlives the driver's own mapping. A spinlock, no
 * sleep: also right for the non-blockable callers (the OOM reaper).
 */
static bool shim_mni_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct shim_map *m = container_of(mni, struct shim_map, mni);
	unsigned long start = max(range->start, m->addr);
	unsigned long end = min(range->end, m->addr + m->len);

	spin_lock(&m->zc_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (start < end)
		shim_zc_revoke_locked(m, (start - m->addr) >> PAGE_SHIFT,
				      (end - m->addr + PAGE_SIZE - 1) >>
					      PAGE_SHIFT);
	spin_unlock(&m->zc_lock);
	return true;
}

static const struct mmu_interval_notifier_ops shim_mni_ops = {
	.invalidate = shim_mni_invalidate,
};

static long op_mmap(struct devfile_client *c, struct shim_file *sf,
		    const struct devfile_req *req, struct devfile_resp *resp)
{
	unsigned long long len = req->a[1], pgoff = req->a[2];
	unsigned long long prot = req->a[3], flags = req->a[4];
	struct mirror_call mc = { .map = true };
	struct shim_map *m;
	long ret;
	int id;

	if (!len || (len & ~PAGE_MASK) || len > SHIM_MAP_MAX ||
	    (req->a[0] & ~PAGE_MASK))
		return -EINVAL;
	if (pgoff > (ULONG_MAX >> PAGE_SHIFT) - (len >> PAGE_SHIFT))
		return -EINVAL;
	if (prot & ~(unsigned long long)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (flags != MAP_SHARED && flags != MAP_PRIVATE)
		return -EINVAL;
	if (!c->mirror)
		return -ENODEV;
	if (shim_mirror_ctx(c) == MIRROR_DEADLOCK)
		return -EDEADLK;
	if (!sf->filp->f_op->mmap)
		return -ENODEV;
	if (atomic_long_read(&c->cnt.mappings) >= max_maps)
		return -ENOMEM;
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	mc.filp = sf->filp;
	mc.len = len;
	mc.prot = prot;
	mc.flags = flags;
	mc.off = pgoff << PAGE_SHIFT;
	ret = mirror_run(c, &mc, false);
	if (ret) {
		kfree(m);
		return ret;
	}
	refcount_set(&m->ref, 1);
	refcount_inc(&sf->ref);
	m->sf = sf;
	m->addr = mc.addr;
	m->len = len;
	m->prot = prot;
	m->flags = flags;
	xa_init(&m->pages);
	spin_lock_init(&m->zc_lock);
	CNT_ADD(c, mappings, 1);
	if (c->zc) {
		m->gpas = kvcalloc(len >> PAGE_SHIFT, sizeof(u64), GFP_KERNEL);
		ret = m->gpas ? mmu_interval_notifier_insert(&m->mni, c->mirror,
							     m->addr, len,
							     &shim_mni_ops) :
				-ENOMEM;
		if (ret) {
			shim_unmap(m, false);
			return ret;
		}
		m->mni_on = true;
	}

	idr_preload(GFP_KERNEL);
	spin_lock(&c->lock);
	/* The handle may have been released meanwhile (another thread). */
	if (c->dead || !shim_installed_locked(c, sf))
		id = -EBADF;
	else if (sf->dead) /* withdrawn: shim_revoke_maps() has run */
		id = -ENODEV;
	else
		id = idr_alloc_cyclic(&c->maps, m, 1, INT_MAX, GFP_NOWAIT);
	if (id >= 0)
		m->id = id;
	spin_unlock(&c->lock);
	idr_preload_end();
	if (id < 0) {
		shim_unmap(m, false);
		return id;
	}
	resp->v[0] = id;
	resp->v[1] = mc.nosplit ? DEVFILE_MAP_NOSPLIT : 0;
	return 0;
}

static struct shim_map *shim_get_map(struct devfile_client *c,
				     struct shim_file *sf, u64 id)
{
	struct shim_map *m = NULL;

	if (id == 0 || id > INT_MAX)
		return NULL;
	spin_lock(&c->lock);
	m = idr_find(&c->maps, id);
	if (m && m->sf == sf)
		refcount_inc(&m->ref);
	else
		m = NULL;
	spin_unlock(&c->lock);
	return m;
}

static unsigned int shim_pte_mt(pte_t pte)
{
	unsigned long cm = pgprot_val(pte_pgprot(pte)) & _PAGE_CACHE_MASK;

	if (!cm)
		return DEVFILE_MT_WB;
	if (cm ==
	    (pgprot_val(pgprot_writecombine(__pgprot(0))) & _PAGE_CACHE_MASK))
		return DEVFILE_MT_WC;
	return DEVFILE_MT_UC;
}

/* The frame mapped at addr of a VM_PFNMAP/VM_IO mapping; -ENOENT: none. */
static int shim_follow(struct mm_struct *mm, unsigned long addr, bool write,
		       unsigned long *pfn, unsigned int *mt)
{
	spinlock_t *ptl;
	pte_t *ptep, pte;

	if (follow_pte(mm, addr, &ptep, &ptl))
		return -ENOENT;
	pte = *ptep;
	pte_unmap_unlock(ptep, ptl);
	if (!pte_present(pte) || (write && !pte_write(pte)))
		return -ENOENT;
	*pfn = pte_pfn(pte);
	*mt = shim_pte_mt(pte);
	return 0;
}

/*
 * Give the guest the frame (zero copy), unless the notifier ran since seq:
 * the frame may be on its way out, so the caller looks it up again. The
 * page's previous guest address, if any, goes first: one per page.
 */
static long shim_zc_gmap(struct devfile_client *c, struct shim_map *m,
			 unsigned long idx, unsigned long seq,
			 unsigned long pfn, unsigned int mt, bool writable,
			 u64 *gpa)
{
	long ret;

	spin_lock(&m->zc_lock);
	if (mmu_interval_read_retry(&m->mni, seq)) {
		spin_unlock(&m->zc_lock);
		return -EAGAIN;
	}
	if (m->gpas[idx])
		shim_zc_revoke_locked(m, idx, idx + 1);
	ret = c->zc->gmap(c->priv, PFN_PHYS(pfn), mt, writable, gpa);
	if (!ret)
		m->gpas[idx] = *gpa;
	spin_unlock(&m->zc_lock);
	return ret;
}

#define ZC_RETRIES 100 /* lookups raced by the notifier before giving up */

static long op_fault(struct devfile_client *c, struct shim_file *sf,
		     const struct devfile_req *req, struct devfile_resp *resp)
{
	struct mm_struct *mm = c->mirror;
	struct vm_area_struct *vma;
	unsigned int mt = DEVFILE_MT_WB, tries = 0;
	unsigned long addr, pfn = 0, seq = 0;
	struct shim_map *m;
	struct page *page;
	bool write;
	u64 gpa = 0;
	long ret;

	if (req->a[2] > 1)
		return -EINVAL;
	if (mm && shim_mirror_ctx(c) == MIRROR_DEADLOCK)
		return -EDEADLK;
	m = shim_get_map(c, sf, req->a[0]);
	if (!m)
		return -EINVAL;
	ret = -EINVAL;
	if (req->a[1] >= m->len >> PAGE_SHIFT)
		goto out;
	ret = -EACCES;
	if (req->a[2] && !(m->prot & PROT_WRITE))
		goto out;
	/* A shared writable mapping: always the frame for writing. */
	write = (m->prot & PROT_WRITE) && m->flags == MAP_SHARED;
	addr = m->addr + (req->a[1] << PAGE_SHIFT);

again:
	if (m->mni_on)
		seq = mmu_interval_read_begin(&m->mni);
	mmap_read_lock(mm);
	ret = -EINVAL;
	if (test_bit(MAP_UNMAPPED, &m->state))
		goto unlock;
	vma = vma_lookup(mm, addr);
	ret = -EFAULT;
	if (!vma)
		goto unlock;
	if (vma->vm_flags & (VM_IO | VM_PFNMAP)) {
		ret = shim_follow(mm, addr, write, &pfn, &mt);
		if (ret) {
			ret = fixup_user_fault(
				mm, addr, write ? FAULT_FLAG_WRITE : 0, NULL);
			if (!ret)
				ret = shim_follow(mm, addr, write, &pfn, &mt);
			if (ret == -ENOENT)
				ret = -EFAULT;
		}
	} else {
		ret = get_user_pages_remote(mm, addr, 1, write ? FOLL_WRITE : 0,
					    &page, NULL, NULL);
		if (ret == 1) {
			pfn = page_to_pfn(page);
			/* Hold the page while the mapping lives. */
			if (xa_insert(&m->pages, pfn, page, GFP_KERNEL))
				put_page(page);
			else
				CNT_ADD(c, pages, 1);
			ret = 0;
		} else if (ret >= 0) {
			ret = -EFAULT;
		}
	}
unlock:
	mmap_read_unlock(mm);
	if (!ret && m->mni_on) {
		ret = shim_zc_gmap(c, m, req->a[1], seq, pfn, mt, req->a[2],
				   &gpa);
		if (ret == -EAGAIN && ++tries < ZC_RETRIES)
			goto again;
		pfn = PHYS_PFN(gpa);
	}
	if (!ret) {
		resp->v[0] = PFN_PHYS(pfn);
		resp->v[1] = mt;
	}
out:
	shim_put_map(m);
	return ret;
}

static long op_munmap(struct devfile_client *c, struct shim_file *sf,
		      const struct devfile_req *req)
{
	struct shim_map *m = NULL;

	if (req->a[0] == 0 || req->a[0] > INT_MAX)
		return -EINVAL;
	if (c->mirror && shim_mirror_ctx(c) == MIRROR_DEADLOCK)
		return -EDEADLK;
	spin_lock(&c->lock);
	m = idr_find(&c->maps, req->a[0]);
	if (m && m->sf == sf)
		idr_remove(&c->maps, req->a[0]);
	else
		m = NULL;
	spin_unlock(&c->lock);
	if (!m)
		return -EINVAL;
	shim_unmap(m, false);
	return 0;
}

static long shim_dispatch(struct devfile_client *c,
			  const struct devfile_req *req,
			  struct devfile_resp *resp)
{
	struct shim_file *sf;
	bool dead = false;
	long ret;

	switch (req->op) {
	case DEVFILE_OP_NULL:
		return 0;
	case DEVFILE_OP_LIST:
		return op_list(req, resp);
	case DEVFILE_OP_OPEN:
		return op_open(c, req, resp);
	case DEVFILE_OP_RELEASE:
		return op_release(c, req);
	case DEVFILE_OP_IDENT:
		return op_ident(req, resp);
	}

	sf = shim_get_file(c, req->handle, &dead);
	if (!sf)
		return -EBADF;
	if (dead) {
		/* Withdrawn: only RELEASE still works on it. */
		shim_put_file(sf);
		return -ENODEV;
	}
	if (req->op != DEVFILE_OP_MMAP && req->op != DEVFILE_OP_FAULT &&
	    req->op != DEVFILE_OP_MUNMAP)
		shim_set_nonblock(sf->filp, req->flags & DEVFILE_REQ_NONBLOCK);
	switch (req->op) {
	case DEVFILE_OP_READ:
		ret = op_rw(sf, req, resp, false);
		break;
	case DEVFILE_OP_WRITE:
		ret = op_rw(sf, req, resp, true);
		break;
	case DEVFILE_OP_LLSEEK:
		ret = op_llseek(sf, req, resp);
		break;
	case DEVFILE_OP_IOCTL:
		ret = op_ioctl(sf, req);
		break;
	case DEVFILE_OP_POLL:
		ret = op_poll(sf, req);
		break;
	case DEVFILE_OP_FASYNC:
		ret = op_fasync(sf, req);
		break;
	case DEVFILE_OP_MMAP:
		ret = op_mmap(c, sf, req, resp);
		break;
	case DEVFILE_OP_FAULT:
		ret = op_fault(c, sf, req, resp);
		break;
	case DEVFILE_OP_MUNMAP:
		ret = op_munmap(c, sf, req);
		break;
	default:
		ret = -ENOSYS;
	}
	/* Withdrawn meanwhile: a failure (a cancelled read...) is -ENODEV. */
	if (ret < 0 && READ_ONCE(sf->dead))
		ret = -ENODEV;
	shim_put_file(sf);
	return ret;
}

#define SHIM_REQ_FLAGS (DEVFILE_REQ_NONBLOCK | DEVFILE_REQ_COMPAT)

long devfile_shim_execute(const struct devfile_req *req,
			  struct devfile_resp *resp,
			  struct devfile_client *client)
{
	long ret;

	if (!req || !resp || !client)
		return -EINVAL;
	memset(resp, 0, sizeof(*resp));
	resp->seq = req->seq;
	refcount_inc(&client->users);
	CNT_ADD(client, inflight, 1);
	CNT_EVENT(client, ops);
	if (req->magic != DEVFILE_MAGIC || req->major != DEVFILE_PROTO_MAJOR)
		ret = -EPROTO;
	else if (req->op >= DEVFILE_OP_MAX)
		ret = -ENOSYS;
	else if (req->flags & ~SHIM_REQ_FLAGS)
		ret = -EINVAL;
	else if (READ_ONCE(client->dead))
		ret = -ENODEV;
	else
		ret = shim_dispatch(client, req, resp);
	/*
	 * -ENOIOCTLCMD is internal to ioctl dispatch. Restart codes
	 * (-ERESTARTSYS...) pass: the stub's system call restarts.
	 */
	if (ret == -ENOIOCTLCMD)
		ret = -ENOTTY;
	if (ret < 0) {
		resp->handle = DEVFILE_HANDLE_NONE;
		memset(resp->v, 0, sizeof(resp->v));
	}
	resp->ret = ret;
	CNT_ADD(client, inflight, -1);
	client_put(client); /* last: client may be freed right after */
	return ret;
}
EXPORT_SYMBOL_GPL(devfile_shim_execute);

/* ---- clients -------------------------------------------------------------- */

struct devfile_client *devfile_shim_client_create(const char *name,
						  devfile_notify_fn notify,
						  void *priv,
						  struct mm_struct *mirror)
{
	struct devfile_client *c;
	unsigned int i;
	int id;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->nslots = clamp(max_files, 1u, (1u << H_SLOT_BITS) - 2);
	c->slots = kvcalloc(c->nslots, sizeof(*c->slots), GFP_KERNEL);
	if (!c->slots) {
		kfree(c);
		return ERR_PTR(-ENOMEM);
	}
	id = ida_alloc_range(&shim_client_ids, 1, H_CLIENT_MAX, GFP_KERNEL);
	if (id < 0) {
		kvfree(c->slots);
		kfree(c);
		return ERR_PTR(id);
	}
	for (i = 0; i < c->nslots; i++)
		c->slots[i].gen = 1;
	c->id = id;
	strscpy(c->name, name ?: "client", sizeof(c->name));
	c->notify = notify;
	c->priv = priv;
	if (mirror) {
		mmget(mirror);
		c->mirror = mirror;
	}
	spin_lock_init(&c->lock);
	idr_init(&c->maps);
	refcount_set(&c->users, 1);
	init_completion(&c->idle);
	mutex_lock(&shim_clients_lock);
	list_add_tail(&c->node, &shim_clients);
	mutex_unlock(&shim_clients_lock);
	pr_info("client %u (%s) attached%s\n", c->id, c->name,
		mirror ? "" : ", no mirror: no mmap");
	return c;
}
EXPORT_SYMBOL_GPL(devfile_shim_client_create);

void devfile_shim_client_destroy(struct devfile_client *c)
{
	struct shim_file *sf;
	unsigned int i;

	if (IS_ERR_OR_NULL(c))
		return;
	spin_lock(&c->lock);
	c->dead = true;
	spin_unlock(&c->lock);
	shim_unmap_all(c, NULL);
	for (i = 0; i < c->nslots; i++) {
		spin_lock(&c->lock);
		sf = c->slots[i].sf;
		c->slots[i].sf = NULL;
		spin_unlock(&c->lock);
		if (sf)
			shim_put_file(sf);
	}
	/* Requests in flight hold files (and may map); wait for them. */
	client_put(c);
	wait_for_completion(&c->idle);
	WARN_ON(atomic_long_read(&c->cnt.files) ||
		atomic_long_read(&c->cnt.mappings));
	mutex_lock(&shim_clients_lock);
	list_del(&c->node);
	mutex_unlock(&shim_clients_lock);
	pr_info("client %u (%s) detached after %lld ops\n", c->id, c->name,
		(long long)atomic64_read(&c->cnt.ops));
	if (c->mirror)
		mmput(c->mirror);
	idr_destroy(&c->maps);
	ida_free(&shim_client_ids, c->id);
	kvfree(c->slots);
	kfree(c);
}
EXPORT_SYMBOL_GPL(devfile_shim_client_destroy);

void devfile_shim_client_set_cancel(struct devfile_client *c,
				    devfile_cancel_fn cancel)
{
	spin_lock(&c->lock);
	c->cancel = cancel;
	spin_unlock(&c->lock);
}
EXPORT_SYMBOL_GPL(devfile_shim_client_set_cancel);

/* Before the client's first MMAP: its maps get notifiers from then on. */
void devfile_shim_client_set_zc(struct devfile_client *c,
				const struct devfile_zc_ops *ops)
{
	spin_lock(&c->lock);
	c->zc = c->mirror ? ops : NULL;
	spin_unlock(&c->lock);
}
EXPORT_SYMBOL_GPL(devfile_shim_client_set_zc);

/* ---- dynamic exports -------------------------------------------------- */

int devfile_shim_register_exports_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&shim_exports_chain, nb);
}
EXPORT_SYMBOL_GPL(devfile_shim_register_exports_notifier);

int devfile_shim_unregister_exports_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_unregister(&shim_exports_chain, nb);
}
EXPORT_SYMBOL_GPL(devfile_shim_unregister_exports_notifier);

/*
 * Revoke the mappings of a withdrawn file as RELEASE would: the real
 * mapping goes from the mirror now (the driver sees its vma closed) and
 * FAULT refuses them. Each stays in the client's idr, with the page
 * references it took, until RELEASE: the stub's vmas may still map those
 * frames, which must not be freed under them.
 */
static void shim_revoke_maps(struct devfile_client *c, struct shim_file *sf)
{
	struct shim_map *m, *found;
	int id;

	for (;;) {
		found = NULL;
		spin_lock(&c->lock);
		idr_for_each_entry(&c->maps, m, id)
		{
			if (m->sf == sf && !m->revoked) {
				m->revoked = true;
				refcount_inc(&m->ref);
				found = m;
				break;
			}
		}
		spin_unlock(&c->lock);
		if (!found)
			return;
		/* A sysfs write holds no mmap_lock: in place if need be. */
		shim_unmap_real(found, true);
		atomic64_inc(&shim_revoked);
		shim_put_map(found);
	}
}

/*
 * Kill the files of c whose export is no longer listed: mark them dead
 * (every op but RELEASE: -ENODEV), wake their pollers (they poll again
 * and get the error), let the transport cancel their requests in flight
 * (a read blocked in the driver), and revoke their mappings.
 *
 * Ordering with a request: shim_get_file() reads dead under c->lock, so
 * a request that found its file alive took that lock before the one
 * below; the transport, which marked the request as running before it
 * called the shim, sees it in cancel().
 */
static void shim_withdraw(struct devfile_client *c)
{
	struct devfile_note_msg note = {
		.type = DEVFILE_NOTE_POLL,
		.events = (__force unsigned int)(EPOLLERR | EPOLLHUP),
	};
	devfile_cancel_fn cancel;
	struct shim_file *sf;
	unsigned int i;

	for (i = 0; i < c->nslots; i++) {
		mutex_lock(&shim_exports_lock);
		spin_lock(&c->lock);
		sf = c->slots[i].sf;
		if (c->dead || !sf || sf->dead ||
		    shim_exports_has(&shim_exp, sf->name)) {
			sf = NULL;
		} else {
			sf->dead = true;
			refcount_inc(&sf->ref);
		}
		cancel = c->cancel;
		spin_unlock(&c->lock);
		mutex_unlock(&shim_exports_lock);
		if (!sf)
			continue;
		atomic64_inc(&shim_withdrawn);
		note.handle = sf->handle;
		CNT_EVENT(c, notes);
		if (c->notify)
			c->notify(c->priv, &note);
		if (cancel)
			cancel(c->priv, sf->handle);
		shim_revoke_maps(c, sf);
		shim_put_file(sf);
	}
}

/*
 * The list of exports changed: withdraw, then tell every client
 * (DEVFILE_NOTE_EXPORTS, handle 0) and the transports' notifiers.
 */
static void shim_exports_changed(void)
{
	const struct devfile_note_msg note = { .type = DEVFILE_NOTE_EXPORTS };
	struct devfile_client *c;

	/* A client on the list is not freed: destroy takes it off here. */
	mutex_lock(&shim_clients_lock);
	list_for_each_entry(c, &shim_clients, node) {
		shim_withdraw(c);
		CNT_EVENT(c, notes);
		if (c->notify)
			c->notify(c->priv, &note);
	}
	mutex_unlock(&shim_clients_lock);
	ident_prune();
	blocking_notifier_call_chain(&shim_exports_chain, 0, NULL);
}

static void shim_read_counters(struct shim_counters *cnt,
			       struct devfile_shim_stats *st)
{
	st->files = atomic_long_read(&cnt->files);
	st->inflight = atomic_long_read(&cnt->inflight);
	st->mappings = atomic_long_read(&cnt->mappings);
	st->pages = atomic_long_read(&cnt->pages);
	st->watches = atomic_long_read(&cnt->watches);
	st->ops = atomic64_read(&cnt->ops);
	st->notes = atomic64_read(&cnt->notes);
}

void devfile_shim_client_stats(struct devfile_client *c,
			       struct devfile_shim_stats *st)
{
	shim_read_counters(c ? &c->cnt : &shim_total, st);
}
EXPORT_SYMBOL_GPL(devfile_shim_client_stats);

/* ---- debugfs -------------------------------------------------------------- */

/*
 * The totals, one "key value" a line ("clients 1", "files 0", ...), then
 * "client <id> <name> files=0 inflight=0 ..." for each client and
 * "export <name>" for each exported device.
 */
static int shim_stats_show(struct seq_file *s, void *unused)
{
	struct devfile_shim_stats st;
	struct devfile_client *c;
	unsigned int i, n = 0;

	mutex_lock(&shim_clients_lock);
	list_for_each_entry(c, &shim_clients, node)
		n++;
	shim_read_counters(&shim_total, &st);
	seq_printf(s, "clients %u\nfiles %ld\ninflight %ld\nmappings %ld\n", n,
		   st.files, st.inflight, st.mappings);
	seq_printf(s, "pages %ld\nwatches %ld\nops %lld\nnotes %lld\n",
		   st.pages, st.watches, st.ops, st.notes);
	seq_printf(s, "withdrawn %lld\nrevoked %lld\n",
		   (long long)atomic64_read(&shim_withdrawn),
		   (long long)atomic64_read(&shim_revoked));
	list_for_each_entry(c, &shim_clients, node) {
		shim_read_counters(&c->cnt, &st);
		seq_printf(s,
			   "client %u %s files=%ld inflight=%ld mappings=%ld "
			   "pages=%ld watches=%ld ops=%lld notes=%lld\n",
			   c->id, c->name, st.files, st.inflight, st.mappings,
			   st.pages, st.watches, st.ops, st.notes);
	}
	mutex_unlock(&shim_clients_lock);
	mutex_lock(&shim_exports_lock);
	for (i = 0; i < shim_exp.n; i++)
		seq_printf(s, "export %s\n", shim_exp.name[i]);
	mutex_unlock(&shim_exports_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shim_stats);

/*
 * The cached identity texts (IDENT): "ident <name> <length> <maj>:<min>",
 * then the text, for each export asked about since the node last changed.
 */
static int shim_ident_show(struct seq_file *s, void *unused)
{
	struct shim_ident *id;

	mutex_lock(&shim_ident_lock);
	list_for_each_entry(id, &shim_idents, node) {
		seq_printf(s, "ident %s %zu %u:%u\n", id->name, id->len,
			   MAJOR(id->dev), MINOR(id->dev));
		seq_write(s, id->text, id->len);
	}
	mutex_unlock(&shim_ident_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shim_ident);

/* ---- module --------------------------------------------------------------- */

static int __init shim_init(void)
{
	unsigned int i;

	/* devices= was parsed (shim_devices_set) before this runs. */
	shim_debugfs = debugfs_create_dir("devfile_shim", NULL);
	debugfs_create_file("stats", 0444, shim_debugfs, NULL,
			    &shim_stats_fops);
	debugfs_create_file("ident", 0444, shim_debugfs, NULL,
			    &shim_ident_fops);
	mutex_lock(&shim_exports_lock);
	for (i = 0; i < shim_exp.n; i++)
		pr_info("exports /dev/%s\n", shim_exp.name[i]);
	pr_info("protocol %u.%u, %u device(s)\n", DEVFILE_PROTO_MAJOR,
		DEVFILE_PROTO_MINOR, shim_exp.n);
	mutex_unlock(&shim_exports_lock);
	WRITE_ONCE(shim_ready, true);
	return 0;
}

static void __exit shim_exit(void)
{
	struct shim_ident *id, *tmp;

	/* Transports hold the module (symbol_get) while they have clients. */
	debugfs_remove_recursive(shim_debugfs);
	list_for_each_entry_safe(id, tmp, &shim_idents, node)
	{
		list_del(&id->node);
		kvfree(id->text);
		kfree(id);
	}
}

module_init(shim_init);
module_exit(shim_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: runs forwarded device-file operations (driver VM)");
