// SPDX-License-Identifier: GPL-2.0
/*
 * The hypervisor side of device-file forwarding (docs/devfile.md): the
 * request ring shared with the shim, notifications both ways, and the
 * memory services that let the driver VM's driver reach the calling guest
 * process's pages (windows) and let a guest map driver frames (zero copy).
 *
 * Who may call what: DEVFILE_CALL/FETCH/GUNMAP come from user guests,
 * ATTACH/MAP/COMPLETE/GMAP from the driver VM, INFO from anyone. Every
 * argument from either side is checked; the ring is driver memory and
 * is never trusted for anything but the request and response bytes.
 *
 * The device files a guest may reach are its boot config's `devices`
 * list: OPEN and IDENT of other names are refused here, before the
 * driver VM sees them, and LIST answers hide them.
 */
#include "../vmm/vm/vm.h"
#include "../vmm/core/lib.h"
#include "../vmm/core/x86.h"
#include "../vmm/core/spinlock.h"
#include "../vmm/core/cpu.h"
#include <devirt/hypercall.h>
#include <devfile/ring.h>
#include <devfile/acl.h>

#define WINDOW_PAGES_PER_SLOT 4160 /* a 16 MiB buffer plus nested data */
#define WINDOW_SIZE (1ULL << 30) /* driver-physical, where the shim says */
#define GUEST_DEVWIN_BASE (1ULL << 36) /* guest-physical, 64 GiB */
#define GUEST_DEVWIN_PAGES (1ULL << 20) /* 4 GiB of device frames */
#define GUEST_DEVWIN_END (GUEST_DEVWIN_BASE + GUEST_DEVWIN_PAGES * PAGE_SIZE)
#ifndef SPIN_BEFORE_ASYNC /* the unit test sets 1: it fills the window */
#define SPIN_BEFORE_ASYNC 20000 /* pause loops before going async */
#endif
#define NOTE_QUEUE 64
#define REFUSALS_LOGGED 32 /* per guest: then one line, then silence */
#define WINDOW_REFUSALS_LOGGED 8 /* ATTACH's window: a fuzzer sends many */

static struct {
	spinlock_t lock;
	spinlock_t s2_lock; /* guests' device windows (GMAP, GUNMAP) */
	struct devfile_ring *ring;
	u64 ring_gpa;
	u32 vector;
	u32 driver_apic;
	u64 window_base; /* carved out of the driver VM's map; 0: none */
	/* Private per-slot state: the ring's copy is never trusted. */
	struct {
		struct vm *vm; /* owner, NULL when free */
		struct vcpu *vcpu;
		u64 cr3;
		bool la57;
		u32 windows; /* window pages mapped so far (high-water) */
		u32 mapped; /* successful page mappings, for the counters */
		u64 faultin; /* address | 1 write | 2 pending, for the guest */
		volatile u32 async; /* the guest sleeps: interrupt it when done */
		volatile u32 done;
		/*
		 * Driver calls working on the slot (MAP, GMAP, FAULTIN;
		 * hold_slot): fast_done waits for them, COMPLETE too.
		 * Under df.lock.
		 */
		u32 mapping;
		/* COMPLETE began: no more driver calls on the slot. */
		u32 completing;
		u64 t_submit, t_done; /* TSC: in the ring, COMPLETE */
		u32 op; /* the request's, as the guest sent it */
		bool gmapped; /* a FAULT's one frame was given (GMAP) */
		u64 seq;
	} slot[DEVFILE_RING_SLOTS];
	/* Guest notification vectors (stub), per VM id. */
	u32 guest_vector[CFG_MAX_VMS];
	/*
	 * Each guest's device window, a page a bit: set while a GMAPped
	 * frame is there, cleared by GUNMAP, so addresses are reused.
	 * devwin_next is where the next search starts (next fit).
	 */
	u64 devwin_used[CFG_MAX_VMS][GUEST_DEVWIN_PAGES / 64];
	/*
	 * Used pages whose frame the driver VM took back (GREVOKE): out of
	 * the guest's tables, but taken until its GUNMAP, and waited on by
	 * its accesses meanwhile (devfile_stage2_stall).
	 */
	u64 devwin_revoked[CFG_MAX_VMS][GUEST_DEVWIN_PAGES / 64];
	u64 devwin_next[CFG_MAX_VMS];
	/* Notifications for each guest (poll, SIGIO), a ring each. */
	struct {
		struct devfile_note_msg q[NOTE_QUEUE];
		u32 head, tail; /* tail - head entries */
		u64 dropped;
	} notes[CFG_MAX_VMS];
	u64 lost_completions; /* requests FETCH found DONE (hc_fetch) */
	u64 window_refusals; /* ATTACH windows refused (attach_ring) */
	/* Names refused by the guest's device list (one vCPU: no lock). */
	u64 refusals[CFG_MAX_VMS];
} df;

static struct devfile_slot *ring_slot(u32 i)
{
	return &df.ring->slot[i];
}

void devfile_init(void)
{
	spin_init(&df.lock);
	spin_init(&df.s2_lock);
	for (u32 i = 0; i < CFG_MAX_VMS; i++)
		df.devwin_next[i] = 0;
}

static void notify(u32 apic_id, u32 vector)
{
	apic_send_fixed(apic_id, (u8)vector);
}

/*
 * Queue a note for user guest @g (which has its vCPU) and interrupt it
 * when its stub registered a vector; it collects notes with NOTES.
 */
static s64 queue_note(struct vm *g, u32 type, u32 events, u64 handle)
{
	struct devfile_note_msg *n;
	u32 id = g->id, t;

	spin_lock(&df.lock);
	t = df.notes[id].tail;
	if (t - df.notes[id].head == NOTE_QUEUE) {
		df.notes[id].dropped++;
		spin_unlock(&df.lock);
		return DEVIRT_EBUSY;
	}
	n = &df.notes[id].q[t % NOTE_QUEUE];
	n->type = type;
	n->events = events;
	n->handle = handle;
	df.notes[id].tail = t + 1;
	spin_unlock(&df.lock);
	if (df.guest_vector[id])
		notify(g->vcpus[0].apic_id, df.guest_vector[id]);
	return 0;
}

/*
 * The set of exports may have changed: the shim attached or detached, or
 * the driver VM stopped. Every running user guest is told to list again
 * (DEVFILE_NOTE_EXPORTS, handle 0).
 */
static void exports_changed(void)
{
	for (u32 id = 0; id < vm_count(); id++) {
		struct vm *g = vm_get(id);

		if (g->role == VM_ROLE_GUEST && g->nr_vcpus &&
		    __atomic_load_n(&g->state, __ATOMIC_SEQ_CST) ==
			    DEVIRT_VM_RUNNING)
			queue_note(g, DEVFILE_NOTE_EXPORTS, 0, 0);
	}
}

