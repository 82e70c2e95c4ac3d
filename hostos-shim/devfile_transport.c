// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_transport: the hypercall transport of the shim, for the driver VM
 * under devirt (docs/devfile.md, "Hypercall transport").
 *
 *   insmod devfile_shim.ko devices=...
 *   insmod devfile_transport.ko [servers=4] [mirror_helper=/bin/devfile-mirror]
 *
 * It hands devirt a request ring and an interrupt vector. Each user guest
 * gets a shim client and MIRRORS mirrors: address spaces whose user half
 * is covered by "mirror" mappings, except a hole (where the first one
 * holds the client's real device mmaps). Server kernel threads adopt the
 * mirror bound to the calling process and run each request of that guest
 * there with the guest process's own pointer values. When the
 * driver touches one of them (copy_from_user, a nested pointer, ...), the
 * mirror's fault handler asks devirt to map that page of the calling
 * process (DEVFILE_MAP: its page tables, user pages only) into the
 * request's window and inserts the window frame. After the request every
 * mirror page table entry is zapped, and devirt revokes the window
 * (DEVFILE_COMPLETE). No operation needs a description of its arguments.
 *
 * The mirror address space comes from a helper process that only donates
 * its mm (ioctl DONATE_MM on /dev/devfile_hv) and exits; its own mappings
 * are removed before the mirror is built.
 *
 * Known limits: MIRRORS mirrors per guest, so requests of more processes
 * of one guest than that take turns (same-process requests share a mirror
 * and run in parallel). A guest page not present in its page tables is
 * faulted in by the guest first (DEVFILE_FAULTIN, fault_in()); only a
 * guest waiting synchronously cannot do that, and its driver gets -EFAULT.
 */
#define pr_fmt(fmt) "devfile_transport: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/anon_inodes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/kthread.h>
#include <linux/wait.h>
#include <linux/slab.h>
#include <linux/umh.h>
#include <linux/delay.h>
#include <linux/sched/clock.h>
#include <linux/ioport.h>
#include <linux/sizes.h>
#include <asm/io.h>
#include <asm/processor.h>

#include <devirt/hc_linux.h>
#include <devfile/ring.h>
#include <devfile/linux_irq.h>
#include "devfile_shim.h"

static int servers = 4;
module_param(servers, int, 0444);
MODULE_PARM_DESC(servers, "server threads per guest (1-16)");
static unsigned int poll_us;
module_param(poll_us, uint, 0644);
MODULE_PARM_DESC(poll_us, "after a request, poll the ring this long before "
			  "sleeping (0: never; at most 10000)");
static char *mirror_helper = "/bin/devfile-mirror";
module_param(mirror_helper, charp, 0444);
MODULE_PARM_DESC(mirror_helper, "program that donates a mirror address space");

/*
 * Where the driver VM's time per request goes, summed over all guests:
 * requests served, window pages mapped, and the nanoseconds spent before
 * the driver's operation (address space, MAP, inserts), in it, after it
 * (GMAP, zap) and completing (DONE, or the COMPLETE hypercall); and the
 * time in MAP hypercalls, before the operation or in its faults.
 * local_clock(), not ktime_get_ns(): the driver VM may find its TSC
 * unstable and keep time with the HPET, a device read per call.
 */
static atomic64_t st_served, st_pages, st_prep_ns, st_op_ns, st_after_ns,
	st_done_ns, st_map_ns;
static atomic64_t st_revoked; /* zero-copy pages taken back from guests */

/*
 * info (read): DEVIRT_HC_DEVFILE_INFO of the vCPU that reads it, as
 * "exits=N calls=N": its VM exits so far, for benchmarks that count the
 * driver VM's exits per forwarded request (tests/bench_devfile.py); then
 * the time split above.
 */
static int hvt_info_get(char *buf, const struct kernel_param *kp)
{
	struct devirt_devfile_info di;
	long r;

	memset(&di, 0, sizeof(di));
	r = devirt_hypercall(DEVIRT_HC_DEVFILE_INFO, (unsigned long)&di,
			     sizeof(di), 0);
	if (r < 0)
		return sysfs_emit(buf, "error=%ld\n", r);
	return sysfs_emit(buf,
			  "exits=%llu calls=%llu served=%lld pages=%lld "
			  "prep_ns=%lld op_ns=%lld after_ns=%lld done_ns=%lld "
			  "map_ns=%lld revoked=%lld\n",
			  di.exits, di.calls, atomic64_read(&st_served),
			  atomic64_read(&st_pages), atomic64_read(&st_prep_ns),
			  atomic64_read(&st_op_ns), atomic64_read(&st_after_ns),
			  atomic64_read(&st_done_ns), atomic64_read(&st_map_ns),
			  atomic64_read(&st_revoked));
}

static const struct kernel_param_ops hvt_info_ops = { .get = hvt_info_get };
module_param_cb(info, &hvt_info_ops, NULL, 0444);
MODULE_PARM_DESC(info, "this vCPU's VM exits so far (devirt INFO)");

#define HVT_IOC_DONATE_MM _IO('H', 1) /* arg: guest VM id */
#define MAX_SERVERS 16
#define MAX_VMS DEVIRT_MAX_VMS
/* The mirror leaves this hole for the real device mappings. */
#define HOLE_START 0x600000000000UL
#define HOLE_END 0x640000000000UL
#define MIRROR_LOW 0x10000UL
#define MIRROR_HIGH (0x7ffffffff000UL)

#define MIRRORS 4 /* processes of one guest served at once */

struct hvt_vm;

/* One mirror address space, bound to one guest process at a time. */
struct hvt_mirror {
	struct mm_struct *mm; /* mmget() reference */
	struct vm_area_struct *vma[2]; /* the mirror mappings */
	u64 key; /* the process (page-table root) it mirrors now */
	int users; /* requests running in it */
};

struct hvt_server {
	struct task_struct *task;
	struct hvt_vm *vm;
	int slot; /* the request being run, -1 when idle */
	u32 next_idx; /* next free page of the slot's window */
	unsigned long lo, hi; /* mirror range this request's entries span */
	/* The mirror mm this thread has adopted, kept between requests. */
	struct mm_struct *mm;
	bool stopped; /* kthread_stop()ed; task still referenced */
};

struct hvt_vm {
	int id;
	bool active;
	bool gone; /* the guest stopped: servers and client dropped */
	struct devfile_client *client;
	struct hvt_mirror mir[MIRRORS];
	int nr_mir;
	struct mm_struct *donated_mm; /* the last donation, until taken */
	struct completion donated;
	spinlock_t klock;
	wait_queue_head_t kwq;
	/* Its idle servers, woken one at a time (exclusive waits). */
	wait_queue_head_t wq;
	struct hvt_server srv[MAX_SERVERS];
	int nr_srv;
};

static struct devfile_ring *ring;
static int hvt_irq = -1;
static u8 hvt_vector;
/* Servers waiting for the guest to fault a page in (FAULTIN). */
static DECLARE_WAIT_QUEUE_HEAD(work_wq);
static struct hvt_vm vms[MAX_VMS];
static struct file *mirror_file;
static unsigned long window_pfn;
static u64 window_per_slot;

static long hc(unsigned long nr, unsigned long a0, unsigned long a1,
	       unsigned long a2)
{
	return devirt_hypercall(nr, a0, a1, a2);
}

/* ---- the mirror ------------------------------------------------------- */

static struct hvt_server *this_server(void)
{
	for (int v = 0; v < MAX_VMS; v++)
		for (int i = 0; i < vms[v].nr_srv; i++)
			if (vms[v].srv[i].task == current)
				return &vms[v].srv[i];
	return NULL;
}

/*
 * A driver touched a user address of the calling guest process. Map that
 * page (writable if the process may write it) into the request's window.
 */
#define PREFETCH 64 /* pages mapped per DEVFILE_MAP: one exit for many */

static long map_pages(struct hvt_server *sv, unsigned long va, bool write,
		      unsigned long pages)
{
	u64 t0 = local_clock();
	long n = hc(DEVIRT_HC_DEVFILE_MAP, sv->slot | ((u64)sv->next_idx << 8),
		    va | (write ? 1 : 0), pages);

	atomic64_add(local_clock() - t0, &st_map_ns);
	return n;
}

static long map_page(struct hvt_server *sv, unsigned long va, bool write)
{
	return map_pages(sv, va, write, 1);
}

/* The driver-physical frame of the request's next free window page. */
static unsigned long next_window_pfn(const struct hvt_server *sv)
{
	return window_pfn + (u64)sv->slot * window_per_slot + sv->next_idx;
}

struct win_fill {
	struct mm_struct *mm;
	unsigned long pfn;
	pgprot_t prot;
};

static int win_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct win_fill *f = data;

	/* Already there (a concurrent request of the process): keep it. */
	if (pte_none(*pte))
		set_pte_at(f->mm, addr, pte,
			   pte_mkspecial(pfn_pte(f->pfn, f->prot)));
	f->pfn++;
	return 0;
}