static bool driver_running(void)
{
	return __atomic_load_n(&vm_get(0)->state, __ATOMIC_SEQ_CST) ==
	       DEVIRT_VM_RUNNING;
}

/* The guest's `devices` list from the boot config, "a,b,c". */
static const char *vm_devices(struct vm *vm)
{
	return boot_info->cfg.vms[vm->id].devices;
}

/*
 * Give the window region back to the driver VM as map_driver() (vm.c)
 * made it: identity, uncached, RWX. window_ok() checked that it was
 * exactly that before it was carved out, so nothing is lost.
 */
static s64 window_give_back(struct vcpu *vcpu)
{
	u64 base = df.window_base;

	if (!base)
		return 0;
	if (s2_map(&vcpu->vm->s2, base, base, WINDOW_SIZE, S2_PERM_RWX,
		   S2_MT_UC))
		return DEVIRT_ENOMEM; /* still carved out: the next call retries */
	arch->s2_flush(vcpu);
	df.window_base = 0;
	pr_info("devfile: window at 0x%lx given back to the driver VM\n", base);
	return 0;
}

static bool overlaps(u64 base, u64 end, u64 b, u64 size)
{
	return size && b < end && b + size > base;
}

/*
 * Whether [@base, +WINDOW_SIZE) may become the window region: the shim
 * reserved it in its kernel's resource tree, but the driver VM is not
 * trusted. 1 GiB aligned, inside the driver VM's identity map (the same
 * limit as map_driver()), none of its RAM or ACPI tables, the ring,
 * devirt's memory or another VM's, and, when @check_map, all of it
 * mapped identity, UC, RWX now: nothing devirt traps there (the xAPIC
 * page, apic.c), so that window_give_back() restores it exactly.
 */
static bool window_ok(struct vm *vm, u64 base, bool check_map)
{
	u64 end = base + WINDOW_SIZE;
	struct s2_lookup l;

	if (!base || !IS_ALIGNED(base, WINDOW_SIZE) || end < base ||
	    end > 1ULL << MIN(cpu_phys_bits(), 46u))
		return false;
	/* What map_driver() leaves identity-mapped UC: MMIO, reserved. */
	for (u32 i = 0; i < vm->nr_mem; i++) {
		const struct mem_range *r = &vm->mem[i];

		if (r->type != MEM_MMIO && r->type != MEM_RESERVED &&
		    r->type != MEM_UNUSABLE &&
		    overlaps(base, end, r->base, r->size))
			return false;
	}
	if (overlaps(base, end, boot_info->hyp_base, boot_info->hyp_size) ||
	    overlaps(base, end, df.ring_gpa, sizeof(struct devfile_ring)))
		return false;
	/* A leaf at a time: one lookup for a 1 GiB leaf. */
	for (u64 a = base; check_map && a < end;) {
		u64 leaf;

		if (!s2_translate(&vm->s2, a, &l) || l.hpa != a ||
		    l.memtype != S2_MT_UC || l.perm != S2_PERM_RWX)
			return false;
		leaf = 1ULL << (12 + 9 * (l.level - 1));
		a = (a & ~(leaf - 1)) + leaf;
	}
	return true;
}

/*
 * Check and take the ring at @gpa, with its window region at @window;
 * none is attached now. The ring is checked first (EINVAL, EFAULT), then
 * the window (EINVAL). On any refusal the window carved out for the old
 * ring is given back: no ring, no window.
 */
static s64 attach_ring(struct vcpu *vcpu, u64 gpa, u64 size, u64 window)
{
	struct vm *vm = vcpu->vm;
	struct s2_lookup l;
	struct devfile_ring *r;
	u32 vector;
	s64 ret;

	if ((gpa & (PAGE_SIZE - 1)) || size < sizeof(*r))
		return DEVIRT_EINVAL;
	/* Identity-mapped RAM of the driver VM, every page of it. */
	for (u64 off = 0; off < sizeof(*r); off += PAGE_SIZE)
		if (!s2_translate(&vm->s2, gpa + off, &l) ||
		    l.hpa != gpa + off || l.memtype != S2_MT_WB ||
		    !(l.perm & S2_PERM_W))
			return DEVIRT_EFAULT;
	r = phys_to_virt(gpa);
	/*
	 * Read once: another vCPU of the driver VM may rewrite the ring
	 * after the check, and df.vector must be the value checked.
	 */
	vector = __atomic_load_n(&r->vector, __ATOMIC_RELAXED);
	if (r->magic != DEVFILE_RING_MAGIC ||
	    r->nr_slots != DEVFILE_RING_SLOTS || vector < 0x20 || vector > 0xff)
		return DEVIRT_EINVAL;
	df.ring_gpa = gpa; /* for window_ok(); no ring is attached */
	/* The same region again: it is carved out already (unmapped). */
	if (!window_ok(vm, window, window != df.window_base)) {
		if (++df.window_refusals <= WINDOW_REFUSALS_LOGGED)
			pr_info("devfile: ATTACH refused: window 0x%lx is not 1 GiB aligned, past 0x%lx or not free%s\n",
				window, (u64)1 << MIN(cpu_phys_bits(), 46u),
				df.window_refusals == WINDOW_REFUSALS_LOGGED ?
					" (no more of these logged)" :
					"");
		return DEVIRT_EINVAL;
	}
	if (window != df.window_base) {
		ret = window_give_back(vcpu);
		if (ret)
			return ret;
		/* Even if a split failed half way: give_back maps it all. */
		df.window_base = window;
		if (s2_unmap(&vm->s2, window, WINDOW_SIZE))
			return DEVIRT_ENOMEM;
		arch->s2_flush(vcpu);
	}
	r->window_base = df.window_base;
	r->window_pages_per_slot = WINDOW_PAGES_PER_SLOT;
	for (u32 i = 0; i < DEVFILE_RING_SLOTS; i++)
		r->slot[i].state = DEVFILE_SLOT_FREE;
	df.vector = vector;
	df.driver_apic = vcpu->apic_id;
	__atomic_store_n(&df.ring, r, __ATOMIC_RELEASE);
	pr_info("devfile: shim attached, ring at 0x%lx, vector 0x%x, windows at 0x%lx\n",
		gpa, df.vector, df.window_base);
	return 0;
}

/*
 * ATTACH (driver VM): rdi = ring GPA (page aligned), rsi = its size, rdx =
 * the window region's base (1 GiB, which the shim reserved in its
 * kernel's resource tree). The ring must lie in the driver VM's own RAM;
 * the window region is carved out of its identity map. rdi = 0 detaches
 * (no request in flight). Either way the old window region, if it moves
 * or goes, is given back to the driver VM, and the guests are told to
 * list the exports again.
 */
static s64 hc_attach(struct vcpu *vcpu, u64 gpa, u64 size, u64 window)
{
	bool was;
	s64 ret;

	if (vcpu->vm->role != VM_ROLE_DRIVER)
		return DEVIRT_EPERM;
	spin_lock(&df.lock);
	for (u32 i = 0; i < DEVFILE_RING_SLOTS; i++) {
		if (df.slot[i].vm) {
			spin_unlock(&df.lock);
			return DEVIRT_EBUSY;
		}
	}
	was = df.ring != NULL;
	df.ring = NULL;
	spin_unlock(&df.lock);
	if (!gpa) {
		pr_info("devfile: shim detached\n");
		ret = window_give_back(vcpu);
		exports_changed();
		return ret;
	}
	ret = attach_ring(vcpu, gpa, size, window);
	if (ret)
		window_give_back(vcpu);
	/* A failed re-attach left the guests without the old ring too. */
	if (!ret || was)
		exports_changed();
	return ret;
}

/*
 * The shim set the ring state to DONE itself (no COMPLETE). Accepted only
 * when no window is open or being opened for the slot: nothing for the
 * driver VM to keep. Accepting closes the slot to MAP (done) under the
 * same lock that MAP takes, so no window can open afterwards.
 */
static bool fast_done(u32 i, u32 state)
{
	bool ok = false;

	if (state != DEVFILE_SLOT_DONE)
		return false;
	spin_lock(&df.lock);
	if (!df.slot[i].mapping && !df.slot[i].windows && !df.slot[i].done &&
	    !df.slot[i].completing) {
		df.slot[i].t_done = rdtsc();
		__atomic_store_n(&df.slot[i].done, 1, __ATOMIC_SEQ_CST);
		ok = true;
	}
	spin_unlock(&df.lock);
	return ok;
}

/* Free slot i of a guest that stopped; df.lock held. */
static void free_orphan_locked(u32 i)
{
	struct vm *g = df.slot[i].vm;

	ring_slot(i)->state = DEVFILE_SLOT_FREE;
	__atomic_store_n(&df.slot[i].vm, NULL, __ATOMIC_RELEASE);
	g->df_inflight--;
}

/*
 * User guest @vm stopped (on its own CPU, vcpu_stop_vm): nothing will
 * collect its requests. Unclaimed and finished ones are freed here;
 * running ones are cancelled and flagged ASYNC, so that the shim
 * COMPLETEs them and COMPLETE frees them. ring->gone tells the shim to
 * drop the guest's files and mappings.
 */
void devfile_vm_stopped(struct vm *vm)
{
	struct devfile_ring *r;
	u32 n = 0;

	/*
	 * The driver VM (its state is STOPPED already, so CALL answers
	 * -ENODEV from now on): its exports are gone.
	 */
	if (vm->role == VM_ROLE_DRIVER) {
		pr_info("devfile: the driver VM stopped; the guests are told its devices are gone\n");
		exports_changed();
		return;
	}
	if (vm->role != VM_ROLE_GUEST || vm->id >= 32)
		return;
	df.guest_vector[vm->id] = 0; /* no interrupts for a parked CPU */
	/*
	 * The ring as ATTACH leaves it under df.lock: one read before the
	 * lock could be a ring detached meanwhile, driver RAM no longer ours
	 * to write.
	 */
	spin_lock(&df.lock);
	r = df.ring;
	if (!r) {
		spin_unlock(&df.lock);
		return;
	}
	for (u32 i = 0; i < DEVFILE_RING_SLOTS; i++) {
		struct devfile_slot *s = ring_slot(i);
		u32 old;

		if (df.slot[i].vm != vm)
			continue;
		n++;
		old = __atomic_fetch_or(&s->state, DEVFILE_SLOT_ASYNC,
					__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&df.slot[i].done, __ATOMIC_SEQ_CST) ||
		    (old == DEVFILE_SLOT_SUBMITTED &&
		     __atomic_compare_exchange_n(
			     &s->state, &(u32){ old | DEVFILE_SLOT_ASYNC },
			     DEVFILE_SLOT_FREE, false, __ATOMIC_SEQ_CST,
			     __ATOMIC_SEQ_CST)))
			free_orphan_locked(i);
		else
			s->cancel = 1;
	}
	__atomic_fetch_or(&r->gone, 1u << vm->id, __ATOMIC_SEQ_CST);
	spin_unlock(&df.lock);
	notify(df.driver_apic, df.vector);
	pr_info("[%s] devfile: %u request(s) of the stopped guest dropped; "
		"the driver VM is told\n",
		vm->name, n);
}

/*
 * Copy a finished response to the guest and free the slot. The one place
 * responses reach a guest, so LIST is filtered here, on our copy: a
 * device outside the guest's list reads as -EACCES with nothing of it.
 */
static s64 finish(struct vcpu *vcpu, u32 i, u64 resp_gva)
{
	struct devfile_resp resp;
	u32 op = df.slot[i].op;

	memcpy(&resp, &ring_slot(i)->resp, sizeof(resp));
	resp.seq = df.slot[i].seq;
	/* IDENT's name is a chunk of bytes, not a string (proto.h). */
	if (op != DEVFILE_OP_IDENT)
		resp.name[DEVFILE_NAME_MAX - 1] = 0;
	if (op == DEVFILE_OP_LIST && resp.ret >= 0 &&
	    !devfile_acl_allows(vm_devices(vcpu->vm), resp.name)) {
		memset(&resp, 0, sizeof(resp));
		resp.seq = df.slot[i].seq;
		resp.ret = -DEVFILE_EACCES;
	}
	ring_slot(i)->state = DEVFILE_SLOT_FREE;
	__atomic_store_n(&df.slot[i].vm, NULL, __ATOMIC_RELEASE);
	vcpu->vm->df_inflight--;
	return gva_write(vcpu, resp_gva, &resp, sizeof(resp));
}

static s64 reply(struct vcpu *vcpu, u64 resp_gva, u64 seq, s64 err)
{
	struct devfile_resp resp;

	memset(&resp, 0, sizeof(resp));
	resp.seq = seq;
	resp.ret = err;
	return gva_write(vcpu, resp_gva, &resp, sizeof(resp));
}

/*
 * OPEN and IDENT name a device file: it must be in the guest's `devices`
 * list. Checked on our own copy of the request, so the driver VM never
 * sees a refused name. Each refusal is logged, the first
 * REFUSALS_LOGGED per guest: a hostile guest cannot flood the log.
 */