/*
 * Insert the request's n window frames from the next free one at va: one
 * page-table walk for all of them, and write-back caching as set, where
 * vmf_insert_pfn_prot() would look each frame up in PAT's memtype tree
 * and, for memory the driver VM does not know as RAM, map it uncached.
 * Special entries: no struct page behind them (VM_PFNMAP).
 */
static int mirror_insert(struct hvt_server *sv, struct vm_area_struct *vma,
			 unsigned long va, long n, pgprot_t prot)
{
	struct win_fill f = { vma->vm_mm, next_window_pfn(sv), prot };
	int ret;

	ret = apply_to_page_range(vma->vm_mm, va, n << PAGE_SHIFT, win_pte, &f);
	sv->lo = min(sv->lo, va);
	sv->hi = max(sv->hi, va + (n << PAGE_SHIFT));
	sv->next_idx += n;
	return ret;
}

/*
 * A writable fault: map this page and up to PREFETCH - 1 following ones
 * of the process in one DEVFILE_MAP (a driver copying a buffer touches
 * them next), and insert them all. devirt stops at the first page that is
 * not the process's or not writable; those fault on their own later.
 * Returns the pages inserted (the first is vmf's), 0 if none.
 */
static long map_ahead(struct hvt_server *sv, struct vm_fault *vmf,
		      pgprot_t prot)
{
	unsigned long va = vmf->address & PAGE_MASK;
	unsigned long pages = min_t(unsigned long, PREFETCH,
				    (vmf->vma->vm_end - va) >> PAGE_SHIFT);
	long n;

	pages = min_t(unsigned long, pages, window_per_slot - sv->next_idx);
	n = map_pages(sv, va, true, pages);
	if (n <= 0)
		return 0;
	if (mirror_insert(sv, vmf->vma, va, n, prot))
		return -1;
	return n;
}

/*
 * The page is not present in the process's page tables (never touched,
 * or swapped): ask its guest to fault it in, wait, and map again.
 */
static bool fault_in(struct hvt_server *sv, unsigned long va, bool write)
{
	struct devfile_slot *s = &ring->slot[sv->slot];

	if (hc(DEVIRT_HC_DEVFILE_FAULTIN, sv->slot, va | (write ? 1 : 0), 0))
		return false;
	return wait_event_timeout(work_wq, !READ_ONCE(s->fault_va), 10 * HZ) >
	       0;
}

static vm_fault_t mirror_fault(struct vm_fault *vmf)
{
	struct hvt_server *sv = this_server();
	unsigned long va = vmf->address & PAGE_MASK;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	/*
	 * Explicit protections: with pfn_mkwrite the vma's own are read-only
	 * (write notification), and a page the process may write is mapped
	 * writable at once.
	 */
	pgprot_t prot = vm_get_page_prot(vmf->vma->vm_flags);
	long n;

	if (!sv || sv->slot < 0 || sv->next_idx >= window_per_slot)
		return VM_FAULT_SIGBUS;
	for (int tries = 0; tries < 2; tries++) {
		n = map_ahead(sv, vmf, prot);
		if (n)
			return n > 0 ? VM_FAULT_NOPAGE : VM_FAULT_OOM;
		n = 0;
		if (!write) {
			/* Not writable for the process: map it read-only. */
			n = map_page(sv, va, false);
			prot = vm_get_page_prot(vmf->vma->vm_flags & ~VM_WRITE);
		}
		if (n == 1 || tries || !fault_in(sv, va, write))
			break;
		prot = vm_get_page_prot(vmf->vma->vm_flags);
	}
	if (n != 1)
		return VM_FAULT_SIGBUS; /* not the caller's: -EFAULT */
	if (mirror_insert(sv, vmf->vma, va, 1, prot))
		return VM_FAULT_OOM;
	return VM_FAULT_NOPAGE;
}

/* A write to a page mapped read-only above: the process may not. */
static vm_fault_t mirror_pfn_mkwrite(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct mirror_vm_ops = {
	.fault = mirror_fault,
	.pfn_mkwrite = mirror_pfn_mkwrite,
};

static int mirror_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP |
			 VM_DONTCOPY;
	vma->vm_ops = &mirror_vm_ops;
	return 0;
}

static const struct file_operations mirror_fops = {
	.owner = THIS_MODULE,
	.mmap = mirror_mmap,
};

/*
 * Turn the donated address space into a mirror: remove what the helper
 * had mapped, then cover the user half with mirror mappings, leaving the
 * hole where the shim's real mmaps land (vm_mmap finds free space only
 * there). Runs with the mirror adopted.
 */
static int mirror_build(struct hvt_mirror *m)
{
	unsigned long a;

	vm_munmap(0, MIRROR_HIGH + PAGE_SIZE);
	a = vm_mmap(mirror_file, MIRROR_LOW, HOLE_START - MIRROR_LOW,
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0);
	if (IS_ERR_VALUE(a))
		return (int)a;
	a = vm_mmap(mirror_file, HOLE_END, MIRROR_HIGH - HOLE_END,
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0);
	if (IS_ERR_VALUE(a))
		return (int)a;
	mmap_read_lock(m->mm);
	m->vma[0] = find_vma(m->mm, MIRROR_LOW);
	m->vma[1] = find_vma(m->mm, HOLE_END);
	mmap_read_unlock(m->mm);
	return m->vma[0] && m->vma[1] ? 0 : -ENOMEM;
}

/*
 * Drop the request's mirror page table entries: its access ends here.
 * Only the range they span: a walk of the whole mirror (the process's
 * user address space) costs more than a small request's copy.
 */
static void mirror_zap(struct hvt_mirror *m, unsigned long lo, unsigned long hi)
{
	mmap_read_lock(m->mm);
	for (int i = 0; i < 2; i++) {
		unsigned long a = max(lo, m->vma[i]->vm_start);
		unsigned long b = min(hi, m->vma[i]->vm_end);

		if (a < b)
			zap_vma_ptes(m->vma[i], a, b - a);
	}
	mmap_read_unlock(m->mm);
}

/* ---- serving requests --------------------------------------------------- */

/*
 * A mirror for the process @key: the one already mirroring it, else an
 * idle one. Requests of one process share a mirror; a process waits only
 * when every mirror serves another one.
 */
static struct hvt_mirror *mirror_get_locked(struct hvt_vm *vm, u64 key)
{
	struct hvt_mirror *idle = NULL;

	for (int i = 0; i < vm->nr_mir; i++) {
		struct hvt_mirror *m = &vm->mir[i];

		if (m->users && m->key == key)
			return m;
		if (!m->users && !idle)
			idle = m;
	}
	return idle;
}

static struct hvt_mirror *mirror_get(struct hvt_vm *vm, u64 key)
{
	struct hvt_mirror *m;

	spin_lock(&vm->klock);
	while (!(m = mirror_get_locked(vm, key))) {
		spin_unlock(&vm->klock);
		wait_event(vm->kwq, ({
				   bool free;

				   spin_lock(&vm->klock);
				   free = mirror_get_locked(vm, key);
				   spin_unlock(&vm->klock);
				   free;
			   }));
		spin_lock(&vm->klock);
	}
	m->key = key;
	m->users++;
	spin_unlock(&vm->klock);
	return m;
}