static s64 check_name(struct vm *vm, const struct devfile_req *req)
{
	char shown[DEVFILE_NAME_MAX];
	u64 n;

	if (strnlen(req->name, DEVFILE_NAME_MAX) == DEVFILE_NAME_MAX)
		return -DEVFILE_EINVAL;
	if (devfile_acl_allows(vm_devices(vm), req->name))
		return 0;
	n = ++df.refusals[vm->id];
	if (n <= REFUSALS_LOGGED) {
		/* The name is the guest's: no control bytes in our log. */
		for (u32 k = 0; k < DEVFILE_NAME_MAX; k++) {
			char c = req->name[k];

			shown[k] = c && (c < 0x20 || c > 0x7e) ? '?' : c;
		}
		pr_info("[%s] devfile: %s of %s refused (not in its devices list)\n",
			vm->name, req->op == DEVFILE_OP_OPEN ? "open" : "ident",
			shown);
	} else if (n == REFUSALS_LOGGED + 1) {
		pr_info("[%s] devfile: more refused names; further ones are not logged\n",
			vm->name);
	}
	return -DEVFILE_EACCES;
}

/*
 * CALL (user guest, in the calling process's context): rdi = request,
 * rsi = response. Waits for the shim a little; a guest that registered a
 * notification vector then gets -EINPROGRESS with the slot number in
 * resp.handle, sleeps, and collects the result with FETCH after the
 * interrupt. Without a vector it waits to the end (synchronous mode).
 */
static s64 hc_call(struct vcpu *vcpu, u64 req_gva, u64 resp_gva)
{
	struct vm *vm = vcpu->vm;
	struct devfile_req req;
	struct devfile_ring *r = __atomic_load_n(&df.ring, __ATOMIC_ACQUIRE);
	struct devfile_slot *s;
	u32 i;
	u64 spins = 0, t0 = rdtsc();
	s64 ret;

	if (vm->role != VM_ROLE_GUEST)
		return DEVIRT_EPERM;
	if (gva_read(vcpu, req_gva, &req, sizeof(req)))
		return DEVIRT_EFAULT;
	if (req.magic != DEVFILE_MAGIC || req.major != DEVFILE_PROTO_MAJOR)
		return reply(vcpu, resp_gva, req.seq, -DEVFILE_EPROTO);
	if (req.op >= DEVFILE_OP_MAX)
		return reply(vcpu, resp_gva, req.seq, -DEVFILE_ENOSYS);
	if (req.op == DEVFILE_OP_OPEN || req.op == DEVFILE_OP_IDENT) {
		ret = check_name(vm, &req);
		if (ret)
			return reply(vcpu, resp_gva, req.seq, ret);
	}
	/* No shim, or nothing left to run one: nothing would answer. */
	if (!r || !driver_running())
		return reply(vcpu, resp_gva, req.seq, -DEVFILE_ENODEV);
	spin_lock(&df.lock);
	/*
	 * ATTACH may have detached or replaced r since it was read above:
	 * it waits only for slots already taken. Checked under the lock it
	 * takes, a slot taken here keeps r attached until it is freed (the
	 * ring_slot() calls below read df.ring).
	 */
	if (df.ring != r) {
		spin_unlock(&df.lock);
		return reply(vcpu, resp_gva, req.seq, -DEVFILE_ENODEV);
	}
	for (i = 0; i < DEVFILE_RING_SLOTS && df.slot[i].vm; i++)
		;
	if (i == DEVFILE_RING_SLOTS) {
		spin_unlock(&df.lock);
		return reply(vcpu, resp_gva, req.seq, -DEVFILE_EBUSY);
	}
	df.slot[i].vm = vm;
	spin_unlock(&df.lock);
	df.slot[i].vcpu = vcpu;
	df.slot[i].cr3 = arch->guest_cr3(vcpu) & 0x000ffffffffff000ULL;
	df.slot[i].la57 = arch->guest_cr4(vcpu) & CR4_LA57;
	df.slot[i].windows = 0;
	df.slot[i].mapped = 0;
	df.slot[i].faultin = 0;
	df.slot[i].async = 0;
	df.slot[i].done = 0;
	df.slot[i].mapping = 0;
	df.slot[i].completing = 0;
	df.slot[i].op = req.op;
	df.slot[i].gmapped = false;
	df.slot[i].seq = req.seq;
	vm->df_calls++;
	vm->df_inflight++;
	s = ring_slot(i);
	s->state = DEVFILE_SLOT_FILLING;
	s->vm_id = vm->id;
	s->mm_key = df.slot[i].cr3;
	s->fault_va = 0;
	s->cancel = 0;
	memcpy(&s->req, &req, sizeof(req));
	memset(&s->resp, 0, sizeof(s->resp));
	df.slot[i].t_submit = rdtsc();
	__atomic_store_n(&s->state, DEVFILE_SLOT_SUBMITTED, __ATOMIC_RELEASE);
	/*
	 * A polling server sees the request by itself. The fence orders the
	 * store above before the load of polling (the shim's side has the
	 * mirror image), so that one of the two always sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&r->polling, __ATOMIC_RELAXED))
		notify(df.driver_apic, df.vector);
	else
		vm->df_polled++;

	while (!__atomic_load_n(&df.slot[i].done, __ATOMIC_ACQUIRE)) {
		if (fast_done(i, __atomic_load_n(&s->state, __ATOMIC_ACQUIRE)))
			break;
		if (!driver_running()) {
			/* The driver VM is gone: nothing will answer. */
			__atomic_store_n(&df.slot[i].vm, NULL,
					 __ATOMIC_RELEASE);
			vm->df_inflight--;
			return reply(vcpu, resp_gva, req.seq, -DEVFILE_ENODEV);
		}
		if (df.guest_vector[vm->id] &&
		    (++spins > SPIN_BEFORE_ASYNC ||
		     __atomic_load_n(&df.slot[i].faultin, __ATOMIC_ACQUIRE))) {
			struct devfile_resp resp;

			memset(&resp, 0, sizeof(resp));
			resp.seq = req.seq;
			resp.ret = -DEVFILE_EINPROGRESS;
			resp.handle = i;
			vm->df_async++;
			/*
			 * From here the guest waits for our interrupt; a
			 * completion that raced in is signalled below. The
			 * flag in the ring makes the shim COMPLETE; one that
			 * wrote DONE just before is taken here.
			 */
			__atomic_store_n(&df.slot[i].async, 1,
					 __ATOMIC_SEQ_CST);
			if (fast_done(i, __atomic_fetch_or(&s->state,
							   DEVFILE_SLOT_ASYNC,
							   __ATOMIC_SEQ_CST))) {
				vm->df_async--;
				break;
			}
			if (__atomic_load_n(&df.slot[i].done, __ATOMIC_SEQ_CST))
				notify(vcpu->apic_id, df.guest_vector[vm->id]);
			return gva_write(vcpu, resp_gva, &resp, sizeof(resp));
		}
		/* The driver VM may be revoking a frame of ours meanwhile. */
		vcpu_flush_requested(vcpu);
		cpu_relax();
	}
	vm->df_timed++;
	vm->df_driver_tsc += df.slot[i].t_done - df.slot[i].t_submit;
	ret = finish(vcpu, i, resp_gva);
	vm->df_call_tsc += rdtsc() - t0;
	return ret;
}