static void mirror_put(struct hvt_vm *vm, struct hvt_mirror *m)
{
	spin_lock(&vm->klock);
	m->users--;
	spin_unlock(&vm->klock);
	wake_up_all(&vm->kwq);
}

/*
 * The ring's busy slots, "slot:state:vm" (state in hex, 0x100 = devirt's
 * ASYNC flag): what is in flight when a guest waits for good.
 */
static int hvt_ring_get(char *buf, const struct kernel_param *kp)
{
	int n = 0;

	if (!ring)
		return sysfs_emit(buf, "detached\n");
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++) {
		unsigned int st = READ_ONCE(ring->slot[i].state);

		if (st != DEVFILE_SLOT_FREE)
			n += sysfs_emit_at(buf, n, "%d:%x:%u ", i, st,
					   READ_ONCE(ring->slot[i].vm_id));
	}
	return n + sysfs_emit_at(buf, n, "\n");
}

static const struct kernel_param_ops hvt_ring_ops = { .get = hvt_ring_get };
module_param_cb(ring, &hvt_ring_ops, NULL, 0444);
MODULE_PARM_DESC(ring, "the ring's busy slots: slot:state:vm");

/*
 * "gpa,size,window_base" of the attached ring: the driver-side fuzzer
 * (devfile_dfuzz.c) aims at the window region with it, and attaches this
 * ring again after its own ATTACH calls took it away.
 */
static int hvt_ring_at_get(char *buf, const struct kernel_param *kp)
{
	if (!ring)
		return sysfs_emit(buf, "detached\n");
	return sysfs_emit(buf, "0x%llx,0x%zx,0x%llx\n",
			  (unsigned long long)virt_to_phys(ring), sizeof(*ring),
			  READ_ONCE(ring->window_base));
}

static const struct kernel_param_ops hvt_ring_at_ops = {
	.get = hvt_ring_at_get
};
module_param_cb(ring_at, &hvt_ring_at_ops, NULL, 0444);
MODULE_PARM_DESC(ring_at, "the ring's GPA, size and window base");

/*
 * Claim a submitted request of this guest; the slot index or -1.
 *
 * The ring's state words are shared with devirt, which runs on other
 * physical CPUs: hence sync_cmpxchg(), whose LOCK prefix stays. A
 * one-CPU driver VM kernel patches out the LOCK of cmpxchg() (SMP
 * alternatives, "UP code"), and its load and store then let devirt's
 * or-ing of DEVFILE_SLOT_ASYNC in between be overwritten: a request
 * completed as DONE while its guest slept for an interrupt.
 */
static int claim(struct hvt_vm *vm)
{
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++) {
		struct devfile_slot *s = &ring->slot[i];
		unsigned int st = READ_ONCE(s->state);

		/* devirt's ASYNC flag stays: it decides how we complete. */
		if ((st & ~DEVFILE_SLOT_ASYNC) == DEVFILE_SLOT_SUBMITTED &&
		    READ_ONCE(s->vm_id) == vm->id &&
		    sync_cmpxchg(&s->state, st,
				 (st & DEVFILE_SLOT_ASYNC) |
					 DEVFILE_SLOT_TAKEN) == st)
			return i;
	}
	return -1;
}

static bool has_work(struct hvt_vm *vm)
{
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++)
		if ((READ_ONCE(ring->slot[i].state) & ~DEVFILE_SLOT_ASYNC) ==
			    DEVFILE_SLOT_SUBMITTED &&
		    READ_ONCE(ring->slot[i].vm_id) == vm->id)
			return true;
	return false;
}

/*
 * Wake one idle server of every guest with a request waiting, except
 * @self (NULL: none excepted); true if @self has one waiting.
 */
static bool wake_waiting_guests(const struct hvt_vm *self)
{
	bool mine = false;

	for (int v = 0; v < MAX_VMS; v++) {
		if (!vms[v].nr_srv || !has_work(&vms[v]))
			continue;
		if (&vms[v] == self)
			mine = true;
		else
			wake_up(&vms[v].wq);
	}
	return mine;
}

/*
 * Poll the ring for up to poll_us after a request, announcing it in
 * ring->polling so that devirt skips the interrupt for new requests: the
 * next one of a busy guest then costs no interrupt, no wake-up and no
 * EOI exit. Work of another guest found meanwhile wakes that guest's
 * servers, as the interrupt would have. Returns once there is work for
 * this guest, or the time is up.
 */
static void poll_for_work(struct hvt_vm *vm)
{
	u64 end = local_clock() + (u64)min(READ_ONCE(poll_us), 10000u) * 1000;
	atomic_t *polling = (atomic_t *)&ring->polling;

	atomic_inc(polling);
	smp_mb__after_atomic(); /* pairs with devirt's fence in CALL */
	while (!kthread_should_stop()) {
		if (wake_waiting_guests(vm) || local_clock() >= end)
			break;
		cond_resched(); /* one driver CPU: let others run */
		cpu_relax();
	}
	atomic_dec(polling);
	/*
	 * A request submitted after the last look but before the decrement
	 * came without an interrupt: look once more, for every guest.
	 */
	smp_mb__after_atomic();
	wake_waiting_guests(vm);
}

/*
 * A read or a write copies its whole buffer: map it into the mirror with
 * one DEVFILE_MAP before the driver runs, rather than a page fault and a
 * MAP for every PREFETCH pages while it copies. A read's buffer is mapped
 * writable (the driver stores into it), a write's read-only. Pages devirt
 * does not map (not present in the process yet) are left to the fault
 * path, which has the guest fault them in.
 */
static void prefault_rw(struct hvt_server *sv, struct hvt_mirror *m,
			const struct devfile_req *req)
{
	bool store = req->op == DEVFILE_OP_READ;
	struct vm_area_struct *vma;
	unsigned long va, pages;
	pgprot_t prot;
	long n;

	if ((req->op != DEVFILE_OP_READ && req->op != DEVFILE_OP_WRITE) ||
	    !req->a[1] || req->a[0] >= TASK_SIZE_MAX ||
	    req->a[1] > TASK_SIZE_MAX - req->a[0])
		return;
	va = req->a[0] & PAGE_MASK;
	pages = (PAGE_ALIGN(req->a[0] + req->a[1]) - va) >> PAGE_SHIFT;
	mmap_read_lock(m->mm);
	vma = find_vma(m->mm, va);
	if (!vma || vma->vm_start > va || vma->vm_ops != &mirror_vm_ops)
		goto out;
	pages = min3(pages, (vma->vm_end - va) >> PAGE_SHIFT,
		     (unsigned long)(window_per_slot - sv->next_idx));
	n = pages ? map_pages(sv, va, store, pages) : 0;
	if (n <= 0)
		goto out;
	prot = vm_get_page_prot(store ? vma->vm_flags :
					vma->vm_flags & ~VM_WRITE);
	mirror_insert(sv, vma, va, n, prot); /* else the driver faults */
out:
	mmap_read_unlock(m->mm);
}

/*
 * Zero copy (devfile_zc_ops): the shim gives the guest the frame of the
 * FAULT this server runs (GMAP), and takes frames back (GREVOKE) when the
 * driver's mapping of them goes.
 */
static long hvt_gmap(void *priv, u64 frame, unsigned int mt, bool writable,
		     u64 *gpa)
{
	struct hvt_server *sv = this_server();
	long r;

	if (!sv || sv->vm != priv || sv->slot < 0)
		return -EINVAL;
	r = hc(DEVIRT_HC_DEVFILE_GMAP, sv->slot, (frame & PAGE_MASK) | (mt & 3),
	       writable ? 1 : 0);
	if (r < 0)
		return r == DEVIRT_ENOMEM ? -ENOMEM : -EFAULT;
	*gpa = r;
	return 0;
}

static void hvt_revoke(void *priv, u64 gpa, u64 pages)
{
	struct hvt_vm *vm = priv;
	long r = hc(DEVIRT_HC_DEVFILE_GREVOKE, vm->id, gpa, pages);

	if (r < 0)
		pr_err_ratelimited("guest %d: GREVOKE 0x%llx +%llu: %ld\n",
				   vm->id, gpa, pages, r);
	else
		atomic64_add(r, &st_revoked);
}

static const struct devfile_zc_ops hvt_zc_ops = {
	.gmap = hvt_gmap,
	.revoke = hvt_revoke,
};