/* The driver VM's own slot argument, checked; df.lock held. */
static int taken_slot(struct vcpu *vcpu, u64 i)
{
	if (vcpu->vm->role != VM_ROLE_DRIVER || !df.ring ||
	    i >= DEVFILE_RING_SLOTS || !df.slot[i].vm || df.slot[i].done ||
	    df.slot[i].completing)
		return -1;
	return 0;
}

/*
 * The slot of a driver call (MAP, GMAP, FAULTIN), checked and held until
 * unhold_slot(): its guest cannot take it as done meanwhile (fast_done,
 * then finish() frees it, and a new CALL may take it) and COMPLETE waits
 * for the call to end. Returns the slot's guest; NULL: refused.
 */
static struct vm *hold_slot(struct vcpu *vcpu, u64 i)
{
	struct vm *g = NULL;

	spin_lock(&df.lock);
	if (!taken_slot(vcpu, i)) {
		g = df.slot[i].vm;
		df.slot[i].mapping++;
	}
	spin_unlock(&df.lock);
	return g;
}

static void unhold_slot(u64 i)
{
	spin_lock(&df.lock);
	df.slot[i].mapping--;
	spin_unlock(&df.lock);
}

/*
 * FETCH (user guest): rdi = slot from -EINPROGRESS, rsi = response. 0 and
 * the response when done; DEVIRT_FETCH_FAULTIN with resp.v[0] = the
 * address (| 1 for write) when the driver needs a page of the process
 * that is not present yet: the stub faults it in and RESUMEs.
 */
static s64 hc_fetch(struct vcpu *vcpu, u64 i, u64 resp_gva)
{
	u64 f;
	u32 st;

	if (i >= DEVFILE_RING_SLOTS || df.slot[i].vm != vcpu->vm)
		return DEVIRT_EINVAL;
	if (__atomic_load_n(&df.slot[i].done, __ATOMIC_ACQUIRE))
		return finish(vcpu, (u32)i, resp_gva);
	/*
	 * The shim wrote DONE itself, so no COMPLETE (and no interrupt) will
	 * come, yet this request went asynchronous: its ASYNC flag was lost.
	 * A shim whose cmpxchg lost its LOCK prefix did that (one-CPU driver
	 * VM kernels patch it out; devfile_transport.c uses sync_cmpxchg() now).
	 * After DONE the slot is ours: take it, and say so.
	 */
	st = __atomic_load_n(&ring_slot((u32)i)->state, __ATOMIC_ACQUIRE);
	if ((st & ~DEVFILE_SLOT_ASYNC) == DEVFILE_SLOT_DONE &&
	    fast_done((u32)i, DEVFILE_SLOT_DONE)) {
		if (++df.lost_completions <= REFUSALS_LOGGED)
			pr_info("[%s] devfile: slot %lu done without its completion (state 0x%x); taken by FETCH\n",
				vcpu->vm->name, i, st);
		return finish(vcpu, (u32)i, resp_gva);
	}
	f = __atomic_load_n(&df.slot[i].faultin, __ATOMIC_ACQUIRE);
	if (f & 2) {
		struct devfile_resp resp;
		s64 r;

		memset(&resp, 0, sizeof(resp));
		resp.ret = -DEVFILE_EINPROGRESS;
		resp.handle = i;
		resp.v[0] = f & ~2ULL;
		r = gva_write(vcpu, resp_gva, &resp, sizeof(resp));
		return r ? r : DEVIRT_FETCH_FAULTIN;
	}
	return DEVIRT_EAGAIN;
}

/*
 * FAULTIN (driver VM): rdi = slot, rsi = user address | 1 for write. The
 * page is not present in the process's tables; ask its guest (which must
 * run asynchronously) to fault it in. The shim waits for fault_va in the
 * slot to clear, then maps again.
 */
static s64 hc_faultin(struct vcpu *vcpu, u64 i, u64 va)
{
	struct vm *g;
	s64 ret = 0;

	if ((va & ~1ULL) >= (1ULL << 47))
		return DEVIRT_EINVAL;
	g = hold_slot(vcpu, i);
	if (!g)
		return DEVIRT_EINVAL;
	if (!df.guest_vector[g->id] || !df.slot[i].vcpu) {
		ret = DEVIRT_EPERM; /* a synchronous guest cannot help */
	} else {
		ring_slot((u32)i)->fault_va = (va & ~(PAGE_SIZE - 2)) | 2;
		__atomic_store_n(&df.slot[i].faultin,
				 (va & ~(PAGE_SIZE - 2)) | 2, __ATOMIC_RELEASE);
		notify(df.slot[i].vcpu->apic_id, df.guest_vector[g->id]);
	}
	unhold_slot(i);
	return ret;
}

/*
 * CANCEL (user guest): rdi = slot. Its caller is dying: the shim
 * interrupts the operation (a blocked read returns), and the guest still
 * collects the completion with FETCH, which frees the slot.
 */
static s64 hc_cancel(struct vcpu *vcpu, u64 i)
{
	if (i >= DEVFILE_RING_SLOTS || df.slot[i].vm != vcpu->vm)
		return DEVIRT_EINVAL;
	ring_slot((u32)i)->cancel = 1;
	notify(df.driver_apic, df.vector);
	return 0;
}

/* RESUME (user guest): rdi = slot; the page was faulted in (or not). */
static s64 hc_resume(struct vcpu *vcpu, u64 i)
{
	if (i >= DEVFILE_RING_SLOTS || df.slot[i].vm != vcpu->vm ||
	    !(df.slot[i].faultin & 2))
		return DEVIRT_EINVAL;
	__atomic_store_n(&df.slot[i].faultin, 0, __ATOMIC_RELEASE);
	ring_slot((u32)i)->fault_va = 0;
	notify(df.driver_apic, df.vector);
	return 0;
}

/* REGISTER (user guest): rdi = the stub's vector for completions. */
static s64 hc_register(struct vcpu *vcpu, u64 vector)
{
	if (vcpu->vm->role != VM_ROLE_GUEST || (vector && vector < 0x20) ||
	    vector > 0xff)
		return DEVIRT_EINVAL;
	df.guest_vector[vcpu->vm->id] = (u32)vector;
	return 0;
}

/*
 * MAP (driver VM): rdi = slot | (first window index << 8), rsi = the
 * requesting process's user address (page aligned) | 1 for write access,
 * rdx = pages. Each page is looked up in that process's page tables (user
 * pages only, writable if asked) and must be RAM of its VM; it then
 * appears at window_base + (slot * per_slot + index) pages in the driver
 * VM, until COMPLETE. Returns how many pages were mapped: fewer than
 * asked when the next one is not the caller's.
 */
static s64 hc_map(struct vcpu *vcpu, u64 arg, u64 va, u64 pages)
{
	u64 i = arg & 0xff, idx = arg >> 8, n;
	bool write = va & 1;
	struct gva_run run;
	struct vm *g;
	struct vm *d = vcpu->vm;

	va &= ~(PAGE_SIZE - 1);
	if (i >= DEVFILE_RING_SLOTS || idx >= WINDOW_PAGES_PER_SLOT ||
	    pages > WINDOW_PAGES_PER_SLOT - idx)
		return DEVIRT_EINVAL;
	/* Open against fast_done(): a slot taken as done maps no more. */
	g = hold_slot(vcpu, i);
	if (!g)
		return DEVIRT_EINVAL;
	run.region = ~0ULL;
	for (n = 0; n < pages; n++, va += PAGE_SIZE) {
		u64 gpa, win;
		struct s2_lookup l;

		/* User addresses only: the lower half (SDM 3.3.7.1). */
		if (va >= (1ULL << 47) ||
		    gva_walk64_run(g, df.slot[i].cr3, df.slot[i].la57, va,
				   GVA_USER | (write ? GVA_WRITE : 0), &gpa,
				   &run) ||
		    !s2_translate(&g->s2, gpa, &l) || l.memtype != S2_MT_WB)
			break;
		win = df.window_base +
		      (i * WINDOW_PAGES_PER_SLOT + idx + n) * PAGE_SIZE;
		if (s2_map(&d->s2, win, l.hpa & ~(PAGE_SIZE - 1), PAGE_SIZE,
			   write ? S2_PERM_R | S2_PERM_W : S2_PERM_R, S2_MT_WB))
			break;
	}
	/* Replacing a window page needs the old translation gone. */
	arch->s2_flush(vcpu);
	spin_lock(&df.lock);
	if (idx + n > df.slot[i].windows)
		df.slot[i].windows = (u32)(idx + n);
	df.slot[i].mapped += (u32)n;
	df.slot[i].mapping--;
	spin_unlock(&df.lock);
	__atomic_add_fetch(&g->df_window_pages, n, __ATOMIC_RELAXED);
	return (s64)n;
}

/*
 * COMPLETE (driver VM): rdi = slot. The response in the ring is final.
 * Every window of the slot is revoked here, on the driver VM's CPU, before
 * the guest sees the result: the driver keeps no access to the process.
 */
static s64 hc_complete(struct vcpu *vcpu, u64 i)
{
	struct vm *g;

	/*
	 * One COMPLETE per request, and from here no MAP, GMAP or FAULTIN
	 * (taken_slot), nor the guest taking it as done (fast_done). Those
	 * already running end first: a window MAP opens after the revocation
	 * below would stay open.
	 */
	spin_lock(&df.lock);
	if (taken_slot(vcpu, i)) {
		spin_unlock(&df.lock);
		return DEVIRT_EINVAL;
	}
	g = df.slot[i].vm;
	df.slot[i].completing = 1;
	spin_unlock(&df.lock);
	while (__atomic_load_n(&df.slot[i].mapping, __ATOMIC_ACQUIRE))
		cpu_relax();
	if (df.slot[i].windows) {
		s2_unmap(&vcpu->vm->s2,
			 df.window_base + i * WINDOW_PAGES_PER_SLOT * PAGE_SIZE,
			 (u64)df.slot[i].windows * PAGE_SIZE);
		arch->s2_flush(vcpu);
		df.slot[i].windows = 0;
		__atomic_sub_fetch(&g->df_window_pages, df.slot[i].mapped,
				   __ATOMIC_RELAXED);
		df.slot[i].mapped = 0;
	}
	df.slot[i].t_done = rdtsc();
	__atomic_store_n(&df.slot[i].done, 1, __ATOMIC_SEQ_CST);
	/* Its guest stopped: nobody will FETCH (devfile_vm_stopped). */
	if (__atomic_load_n(&g->state, __ATOMIC_SEQ_CST) == DEVIRT_VM_STOPPED) {
		spin_lock(&df.lock);
		if (df.slot[i].vm == g)
			free_orphan_locked(i);
		spin_unlock(&df.lock);
		return 0;
	}
	/* A guest still spinning in CALL needs no interrupt (no exit). */
	if (df.guest_vector[g->id] && df.slot[i].vcpu &&
	    __atomic_load_n(&df.slot[i].async, __ATOMIC_SEQ_CST))
		notify(df.slot[i].vcpu->apic_id, df.guest_vector[g->id]);
	return 0;
}

/* The driver VM's RAM (its map's MEM_RAM ranges): cacheable memory. */
static bool driver_ram(struct vm *d, u64 frame)
{
	for (u32 r = 0; r < d->nr_mem; r++)
		if (d->mem[r].type == MEM_RAM && frame >= d->mem[r].base &&
		    frame - d->mem[r].base < d->mem[r].size)
			return true;
	return false;
}

/*
 * A free page of guest @id's device window, marked used; df.lock held.
 * Returns its index, or GUEST_DEVWIN_PAGES when the window is full.
 */
static u64 devwin_alloc_locked(u32 id)
{
	u64 *used = df.devwin_used[id];
	u64 start = df.devwin_next[id] % GUEST_DEVWIN_PAGES;

	for (u64 n = 0; n < GUEST_DEVWIN_PAGES; n++) {
		u64 p = (start + n) % GUEST_DEVWIN_PAGES;

		if (used[p / 64] == ~0ULL) {
			/* A full word: go to the next one. */
			n += 63 - p % 64;
			continue;
		}
		if (!(used[p / 64] & (1ULL << (p % 64)))) {
			used[p / 64] |= 1ULL << (p % 64);
			df.devwin_next[id] = p + 1;
			return p;
		}
	}
	return GUEST_DEVWIN_PAGES;
}

static void devwin_free_locked(u32 id, u64 p)
{
	df.devwin_used[id][p / 64] &= ~(1ULL << (p % 64));
}

/*
 * GMAP (driver VM), zero-copy mmap: rdi = slot of the guest's FAULT
 * request, rsi = a driver-physical frame | memtype (DEVFILE_MT_*, low
 * bits), rdx = 1 for writable. Only a FAULT request gets a frame, and one:
 * a GMAP for any other request, or a second one, is refused. The frame must
 * be the driver VM's own RAM or MMIO; MMIO only uncached or write-combined
 * (a write-back mapping lets the CPU read device registers speculatively,
 * SDM 11.3). It is mapped into the requesting guest's device window, at a
 * free page (GUNMAP frees them); returns the guest-physical address for the
 * stub to insert.
 */