static void serve_one(struct hvt_server *sv, int i)
{
	struct devfile_slot *s = &ring->slot[i];
	struct hvt_vm *vm = sv->vm;
	struct devfile_req req;
	struct devfile_resp resp;

	struct hvt_mirror *m;
	u64 t0 = local_clock(), t1, t2, t3;
	u32 pages;

	memcpy(&req, &s->req, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	m = mirror_get(vm, READ_ONCE(s->mm_key));
	/*
	 * Switching address spaces is dear (a CR3 load, TLB refills): keep
	 * the last mirror adopted while idle. It holds no entry then (zapped
	 * below), and an idle server runs no driver code in it.
	 */
	if (sv->mm != m->mm) {
		if (sv->mm)
			kthread_unuse_mm(sv->mm);
		kthread_use_mm(m->mm);
		sv->mm = m->mm;
	}
	sv->next_idx = 0;
	sv->lo = ULONG_MAX;
	sv->hi = 0;
	WRITE_ONCE(sv->slot, i);
	prefault_rw(sv, m, &req);
	t1 = local_clock();
	devfile_shim_execute(&req, &resp, vm->client);
	/* A kernel thread's last fput is deferred: finish the close now. */
	if (req.op == DEVFILE_OP_RELEASE)
		flush_delayed_fput();
	t2 = local_clock();
	/* Every mirror entry came from a window page: none used, none set. */
	pages = sv->next_idx;
	if (pages)
		mirror_zap(m, sv->lo, sv->hi);
	WRITE_ONCE(sv->slot, -1);
	mirror_put(vm, m);
	memcpy(&s->resp, &resp, sizeof(resp));
	t3 = local_clock();
	/*
	 * No window page mapped: nothing for devirt to revoke, and a guest
	 * still spinning in CALL reads DONE itself, without our exit. The
	 * exchange (a full barrier) fails when devirt flagged the slot ASYNC:
	 * that guest sleeps and needs COMPLETE's interrupt. After DONE the
	 * slot is devirt's again: not touched here any more.
	 */
	if (pages || sync_cmpxchg(&s->state, DEVFILE_SLOT_TAKEN,
				  DEVFILE_SLOT_DONE) != DEVFILE_SLOT_TAKEN)
		hc(DEVIRT_HC_DEVFILE_COMPLETE, i, 0, 0);
	atomic64_inc(&st_served);
	atomic64_add(pages, &st_pages);
	atomic64_add(t1 - t0, &st_prep_ns);
	atomic64_add(t2 - t1, &st_op_ns);
	atomic64_add(t3 - t2, &st_after_ns);
	atomic64_add(local_clock() - t3, &st_done_ns);
}

static int server_fn(void *arg)
{
	struct hvt_server *sv = arg;

	allow_signal(SIGUSR1);
	while (!kthread_should_stop()) {
		int i;

		flush_signals(current); /* a cancel of the last request */
		/*
		 * One server per request: waking them all on every interrupt
		 * costs the driver VM's CPU a context switch per idle server.
		 */
		wait_event_interruptible_exclusive(
			sv->vm->wq, has_work(sv->vm) || kthread_should_stop());
		i = claim(sv->vm);
		/* More queued: the next idle server takes it (a blocking
		 * request must not hold up the ones behind it). */
		if (has_work(sv->vm))
			wake_up(&sv->vm->wq);
		if (i >= 0) {
			serve_one(sv, i);
			if (READ_ONCE(poll_us))
				poll_for_work(sv->vm);
		}
	}
	if (sv->mm)
		kthread_unuse_mm(sv->mm);
	return 0;
}

static void notify(void *priv, const struct devfile_note_msg *note)
{
	struct hvt_vm *vm = priv;

	hc(DEVIRT_HC_DEVFILE_NOTE, vm->id,
	   note->type | ((u64)note->events << 32), note->handle);
}

/*
 * The shim withdrew handle's export: interrupt this guest's servers that
 * run a request of that handle (as a guest's cancel does), so that a
 * read blocked in the driver returns; the shim answers -ENODEV. Servers
 * are put only after the client is destroyed (vm_teardown), and the shim
 * calls this only for a client not yet destroyed.
 */
static void hvt_cancel_handle(void *priv, u64 handle)
{
	struct hvt_vm *vm = priv;

	for (int i = 0; i < vm->nr_srv; i++) {
		struct hvt_server *sv = &vm->srv[i];
		int slot = READ_ONCE(sv->slot);

		if (READ_ONCE(sv->stopped) || slot < 0)
			continue;
		if (READ_ONCE(ring->slot[slot].req.handle) == handle &&
		    READ_ONCE(ring->slot[slot].req.op) != DEVFILE_OP_RELEASE)
			send_sig(SIGUSR1, sv->task, 1);
	}
}

/*
 * The shim's exports changed. Guests with a client heard it through
 * notify(); tell the other user guests (ids 1..3) too, so that one whose
 * stub has no client here yet learns it. Errors (no such guest) ignored.
 */
static int hvt_exports_changed(struct notifier_block *nb, unsigned long a,
			       void *p)
{
	for (int v = 1; v < MAX_VMS; v++)
		if (!READ_ONCE(vms[v].client))
			hc(DEVIRT_HC_DEVFILE_NOTE, v, DEVFILE_NOTE_EXPORTS, 0);
	return NOTIFY_OK;
}

static struct notifier_block hvt_exports_nb = {
	.notifier_call = hvt_exports_changed,
};

static bool hvt_exports_watched;

/* ---- bring-up ------------------------------------------------------------ */

static long hvt_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct hvt_vm *vm;

	if (cmd != HVT_IOC_DONATE_MM || arg >= MAX_VMS || !vms[arg].active ||
	    vms[arg].donated_mm || vms[arg].nr_mir == MIRRORS || !current->mm)
		return -EINVAL;
	vm = &vms[arg];
	mmget(current->mm);
	vm->donated_mm = current->mm;
	complete(&vm->donated);
	return 0;
}

static const struct file_operations hvt_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = hvt_ioctl,
};

static struct miscdevice hvt_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "devfile_hv",
	.fops = &hvt_fops,
	.mode = 0600,
};

/*
 * A guest gave up a request (its caller was killed): interrupt the server
 * running it. Servers accept SIGUSR1 for this; a driver sleeping
 * interruptibly then returns -EINTR or -ERESTARTSYS.
 */
static void cancel_scan(struct work_struct *work)
{
	for (int v = 0; v < MAX_VMS; v++)
		for (int i = 0; i < vms[v].nr_srv; i++) {
			struct hvt_server *sv = &vms[v].srv[i];
			int slot = READ_ONCE(sv->slot);

			if (READ_ONCE(sv->stopped))
				continue;
			if (slot >= 0 && READ_ONCE(ring->slot[slot].cancel))
				send_sig(SIGUSR1, sv->task, 1);
		}
}

static DECLARE_WORK(hvt_cancel_work, cancel_scan);

/* Stop a guest's servers; one blocked in a driver is signalled first. */
static void vm_stop_servers(struct hvt_vm *vm)
{
	for (int i = 0; i < vm->nr_srv; i++) {
		struct hvt_server *sv = &vm->srv[i];

		if (sv->stopped)
			continue;
		if (READ_ONCE(sv->slot) >= 0)
			send_sig(SIGUSR1, sv->task, 1);
		kthread_stop(sv->task);
		WRITE_ONCE(sv->stopped, true);
	}
}

static bool hvt_exiting;

/*
 * devirt set ring->gone: those guests stopped (crashed or reset). Their
 * requests are cancelled (devirt set the slots' cancel) and end with
 * COMPLETE; stop their servers, then drop their clients, which closes
 * their files and mappings in this VM. A stopped guest never comes back.
 */