static s64 hc_gmap(struct vcpu *vcpu, u64 i, u64 frame, u64 writable)
{
	u32 mt = frame & 3, smt;
	struct s2_lookup l;
	struct vm *g;
	u64 gpa, p;

	frame &= ~(PAGE_SIZE - 1);
	if (mt > DEVFILE_MT_WC || writable > 1)
		return DEVIRT_EINVAL;
	g = hold_slot(vcpu, i);
	if (!g)
		return DEVIRT_EINVAL;
	if (!s2_translate(&vcpu->vm->s2, frame, &l) || l.hpa != frame ||
	    (frame >= df.window_base && frame < df.window_base + WINDOW_SIZE)) {
		unhold_slot(i);
		return DEVIRT_EFAULT; /* not the driver VM's own */
	}
	if (mt == DEVFILE_MT_WB && !driver_ram(vcpu->vm, frame)) {
		unhold_slot(i);
		return DEVIRT_EINVAL;
	}
	spin_lock(&df.lock);
	if (df.slot[i].op != DEVFILE_OP_FAULT || df.slot[i].gmapped) {
		spin_unlock(&df.lock);
		unhold_slot(i);
		return DEVIRT_EINVAL;
	}
	p = devwin_alloc_locked(g->id);
	if (p == GUEST_DEVWIN_PAGES) {
		spin_unlock(&df.lock);
		unhold_slot(i);
		return DEVIRT_ENOMEM;
	}
	df.slot[i].gmapped = true;
	spin_unlock(&df.lock);
	gpa = GUEST_DEVWIN_BASE + p * PAGE_SIZE;
	smt = mt == DEVFILE_MT_UC ? S2_MT_UC :
	      mt == DEVFILE_MT_WC ? S2_MT_WC :
				    S2_MT_WB;
	/* The guest's own CPU unmaps (GUNMAP) while this CPU maps. */
	spin_lock(&df.s2_lock);
	if (s2_map(&g->s2, gpa, frame, PAGE_SIZE,
		   writable ? S2_PERM_R | S2_PERM_W : S2_PERM_R, smt)) {
		spin_unlock(&df.s2_lock);
		spin_lock(&df.lock);
		devwin_free_locked(g->id, p);
		spin_unlock(&df.lock);
		unhold_slot(i);
		return DEVIRT_ENOMEM;
	}
	spin_unlock(&df.s2_lock);
	__atomic_add_fetch(&g->df_guest_pages, 1, __ATOMIC_RELAXED);
	unhold_slot(i);
	return (s64)gpa;
}

/*
 * A run of @pages pages at @gpa inside the device window. Counted against
 * the room left: gpa + pages * PAGE_SIZE wraps for a gpa near 2^64, and a
 * loop would then reach the guest's RAM from guest-physical 0.
 */
static bool devwin_range(u64 gpa, u64 pages)
{
	return !(gpa & (PAGE_SIZE - 1)) && gpa >= GUEST_DEVWIN_BASE &&
	       gpa <= GUEST_DEVWIN_END &&
	       pages <= (GUEST_DEVWIN_END - gpa) / PAGE_SIZE;
}

static bool bit_test(const u64 *map, u64 p)
{
	return map[p / 64] & (1ULL << (p % 64));
}

/*
 * GUNMAP (user guest, on its own CPU): rdi = guest-physical address in its
 * device window, rsi = pages. The frames leave its second-level tables
 * and its TLB before the call returns; returns how many were mapped.
 */
static s64 hc_gunmap(struct vcpu *vcpu, u64 gpa, u64 pages)
{
	struct vm *g = vcpu->vm;
	u64 n = 0;

	if (g->role != VM_ROLE_GUEST || !devwin_range(gpa, pages))
		return DEVIRT_EINVAL;
	spin_lock(&df.s2_lock);
	for (u64 p = 0; p < pages; p++) {
		u64 i = (gpa - GUEST_DEVWIN_BASE) / PAGE_SIZE + p;
		struct s2_lookup l;
		bool mapped = s2_translate(&g->s2, gpa + p * PAGE_SIZE, &l);

		if (mapped) {
			s2_unmap(&g->s2, gpa + p * PAGE_SIZE, PAGE_SIZE);
			n++;
		}
		/*
		 * The page may be given again: this CPU flushes before the
		 * guest runs. Only a mapped or revoked page is freed: one a
		 * GMAP has taken but not mapped yet stays taken. (Order:
		 * s2_lock, then df.lock; nothing takes them the other way.)
		 */
		spin_lock(&df.lock);
		if (mapped || bit_test(df.devwin_revoked[g->id], i)) {
			df.devwin_revoked[g->id][i / 64] &= ~(1ULL << (i % 64));
			devwin_free_locked(g->id, i);
		}
		spin_unlock(&df.lock);
	}
	spin_unlock(&df.s2_lock);
	arch->s2_flush(vcpu);
	__atomic_sub_fetch(&g->df_guest_pages, n, __ATOMIC_RELAXED);
	return (s64)n;
}

/*
 * GREVOKE (driver VM): rdi = user guest's VM id, rsi = guest-physical
 * address in its device window, rdx = pages. The driver VM's kernel is
 * about to move, zap or free the frames there (the shim's mmu notifier on
 * the mirror): they leave the guest's second-level tables, and every CPU
 * of the guest has flushed its TLB, before this returns. The window pages
 * stay taken until the guest's GUNMAP; its stub is told (NOTE_REVOKE) to
 * drop its page-table entries, and accesses wait meanwhile. Only takes
 * away: the driver VM gave these frames and may take them back.
 * Returns the number of pages that were mapped.
 */
static s64 hc_grevoke(struct vcpu *vcpu, u64 vm_id, u64 gpa, u64 pages)
{
	struct vm *g;
	u64 n = 0;

	if (vcpu->vm->role != VM_ROLE_DRIVER)
		return DEVIRT_EPERM;
	if (vm_id >= vm_count() || !devwin_range(gpa, pages) || !pages)
		return DEVIRT_EINVAL;
	g = vm_get((u32)vm_id);
	if (!g || g->role != VM_ROLE_GUEST || !g->nr_vcpus)
		return DEVIRT_EINVAL;
	spin_lock(&df.s2_lock);
	for (u64 p = 0; p < pages; p++) {
		u64 i = (gpa - GUEST_DEVWIN_BASE) / PAGE_SIZE + p;
		struct s2_lookup l;

		if (!s2_translate(&g->s2, gpa + p * PAGE_SIZE, &l))
			continue;
		s2_unmap(&g->s2, gpa + p * PAGE_SIZE, PAGE_SIZE);
		spin_lock(&df.lock);
		df.devwin_revoked[g->id][i / 64] |= 1ULL << (i % 64);
		spin_unlock(&df.lock);
		n++;
	}
	spin_unlock(&df.s2_lock);
	if (!n)
		return 0;
	/* Before the driver VM may reuse a frame: no TLB keeps it. */
	if (!vm_flush_remote(g))
		pr_err("[%s] devfile: frames at 0x%lx revoked, TLB flush not confirmed\n",
		       g->name, gpa);
	__atomic_sub_fetch(&g->df_guest_pages, n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&g->df_revoked, n, __ATOMIC_RELAXED);
	queue_note(g, DEVFILE_NOTE_REVOKE, (u32)MIN(pages, 0xffffffffULL), gpa);
	return (s64)n;
}