static void gone_scan(struct work_struct *work)
{
	u32 gone = xchg(&ring->gone, 0);

	for (int v = 0; v < MAX_VMS && v < 32; v++) {
		struct hvt_vm *vm = &vms[v];

		if (!(gone & (1u << v)) || !vm->nr_srv || vm->gone ||
		    READ_ONCE(hvt_exiting))
			continue;
		vm->gone = true;
		pr_info("guest %d stopped: dropping its requests, files and "
			"mappings\n",
			v);
		vm_stop_servers(vm);
		devfile_shim_client_destroy(vm->client);
		WRITE_ONCE(vm->client, NULL);
		pr_info("guest %d: nothing of it left here\n", v);
	}
}

static DECLARE_WORK(hvt_gone_work, gone_scan);

static irqreturn_t hvt_interrupt(int irq, void *dev)
{
	bool cancel = false;

	wake_waiting_guests(NULL);
	wake_up_all(&work_wq);
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++)
		cancel |= READ_ONCE(ring->slot[i].cancel);
	/* Signalling a server is for process context. */
	if (cancel)
		schedule_work(&hvt_cancel_work);
	if (READ_ONCE(ring->gone))
		schedule_work(&hvt_gone_work);
	return IRQ_HANDLED;
}

struct build_call {
	struct hvt_mirror *m;
	int ret;
	struct completion done;
};

/* kthread_use_mm() is for kernel threads: build the mirror on one. */
static int build_fn(void *arg)
{
	struct build_call *bc = arg;

	kthread_use_mm(bc->m->mm);
	bc->ret = mirror_build(bc->m);
	kthread_unuse_mm(bc->m->mm);
	complete(&bc->done);
	return 0;
}

/* One more mirror: a helper donates its mm; once it is gone, build. */
static int mirror_add(struct hvt_vm *vm)
{
	struct hvt_mirror *m = &vm->mir[vm->nr_mir];
	struct build_call bc = { .m = m };
	char id[4];
	char *argv[] = { mirror_helper, id, NULL };
	char *envp[] = { "PATH=/bin:/sbin", NULL };
	struct task_struct *t;
	int ret, tries;

	snprintf(id, sizeof(id), "%d", vm->id);
	reinit_completion(&vm->donated);
	ret = call_usermodehelper(mirror_helper, argv, envp, UMH_WAIT_PROC);
	if (ret || !wait_for_completion_timeout(&vm->donated, 5 * HZ)) {
		pr_err("guest %d: %s did not donate an address space (%d)\n",
		       vm->id, mirror_helper, ret);
		return -ENOENT;
	}
	m->mm = vm->donated_mm;
	vm->donated_mm = NULL;
	vm->nr_mir++;
	for (tries = 0; atomic_read(&m->mm->mm_users) > 1 && tries < 500;
	     tries++)
		msleep(10);
	init_completion(&bc.done);
	t = kthread_run(build_fn, &bc, "devfile/build");
	if (IS_ERR(t))
		return PTR_ERR(t);
	wait_for_completion(&bc.done);
	if (bc.ret)
		pr_err("guest %d: cannot build a mirror (%d)\n", vm->id,
		       bc.ret);
	return bc.ret;
}

static int vm_setup(struct hvt_vm *vm)
{
	int ret;

	for (int i = 0; i < MIRRORS; i++) {
		ret = mirror_add(vm);
		if (ret)
			return ret;
	}
	/* The shim makes its real device mmaps in the first mirror. */
	vm->client =
		devfile_shim_client_create("guest", notify, vm, vm->mir[0].mm);
	if (IS_ERR(vm->client)) {
		ret = PTR_ERR(vm->client);
		vm->client = NULL;
		return ret;
	}
	devfile_shim_client_set_cancel(vm->client, hvt_cancel_handle);
	devfile_shim_client_set_zc(vm->client, &hvt_zc_ops);
	for (int i = 0; i < servers; i++) {
		struct hvt_server *sv = &vm->srv[i];

		sv->vm = vm;
		sv->slot = -1;
		sv->task =
			kthread_run(server_fn, sv, "devfile/%d.%d", vm->id, i);
		if (IS_ERR(sv->task))
			return PTR_ERR(sv->task);
		/* The cancel scan may look at it until the module goes. */
		get_task_struct(sv->task);
		vm->nr_srv++;
	}
	pr_info("guest %d: %d mirrors, %d servers\n", vm->id, vm->nr_mir,
		vm->nr_srv);
	return 0;
}

static void vm_teardown(struct hvt_vm *vm)
{
	vm_stop_servers(vm);
	/* Before the tasks go: the client's cancel looks at them. */
	if (vm->client)
		devfile_shim_client_destroy(vm->client);
	WRITE_ONCE(vm->client, NULL);
	for (int i = 0; i < vm->nr_srv; i++)
		put_task_struct(vm->srv[i].task);
	vm->nr_srv = 0;
	for (int i = 0; i < vm->nr_mir; i++)
		mmput(vm->mir[i].mm);
	vm->nr_mir = 0;
	if (vm->donated_mm)
		mmput(vm->donated_mm);
	vm->donated_mm = NULL;
}

/*
 * The window region: 1 GiB of physical address space, 1 GiB aligned,
 * where devirt maps the calling process's pages during a request. It is
 * taken from the resource tree like a BAR, so that no driver is given it
 * (it is not RAM, and devirt unmaps it from this VM while attached), and
 * its base goes to DEVFILE_ATTACH (rdx).
 */
static struct resource window_res = {
	.name = "devirt devfile window",
	.flags = IORESOURCE_MEM | IORESOURCE_BUSY,
};
static bool window_reserved;

static int ram_end_fn(struct resource *res, void *arg)
{
	u64 *end = arg;

	*end = max_t(u64, *end, res->end + 1);
	return 0;
}

static int window_reserve(void)
{
	/* devirt's identity map of this VM ends at 2^min(bits, 46). */
	u64 limit = 1ULL << min_t(u32, boot_cpu_data.x86_phys_bits, 46);
	u64 ram_end = 0, from;
	int ret;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &ram_end, ram_end_fn);
	from = max_t(u64, SZ_4G, ram_end);
	ret = allocate_resource(&iomem_resource, &window_res, SZ_1G, from,
				limit - 1, SZ_1G, NULL, NULL);
	if (ret) {
		pr_err("no free, 1 GiB aligned 1 GiB of physical address space in [0x%llx, 0x%llx) for the window region: %d\n",
		       from, limit, ret);
		return ret;
	}
	window_reserved = true;
	return 0;
}

/* After the detach: devirt gave the region back to this VM. */
static void window_release(void)
{
	if (window_reserved)
		release_resource(&window_res);
	window_reserved = false;
}

static void hvt_cleanup(void)
{
	if (hvt_exports_watched)
		devfile_shim_unregister_exports_notifier(&hvt_exports_nb);
	hvt_exports_watched = false;
	if (ring)
		hc(DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0);
	window_release();
	WRITE_ONCE(hvt_exiting, true);
	/* No interrupt, hence no scan, may look at a server from here. */
	if (hvt_irq >= 0)
		free_irq(hvt_irq, NULL);
	hvt_irq = -1;
	cancel_work_sync(&hvt_gone_work);
	cancel_work_sync(&hvt_cancel_work);
	for (int v = 0; v < MAX_VMS; v++)
		vm_teardown(&vms[v]);
	misc_deregister(&hvt_misc);
	if (mirror_file) {
		fput(mirror_file);
		/* Its close must not run after this module is gone. */
		flush_delayed_fput();
		mirror_file = NULL;
	}
	if (ring)
		free_pages_exact(ring, sizeof(*ring));
}

static int __init hvt_init(void)
{
	struct devirt_hv_info *info;
	char vendor[13], sig[13];
	int ret, guests = 0;
	long r;

	devirt_hc_setup(vendor);
	devirt_hc_signature(sig);
	if (strcmp(sig, DEVIRT_CPUID_SIGNATURE))
		return -ENODEV; /* not under devirt */
	if (servers < 1 || servers > MAX_SERVERS)
		return -EINVAL;
	ret = misc_register(&hvt_misc);
	if (ret)
		return ret;
	mirror_file = anon_inode_getfile("devfile-mirror", &mirror_fops, NULL,
					 O_RDWR);
	if (IS_ERR(mirror_file)) {
		ret = PTR_ERR(mirror_file);
		mirror_file = NULL;
		goto fail;
	}
	ret = devfile_vector_alloc(hvt_interrupt, "devfile_transport", 0,
				   &hvt_vector);
	if (ret < 0)
		goto fail;
	hvt_irq = ret;
	ring = alloc_pages_exact(sizeof(*ring), GFP_KERNEL | __GFP_ZERO);
	if (!ring) {
		ret = -ENOMEM;
		goto fail;
	}
	ring->magic = DEVFILE_RING_MAGIC;
	ring->nr_slots = DEVFILE_RING_SLOTS;
	ring->vector = hvt_vector;
	ret = window_reserve();
	if (ret) {
		free_pages_exact(ring, sizeof(*ring));
		ring = NULL;
		goto fail;
	}
	r = hc(DEVIRT_HC_DEVFILE_ATTACH, virt_to_phys(ring), sizeof(*ring),
	       window_res.start);
	if (r) {
		pr_err("attach refused: %ld (window region at 0x%llx)\n", r,
		       (u64)window_res.start);
		free_pages_exact(ring, sizeof(*ring));
		ring = NULL;
		ret = -EIO;
		goto fail;
	}
	window_pfn = ring->window_base >> PAGE_SHIFT;
	window_per_slot = ring->window_pages_per_slot;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info || devirt_hv_info(info)) {
		kfree(info);
		ret = -EIO;
		goto fail;
	}
	for (unsigned int v = 0; v < info->nr_vms && v < MAX_VMS; v++) {
		if (info->vm[v].role != 2)
			continue;
		vms[v].id = v;
		vms[v].active = true;
		spin_lock_init(&vms[v].klock);
		init_waitqueue_head(&vms[v].kwq);
		init_waitqueue_head(&vms[v].wq);
		init_completion(&vms[v].donated);
	}
	kfree(info);
	for (int v = 0; v < MAX_VMS; v++) {
		if (!vms[v].active)
			continue;
		ret = vm_setup(&vms[v]);
		if (ret)
			goto fail;
		guests++;
	}
	ret = devfile_shim_register_exports_notifier(&hvt_exports_nb);
	if (ret)
		goto fail;
	hvt_exports_watched = true;
	pr_info("attached: vector 0x%x, %d guest(s), windows at pfn 0x%lx\n",
		hvt_vector, guests, window_pfn);
	return 0;
fail:
	hvt_cleanup();
	return ret;
}

static void __exit hvt_exit(void)
{
	hvt_cleanup();
}

module_init(hvt_init);
module_exit(hvt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devfile shim: the devirt hypercall transport");