/* A stall gives up after this long: the guest may never drop the page. */
#define STALL_MS 100

/*
 * A user guest touched a page of its device window that the driver VM
 * revoked and the guest has not given back yet: its process is about to
 * re-fault it (NOTE_REVOKE), so let the vCPU retry, with interrupts open
 * to that note, rather than drop its store. A guest that keeps the page
 * (hostile, or interrupts off) gets, after STALL_MS, what any access
 * outside its memory gets (emulate.c).
 */
bool devfile_stage2_stall(struct vcpu *vcpu, u64 gpa)
{
	struct vm *g = vcpu->vm;
	u64 i, now, hz = boot_info->tsc_hz ? boot_info->tsc_hz : 1000000000ULL;

	if (g->role != VM_ROLE_GUEST || gpa < GUEST_DEVWIN_BASE ||
	    gpa >= GUEST_DEVWIN_END)
		return false;
	i = (gpa - GUEST_DEVWIN_BASE) / PAGE_SIZE;
	if (!bit_test(df.devwin_revoked[g->id], i) ||
	    !(vcpu->regs.rflags & (1u << 9))) /* RFLAGS.IF */
		return false;
	now = rdtsc();
	if (vcpu->stall_gpa != (gpa & ~(PAGE_SIZE - 1))) {
		vcpu->stall_gpa = gpa & ~(PAGE_SIZE - 1);
		vcpu->stall_tsc = now;
		/* The note may have been dropped (full queue): again. */
		queue_note(g, DEVFILE_NOTE_REVOKE, 1, vcpu->stall_gpa);
	}
	if (now - vcpu->stall_tsc > hz / 1000 * STALL_MS)
		return false;
	g->df_stalls++;
	return true;
}

/*
 * NOTE (driver VM): rdi = guest VM id, rsi = type | events << 32,
 * rdx = handle. Queued for the guest, which is interrupted with its
 * vector and collects notes with NOTES. A full queue drops the oldest
 * kind of information only: poll and SIGIO notes are idempotent, and the
 * stub re-polls its handles when it sees the drop count change.
 */
static s64 hc_note(struct vcpu *vcpu, u64 vm_id, u64 what, u64 handle)
{
	struct vm *g;

	/* Whole 64 bits: vm_get() sees only the low 32. */
	if (vcpu->vm->role != VM_ROLE_DRIVER || vm_id >= CFG_MAX_VMS)
		return DEVIRT_EINVAL;
	g = vm_get((u32)vm_id);
	if (!g || g->role != VM_ROLE_GUEST || !g->nr_vcpus)
		return DEVIRT_EINVAL;
	return queue_note(g, (u32)what, (u32)(what >> 32), handle);
}

/*
 * NOTES (user guest): rdi = array of struct devfile_note_msg, rsi = its
 * length in entries. Returns how many were copied out (and removed).
 */
static s64 hc_notes(struct vcpu *vcpu, u64 gva, u64 max)
{
	u32 id = vcpu->vm->id;
	s64 n = 0;

	if (vcpu->vm->role != VM_ROLE_GUEST)
		return DEVIRT_EPERM;
	for (; (u64)n < max; n++) {
		struct devfile_note_msg m;

		spin_lock(&df.lock);
		if (df.notes[id].head == df.notes[id].tail) {
			spin_unlock(&df.lock);
			break;
		}
		m = df.notes[id].q[df.notes[id].head % NOTE_QUEUE];
		df.notes[id].head++;
		spin_unlock(&df.lock);
		if (gva_write(vcpu, gva + (u64)n * sizeof(m), &m, sizeof(m)))
			return n ? n : DEVIRT_EFAULT;
	}
	return n;
}

static u64 tsc_to_ns(u64 tsc)
{
	u64 hz = boot_info->tsc_hz ? boot_info->tsc_hz : 1000000000ULL;

	/* Split to keep the product in 64 bits for sums of hours. */
	return tsc / hz * 1000000000ULL + tsc % hz * 1000000000ULL / hz;
}

/* INFO (any VM): rdi = struct devirt_devfile_info, rsi = its size. */
static s64 hc_info(struct vcpu *vcpu, u64 gva, u64 size)
{
	struct devirt_devfile_info info;
	struct vm *vm = vcpu->vm;

	if (size < offsetof(struct devirt_devfile_info, polled))
		return DEVIRT_EINVAL;
	memset(&info, 0, sizeof(info));
	info.attached = df.ring != NULL;
	info.calls = vm->df_calls;
	info.async = vm->df_async;
	info.inflight = vm->df_inflight;
	info.window_pages = vm->df_window_pages;
	info.guest_pages = vm->df_guest_pages;
	info.exits = vcpu->exits;
	info.polled = vm->df_polled;
	info.timed = vm->df_timed;
	info.call_ns = tsc_to_ns(vm->df_call_tsc);
	info.driver_ns = tsc_to_ns(vm->df_driver_tsc);
	info.revoked = vm->df_revoked;
	info.stalls = vm->df_stalls;
	return gva_write(vcpu, gva, &info, MIN(size, sizeof(info)));
}

s64 devfile_hypercall(struct vcpu *vcpu, u64 nr, u64 a0, u64 a1, u64 a2)
{
	switch (nr) {
	case DEVIRT_HC_DEVFILE_ATTACH:
		return hc_attach(vcpu, a0, a1, a2);
	case DEVIRT_HC_DEVFILE_CALL:
		return hc_call(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_FETCH:
		return hc_fetch(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_REGISTER:
		return hc_register(vcpu, a0);
	case DEVIRT_HC_DEVFILE_MAP:
		return hc_map(vcpu, a0, a1, a2);
	case DEVIRT_HC_DEVFILE_COMPLETE:
		return hc_complete(vcpu, a0);
	case DEVIRT_HC_DEVFILE_GMAP:
		return hc_gmap(vcpu, a0, a1, a2);
	case DEVIRT_HC_DEVFILE_GUNMAP:
		return hc_gunmap(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_GREVOKE:
		return hc_grevoke(vcpu, a0, a1, a2);
	case DEVIRT_HC_DEVFILE_INFO:
		return hc_info(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_NOTE:
		return hc_note(vcpu, a0, a1, a2);
	case DEVIRT_HC_DEVFILE_NOTES:
		return hc_notes(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_FAULTIN:
		return hc_faultin(vcpu, a0, a1);
	case DEVIRT_HC_DEVFILE_RESUME:
		return hc_resume(vcpu, a0);
	case DEVIRT_HC_DEVFILE_CANCEL:
		return hc_cancel(vcpu, a0);
	default:
		return DEVIRT_ENOSYS;
	}
}
