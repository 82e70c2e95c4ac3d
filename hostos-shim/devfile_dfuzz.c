// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_dfuzz - a hostile driver VM: random and edge-case driver-side
 * device-file hypercalls (ATTACH, MAP, COMPLETE, GMAP, GREVOKE, NOTE,
 * FAULTIN),
 * the guest-side ones from the wrong side, INFO and HV_INFO with bad
 * buffers, and unknown call numbers (issue 11; docs/guest-tests.md).
 *
 *   insmod devfile_dfuzz.ko calls=100000 [excl_calls=N excl_wait=S]
 *          [ring_at=GPA,SIZE,WINDOW_BASE] [seed=S]
 *
 * Every call's answer is predicted from what devfile/hypercalls.c promises: a
 * slot out of range, not in flight or not the caller's, a window index or
 * page count past the slot's window, a memtype, a user address past the
 * lower half, a VM id that is not a running guest's (all 64 bits of it:
 * 2^32 + 1 is not VM 1), a ring that is not page aligned, too small, not
 * the driver VM's own write-back RAM or not a ring; a window region
 * (ATTACH's rdx) that is 0, not 1 GiB aligned, wraps, ends past
 * 2^min(phys bits, 46) or holds the driver VM's RAM, devirt's or another
 * VM's memory (accepted: the shim's region, or one this module reserves
 * in the resource tree like the shim; moving there gives the old one
 * back, which the final re-attach relies on); a frame that is not
 * the driver VM's own (the window region, another VM's RAM, the
 * hypervisor's, past the stage-2 limit). Any other answer is "bad" and
 * gets a line; so does a call that wrote where it must not have.
 *
 * When it runs, and why it cannot hurt the boot's other tests. The driver
 * VM also runs the real shim, serving user guest g1 while this runs, and
 * the ABI has one ring for all: a successful (or failed) ATTACH takes the
 * shim's ring away, a COMPLETE, a MAP or a FAULTIN on a slot in flight
 * would answer or rewire one of g1's requests, a NOTE to g1 would reach
 * its stub. So it runs in two phases:
 *
 *   live (calls=): at once, beside the shim and g1. Only calls whose
 *   every argument is refused whatever the ring holds: slots >= 32
 *   (and 2^32 + k, which truncates to slot k), in-range slots only with
 *   a window index or page count out of range, a memtype of 3, a frame
 *   that is not the driver VM's own, or an address in the upper half;
 *   NOTE only to VM ids that are no guest's; no ATTACH. A slot g1 has in
 *   flight may be named, so a GMAP of a foreign frame is refused with
 *   EFAULT there (counted as gmap_on_taken) and EINVAL elsewhere.
 *
 *   exclusive (excl_calls=): only once no user guest runs (HV_INFO says
 *   none is RUNNING) and no slot of the shim's ring is in use (a stopped
 *   guest's request may still wait for the shim's COMPLETE); it waits
 *   excl_wait seconds for that, else skips. Then nothing can be in
 *   flight or come: everything goes, ATTACH included
 *   (rings of its own, valid and not, unaligned, too small, foreign,
 *   detaches), NOTEs to the stopped guests until their queues are full,
 *   COMPLETE/MAP/GMAP/FAULTIN on every slot with real frames and
 *   addresses. At the end it attaches the shim's ring again (ring_at=,
 *   devfile_transport's parameter of that name). The QEMU boot's g1 runs on,
 *   so there only the live phase runs; the VT-x boot's g1 stops after
 *   its checks, and the soak boot's crashes on purpose.
 *
 * Before and after each phase it reads the driver VM's INFO counters
 * (nothing of its own in flight or mapped; VM exits grew by at least one
 * per call), HV_INFO (the hypervisor's code checksum as at boot, the
 * driver VM's refused accesses, its state, the heap). Lines:
 *
 *   DEVIRT-DFUZZ phase live calls=N ms=T bad=B gmap_on_taken=K
 *   DEVIRT-DFUZZ bad #i phase=P nr=.. a0=.. a1=.. a2=.. ret=.. want=..
 *   DEVIRT-DFUZZ heap used_before=U used_after=U total=T
 *   DEVIRT-DFUZZ done calls=N seed=S errors_by_kind=ok:..,... by_call=...
 *                bad=B counters=consistent|drift
 */
#define pr_fmt(fmt) "devfile_dfuzz: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/ioport.h>
#include <linux/sizes.h>
#include <asm/processor.h>

#include <devfile/proto.h>
#include <devfile/ring.h>
#include <devirt/hc_linux.h>

static unsigned long calls = 100000;
module_param(calls, ulong, 0444);
MODULE_PARM_DESC(calls, "calls of the live phase");
static unsigned long excl_calls;
module_param(excl_calls, ulong, 0444);
MODULE_PARM_DESC(excl_calls, "calls of the exclusive phase (0: none)");
static unsigned int excl_wait = 600;
module_param(excl_wait, uint, 0444);
MODULE_PARM_DESC(excl_wait, "seconds to wait for the user guests to stop");
static unsigned long long seed;
module_param(seed, ullong, 0444);
MODULE_PARM_DESC(seed, "PRNG seed (0: a random one, printed)");
static char *ring_at = "";
module_param(ring_at, charp, 0444);
MODULE_PARM_DESC(ring_at, "the shim's ring: GPA,SIZE,WINDOW_BASE");

/* As devfile/hypercalls.c has them. */
#define WINDOW_PAGES_PER_SLOT 4160ULL
#define WINDOW_SIZE (1ULL << 30)
#define S2_LIMIT (1ULL << 48)
#define NOTE_QUEUE 64
#define INFO_MIN_SIZE offsetof(struct devirt_devfile_info, polled)
#define BAD_LINES 32

enum kind {
	K_OK, /* 0 */
	K_POS, /* > 0 */
	K_EINVAL,
	K_EFAULT,
	K_EPERM,
	K_ENOSYS,
	K_EBUSY,
	K_ENOMEM,
	K_EAGAIN,
	K_OTHER,
	NR_KINDS
};
static const char *const kind_name[NR_KINDS] = {
	"ok",	  "pos",   "einval", "efault", "eperm",
	"enosys", "ebusy", "enomem", "eagain", "other",
};
#define W(k) (1u << (k))

enum call {
	C_ATTACH,
	C_MAP,
	C_COMPLETE,
	C_GMAP,
	C_NOTE,
	C_FAULTIN,
	C_INFO,
	C_HV_INFO,
	C_GUEST_SIDE,
	C_UNKNOWN,
	C_GREVOKE,
	NR_CALLS
};
static const char *const call_name[NR_CALLS] = {
	"attach", "map",     "complete",   "gmap",    "note",	 "faultin",
	"info",	  "hv_info", "guest_side", "unknown", "grevoke",
};

static const u64 edges[] = {
	0,
	1,
	2,
	31,
	32,
	33,
	0xff,
	0x100,
	0xfff,
	0x1000,
	WINDOW_PAGES_PER_SLOT - 1,
	WINDOW_PAGES_PER_SLOT,
	WINDOW_PAGES_PER_SLOT + 1,
	0x7fffffffULL,
	0x80000000ULL,
	0xffffffffULL,
	1ULL << 32,
	(1ULL << 32) + 1,
	(1ULL << 47) - 1,
	1ULL << 47,
	1ULL << 48,
	1ULL << 52,
	(1ULL << 63) - 1,
	1ULL << 63,
	~0ULL - 1,
	~0ULL,
};

/* Read-only: INFO must not write here (checked after each try). */
static const u8 ro_bytes[PAGE_SIZE] __aligned(PAGE_SIZE) = { 0x5a };

static struct {
	struct rnd_state rnd;
	const char *phase;
	u64 n, bad, gmap_on_taken;
	u64 kinds[NR_KINDS], per_call[NR_CALLS];
	struct devirt_hv_info hv;
	u64 window_base; /* 0: unknown */
	u64 ring_gpa, ring_size; /* the shim's, to attach again */
	u64 limit; /* the driver VM's identity map ends here */
	struct resource own_win; /* a window region of our own */
	bool own_win_reserved;
	bool attached; /* exclusive: what the last ATTACH left */
	bool guest_stopped[DEVIRT_MAX_VMS];
	bool note_full[DEVIRT_MAX_VMS];
	u64 note_ok[DEVIRT_MAX_VMS];
	struct devfile_ring *own; /* a ring of our own */
	bool own_attached; /* maybe still devirt's: never freed then */
	size_t own_size;
	u8 *buf; /* INFO's output, with guard bytes after it */
	u8 *vbuf; /* a vmalloc page: its guard page follows */
} fz;

static u32 r32(void)
{
	return prandom_u32_state(&fz.rnd);
}

static u64 r64(void)
{
	return ((u64)r32() << 32) | r32();
}

static u32 pick(u32 n)
{
	return n ? r32() % n : 0;
}

/* An edge, a random value, or a random value of random width. */
static u64 any64(void)
{
	switch (pick(4)) {
	case 0:
	case 1:
		return edges[pick(ARRAY_SIZE(edges))];
	case 2:
		return r64();
	default:
		return r64() >> pick(64);
	}
}

/* A value >= 32 for a slot: out of range, also after truncation to u8. */
static u64 bad_slot(void)
{
	switch (pick(6)) {
	case 0:
		return 32 + pick(224);
	case 1: /* truncates to slot k */
		return (1ULL << 32) + pick(DEVFILE_RING_SLOTS);
	case 2:
		return (1ULL << 63) + pick(DEVFILE_RING_SLOTS);
	case 3:
		return ~0ULL - pick(2);
	case 4:
		return 0x100 + pick(DEVFILE_RING_SLOTS); /* u8: slot k */
	default:
		return r64() | (1ULL << (8 + pick(56)));
	}
}

static int kind_of(long r)
{
	switch (r) {
	case 0:
		return K_OK;
	case DEVIRT_EINVAL:
		return K_EINVAL;
	case DEVIRT_EFAULT:
		return K_EFAULT;
	case DEVIRT_EPERM:
		return K_EPERM;
	case DEVIRT_ENOSYS:
		return K_ENOSYS;
	case DEVIRT_EBUSY:
		return K_EBUSY;
	case DEVIRT_ENOMEM:
		return K_ENOMEM;
	case DEVIRT_EAGAIN:
		return K_EAGAIN;
	}
	return r > 0 ? K_POS : K_OTHER;
}

static void bad(const char *what, unsigned long nr, u64 a0, u64 a1, u64 a2,
		long ret, u32 want)
{
	if (++fz.bad <= BAD_LINES)
		pr_info("DEVIRT-DFUZZ bad #%llu phase=%s %s nr=0x%lx a0=0x%llx a1=0x%llx a2=0x%llx ret=%ld want=0x%x\n",
			fz.n, fz.phase, what, nr, a0, a1, a2, ret, want);
}

/* One call; its answer must be of a kind in @want. Returns it. */
static long call(enum call c, unsigned long nr, u64 a0, u64 a1, u64 a2,
		 u32 want)
{
	long r = devirt_hypercall(nr, a0, a1, a2);
	int k = kind_of(r);

	fz.n++;
	fz.kinds[k]++;
	fz.per_call[c]++;
	if (!(want & W(k)))
		bad(call_name[c], nr, a0, a1, a2, r, want);
	if (!(fz.n & 63))
		cond_resched();
	return r;
}

/* A frame that is not the driver VM's own RAM or MMIO. */
static u64 foreign_frame(void)
{
	const struct devirt_vm_desc *vm;
	u64 pages;

	switch (pick(7)) {
	case 0:
		if (fz.window_base)
			return fz.window_base +
			       (u64)pick(WINDOW_SIZE >> PAGE_SHIFT) * PAGE_SIZE;
		fallthrough;
	case 1: /* another VM's RAM */
		if (fz.hv.nr_vms > 1) {
			vm = &fz.hv.vm[1 + pick(fz.hv.nr_vms - 1)];
			pages = (vm->ram_hi - vm->ram_lo) >> PAGE_SHIFT;
			return vm->ram_lo + (u64)pick(pages) * PAGE_SIZE;
		}
		fallthrough;
	case 2: /* the hypervisor's */
		return fz.hv.hyp_base +
		       (u64)pick(fz.hv.hyp_size >> PAGE_SHIFT) * PAGE_SIZE;
	case 3: /* past the tables' reach: must not alias the driver's RAM */
		return S2_LIMIT + (virt_to_phys(fz.buf) & PAGE_MASK);
	case 4:
		return (1ULL << 63) + (virt_to_phys(fz.buf) & PAGE_MASK);
	case 5:
		return 1ULL << 52;
	default:
		return ~0ULL & PAGE_MASK;
	}
}

/* An address past the lower half: FAULTIN refuses it whatever the slot. */
static u64 upper_va(void)
{
	switch (pick(4)) {
	case 0:
		return (1ULL << 47) | pick(2);
	case 1:
		return ~0ULL - pick(2);
	case 2:
		return 0xffff800000000000ULL + (r64() >> 17);
	default:
		return r64() | (1ULL << (47 + pick(17)));
	}
}

/* A pointer no hypercall may write through, and why. */
static u64 bad_ptr(void)
{
	switch (pick(9)) {
	case 0:
		return 0;
	case 1:
		return 8 + pick(0xff0); /* the NULL page */
	case 2:
		return 1ULL << 47; /* not canonical */
	case 3:
		return (1ULL << 63) + pick(0x1000);
	case 4:
		return ~0ULL - pick(16); /* wraps past 2^64 */
	case 5:
		return (unsigned long)ro_bytes + pick(PAGE_SIZE / 2);
	case 6:
		return 0xffffffffff600000ULL; /* vsyscall: not writable */
	case 7: /* runs into the vmalloc guard page */
		return (unsigned long)fz.vbuf + PAGE_SIZE - 8 - pick(40);
	default:
		return 0x7fffffffffffULL - pick(16); /* straddles the half */
	}
}

/* --- the calls, each with the answers it may get ------------------------ */

static void f_unknown(void)
{
	static const u64 nrs[] = { DEVIRT_HC_MAX, DEVIRT_HC_MAX + 1, 0x7f,
				   0x100 };
	u64 nr;

	switch (pick(5)) {
	case 0:
		nr = nrs[pick(ARRAY_SIZE(nrs))];
		break;
	case 1: /* truncated to 32 bits, a real call */
		nr = (1ULL << 32) + pick(DEVIRT_HC_MAX);
		break;
	case 2:
		nr = (1ULL << 63) + pick(DEVIRT_HC_MAX);
		break;
	case 3:
		nr = ~0ULL - pick(4);
		break;
	default:
		nr = r64() | (1ULL << (5 + pick(59)));
	}
	call(C_UNKNOWN, nr, any64(), any64(), any64(), W(K_ENOSYS));
}

static void f_map_live(void)
{
	u64 slot, idx, pages, va = any64();

	switch (pick(3)) {
	case 0: /* no such slot */
		slot = 32 + pick(224);
		idx = any64() >> 8;
		pages = any64();
		break;
	case 1: /* index past the slot's window */
		slot = pick(DEVFILE_RING_SLOTS);
		idx = WINDOW_PAGES_PER_SLOT +
		      (pick(2) ? pick(8) : (any64() >> 9));
		pages = any64();
		break;
	default: /* more pages than the window has left */
		slot = pick(DEVFILE_RING_SLOTS);
		idx = pick(2) ? pick(WINDOW_PAGES_PER_SLOT) :
				WINDOW_PAGES_PER_SLOT - 1 - pick(2);
		pages = WINDOW_PAGES_PER_SLOT - idx + 1 +
			(pick(2) ? pick(4) : any64() >> 2);
		if (pick(4) == 0)
			pages = ~0ULL - pick(2);
	}
	call(C_MAP, DEVIRT_HC_DEVFILE_MAP, slot | (idx << 8), va, pages,
	     W(K_EINVAL));
}

static void f_complete_live(void)
{
	call(C_COMPLETE, DEVIRT_HC_DEVFILE_COMPLETE, bad_slot(), any64(),
	     any64(), W(K_EINVAL));
}

static void f_gmap_live(void)
{
	u64 slot, frame;
	long r;

	switch (pick(3)) {
	case 0:
		call(C_GMAP, DEVIRT_HC_DEVFILE_GMAP, bad_slot(), any64(),
		     any64(), W(K_EINVAL));
		return;
	case 1: /* memtype 3: none */
		slot = pick(DEVFILE_RING_SLOTS);
		call(C_GMAP, DEVIRT_HC_DEVFILE_GMAP, slot,
		     (pick(2) ? foreign_frame() : any64()) | 3, any64(),
		     W(K_EINVAL));
		return;
	default: /* a frame of no business to the driver VM */
		slot = pick(DEVFILE_RING_SLOTS);
		frame = foreign_frame() | pick(3);
		r = call(C_GMAP, DEVIRT_HC_DEVFILE_GMAP, slot, frame, pick(2),
			 W(K_EINVAL) | W(K_EFAULT));
		if (r == DEVIRT_EFAULT)
			fz.gmap_on_taken++; /* one of g1's slots in flight */
	}
}

static void f_faultin_live(void)
{
	if (pick(2))
		call(C_FAULTIN, DEVIRT_HC_DEVFILE_FAULTIN, bad_slot(), any64(),
		     any64(), W(K_EINVAL));
	else
		call(C_FAULTIN, DEVIRT_HC_DEVFILE_FAULTIN,
		     pick(DEVFILE_RING_SLOTS), upper_va(), any64(),
		     W(K_EINVAL));
}

/* A VM id that is no guest's: the driver, unconfigured, or 64-bit. */
static u64 not_a_guest(void)
{
	switch (pick(5)) {
	case 0:
		return 0;
	case 1:
		return fz.hv.nr_vms + pick(8);
	case 2: /* truncates to a guest's id */
		return (1ULL << 32) + pick(DEVIRT_MAX_VMS);
	case 3:
		return (1ULL << 63) + pick(DEVIRT_MAX_VMS);
	default:
		return r64() | (1ULL << (2 + pick(62)));
	}
}

static void f_note_live(void)
{
	u64 id = not_a_guest();

	/* The driver VM (0) is no guest; ids below 4 may be. */
	if (id && id < DEVIRT_MAX_VMS && id < fz.hv.nr_vms)
		id = 0;
	call(C_NOTE, DEVIRT_HC_DEVFILE_NOTE, id, any64(), any64(), W(K_EINVAL));
}

/*
 * GREVOKE: no guest's id, or any id with a range outside a device window
 * (unaligned, below it, wrapping past 2^64, past its end, no pages, too
 * many): refused whatever is mapped. A valid one would take g1's frames.
 */
static void f_grevoke_live(void)
{
	const u64 base = 1ULL << 36, pages = 1ULL << 20;
	const u64 end = base + pages * PAGE_SIZE;
	u64 id = pick(2) ? not_a_guest() : 1 + pick(DEVIRT_MAX_VMS - 1);
	u64 gpa, n, k;

	switch (pick(6)) {
	case 0:
		gpa = base + pick(pages) * PAGE_SIZE + 1 + pick(PAGE_SIZE - 1);
		n = 1;
		break;
	case 1:
		gpa = base - PAGE_SIZE * (1 + pick(16));
		n = 1;
		break;
	case 2:
		gpa = -(u64)PAGE_SIZE * (1 + pick(16));
		n = 1 + pick(32);
		break;
	case 3:
		k = pick(4);
		gpa = end - k * PAGE_SIZE;
		n = k + 1 + pick(1000);
		break;
	case 4:
		gpa = base + pick(pages) * PAGE_SIZE;
		n = 0;
		break;
	default:
		gpa = base;
		n = pages + 1 + (any64() >> 1);
	}
	call(C_GREVOKE, DEVIRT_HC_DEVFILE_GREVOKE, id, gpa, n, W(K_EINVAL));
}

/* The user guests' calls, from the driver VM: all refused. */
static void f_guest_side(void)
{
	u64 a = any64(), b = any64();

	switch (pick(7)) {
	case 0:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_CALL, a, b, 0, W(K_EPERM));
		break;
	case 1:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_NOTES, a, b, 0,
		     W(K_EPERM));
		break;
	case 2: /* no slot is the driver VM's */
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_FETCH,
		     pick(2) ? pick(DEVFILE_RING_SLOTS) : a, bad_ptr(), 0,
		     W(K_EINVAL));
		break;
	case 3:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_RESUME,
		     pick(2) ? pick(DEVFILE_RING_SLOTS) : a, b, 0, W(K_EINVAL));
		break;
	case 4:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_CANCEL,
		     pick(2) ? pick(DEVFILE_RING_SLOTS) : a, b, 0, W(K_EINVAL));
		break;
	case 5:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_REGISTER,
		     pick(2) ? 0x20 + pick(0xe0) : a, 0, 0, W(K_EINVAL));
		break;
	default:
		call(C_GUEST_SIDE, DEVIRT_HC_DEVFILE_GUNMAP,
		     pick(2) ? (1ULL << 36) + (u64)pick(1 << 20) * PAGE_SIZE :
			       a,
		     b, 0, W(K_EINVAL));
	}
}

static u64 info_size(void)
{
	static const u64 sizes[] = {
		0,
		1,
		INFO_MIN_SIZE - 1,
		INFO_MIN_SIZE,
		INFO_MIN_SIZE + 1,
		sizeof(struct devirt_devfile_info) - 1,
		sizeof(struct devirt_devfile_info),
		sizeof(struct devirt_devfile_info) + 1,
		PAGE_SIZE,
		1ULL << 32,
		1ULL << 63,
		~0ULL,
	};

	return pick(4) ? sizes[pick(ARRAY_SIZE(sizes))] : any64();
}

/* The bytes of fz.buf past @from must still be the fill: nothing more. */
static void check_fill(const char *what, u64 from, u64 size)
{
	u8 *p = memchr_inv(fz.buf + from, 0xa5, PAGE_SIZE - from);

	if (p)
		bad(what, 0, p - fz.buf, size, 0, *p, 0);
}

static void check_ro(const char *what, u64 ptr, u64 size)
{
	if (ro_bytes[0] != 0x5a || memchr_inv(ro_bytes + 1, 0, PAGE_SIZE - 1))
		bad(what, 0, ptr, size, 0, 0, 0);
}

static void f_info(void)
{
	u64 size = info_size(), ptr;
	bool good = pick(2);
	u32 want;
	long r;

	ptr = good ? (unsigned long)fz.buf : bad_ptr();
	want = size < INFO_MIN_SIZE ? W(K_EINVAL) :
	       good		    ? W(K_OK) :
				      W(K_EFAULT);
	memset(fz.buf, 0xa5, PAGE_SIZE);
	r = call(C_INFO, DEVIRT_HC_DEVFILE_INFO, ptr, size, any64(), want);
	if (good)
		check_fill("info overrun",
			   r ? 0 :
			       min_t(u64, size,
				     sizeof(struct devirt_devfile_info)),
			   size);
	else
		check_ro("info wrote read-only", ptr, size);
}

static void f_hv_info(void)
{
	u64 size = pick(2) ? DEVIRT_HV_INFO_SIZE_V01 - pick(2) :
			     sizeof(struct devirt_hv_info) + pick(2);
	bool good = pick(2);
	u32 want;
	long r;

	if (!pick(4))
		size = any64();
	want = size < DEVIRT_HV_INFO_SIZE_V01 ? W(K_EINVAL) :
	       good			      ? W(K_OK) :
						W(K_EFAULT);
	memset(fz.buf, 0xa5, PAGE_SIZE);
	r = call(C_HV_INFO, DEVIRT_HC_HV_INFO,
		 good ? (unsigned long)fz.buf : bad_ptr(), size, 0, want);
	if (good)
		check_fill("hv_info overrun",
			   r ? 0 :
			       min_t(u64, size, sizeof(struct devirt_hv_info)),
			   size);
	else
		check_ro("hv_info wrote read-only", 0, size);
}

/*
 * One call in a hundred is HV_INFO: devirt sums its whole code for it
 * (hyp_checksum), a hundred times the work of any other call, and on
 * Bochs that would be most of the boot's added time.
 */
static void live_one(void)
{
	u32 k = pick(100);

	if (k < 11)
		f_unknown();
	else if (k < 22)
		f_map_live();
	else if (k < 33)
		f_complete_live();
	else if (k < 49)
		f_gmap_live();
	else if (k < 55)
		f_grevoke_live();
	else if (k < 66)
		f_faultin_live();
	else if (k < 77)
		f_note_live();
	else if (k < 88)
		f_guest_side();
	else if (k < 99)
		f_info();
	else
		f_hv_info();
}

/* --- exclusive: no guest runs --------------------------------------------- */

/* Our ring, valid unless @junk, its slots' states scribbled on. */
static void own_ring_fill(bool junk)
{
	struct devfile_ring *r = fz.own;

	memset(r, 0, fz.own_size);
	r->magic = DEVFILE_RING_MAGIC;
	r->nr_slots = DEVFILE_RING_SLOTS;
	r->vector = pick(2) ? 0x20 + pick(0xe0) : (pick(2) ? 0x20 : 0xff);
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++)
		r->slot[i].state = 0xdead0000 | i;
	if (!junk)
		return;
	switch (pick(3)) {
	case 0:
		r->magic = pick(2) ? r32() | 1 : ~DEVFILE_RING_MAGIC;
		break;
	case 1:
		r->nr_slots = pick(2) ? DEVFILE_RING_SLOTS + 1 - 2 * pick(2) :
					(pick(2) ? 0 : ~0u);
		break;
	default: {
		static const u32 vec[] = {
			0, 1, 0x1f, 0x100, 0x1020, 0xffffffff
		};

		r->vector = vec[pick(ARRAY_SIZE(vec))];
	}
	}
}

/* After a refused ATTACH: devirt wrote nothing into our ring. */
static void own_ring_untouched(const char *what)
{
	struct devfile_ring *r = fz.own;

	if (r->window_base || r->window_pages_per_slot)
		bad(what, 0, r->window_base, r->window_pages_per_slot, 0, 0, 0);
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++) {
		if (r->slot[i].state != (0xdead0000 | i)) {
			bad(what, 0, i, r->slot[i].state, 0, 0, 0);
			return;
		}
	}
}

/* A window region devirt must accept: the shim's, or our own; 0: none. */
static u64 good_window(void)
{
	if (fz.own_win_reserved && (pick(2) || !fz.window_base))
		return fz.own_win.start;
	return fz.window_base;
}

/* 1 GiB aligned, down: the region that holds @a. */
static u64 gib_of(u64 a)
{
	return a & ~(WINDOW_SIZE - 1);
}

/* A window region devirt must refuse, whatever the ring. */
static u64 bad_window(void)
{
	u64 good = good_window() ? good_window() : fz.limit - WINDOW_SIZE;
	const struct devirt_vm_desc *vm;
	u64 pages;

	switch (pick(12)) {
	case 0:
		return 0;
	case 1: /* not 1 GiB aligned */
		return good + PAGE_SIZE * (1 + pick(SZ_256K - 1));
	case 2:
		return good + 1 + pick(PAGE_SIZE - 1);
	case 3: /* ends past the limit */
		return fz.limit + WINDOW_SIZE * pick(4);
	case 4: /* wraps: ~0 & ~(1 GiB - 1) */
		return 0xffffffffc0000000ULL - WINDOW_SIZE * pick(2);
	case 5:
		return gib_of(r64() | (1ULL << (46 + pick(18))));
	case 6: /* the driver VM's RAM: our own pages, its last one */
		return gib_of(virt_to_phys(pick(2) ? fz.buf : (u8 *)fz.own));
	case 7:
		return gib_of(fz.hv.vm[0].ram_hi - PAGE_SIZE);
	case 8: /* devirt's */
		return gib_of(fz.hv.hyp_base +
			      (u64)pick(fz.hv.hyp_size >> PAGE_SHIFT) *
				      PAGE_SIZE);
	case 9: /* another VM's RAM */
		if (fz.hv.nr_vms > 1) {
			vm = &fz.hv.vm[1 + pick(fz.hv.nr_vms - 1)];
			pages = (vm->ram_hi - vm->ram_lo) >> PAGE_SHIFT;
			return gib_of(vm->ram_lo +
				      (u64)pick(pages) * PAGE_SIZE);
		}
		return 0;
	case 10:
		return ~0ULL - pick(2);
	default:
		return edges[pick(ARRAY_SIZE(edges))] | 1;
	}
}

static void f_attach(void)
{
	u64 gpa = virt_to_phys(fz.own), size = sizeof(struct devfile_ring);
	struct devfile_ring *r = fz.own;
	u64 win = good_window();
	long ret;

	switch (pick(7)) {
	case 0: /* detach */
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, 0, any64(), any64(),
		     W(K_OK));
		fz.attached = false;
		return;
	case 1: /* ours, valid: the size may be anything large enough */
		own_ring_fill(false);
		if (!win) { /* no region known to be free: none is valid */
			call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size,
			     bad_window(), W(K_EINVAL));
			break;
		}
		if (pick(2))
			size = pick(2) ? ~0ULL : size + any64() % PAGE_SIZE;
		ret = call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size, win,
			   W(K_OK));
		fz.attached = !ret;
		if (ret)
			return;
		if (r->window_base != win ||
		    r->window_pages_per_slot != WINDOW_PAGES_PER_SLOT)
			bad("attach window", 0, r->window_base,
			    r->window_pages_per_slot, 0, 0, 0);
		for (int i = 0; i < DEVFILE_RING_SLOTS; i++)
			if (r->slot[i].state != DEVFILE_SLOT_FREE) {
				bad("attach slot state", 0, i, r->slot[i].state,
				    0, 0, 0);
				break;
			}
		return;
	case 2: /* ours, valid, but its window region is not */
		own_ring_fill(false);
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size,
		     bad_window(), W(K_EINVAL));
		break;
	case 3: /* not page aligned; the ring is checked first */
		own_ring_fill(false);
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH,
		     gpa + 1 + pick(PAGE_SIZE - 1), size,
		     pick(2) ? win : bad_window(), W(K_EINVAL));
		break;
	case 4: /* too small */
		own_ring_fill(false);
		size = pick(2) ? size - 1 - pick(8) : edges[pick(6)];
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size,
		     pick(2) ? win : bad_window(), W(K_EINVAL));
		break;
	case 5: /* not a ring */
		own_ring_fill(true);
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size,
		     pick(2) ? win : bad_window(), W(K_EINVAL));
		break;
	default: { /* not the driver VM's own RAM, or not all of it */
		u64 drv_end = fz.hv.vm[0].ram_hi;

		bool end = !pick(3);

		own_ring_fill(false);
		gpa = end ? drv_end - PAGE_SIZE : foreign_frame();
		/*
		 * Past the end of its RAM may be its ACPI tables (its own,
		 * write-back): then the bytes there are no ring.
		 */
		call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, gpa, size,
		     pick(2) ? win : bad_window(),
		     end ? W(K_EFAULT) | W(K_EINVAL) : W(K_EFAULT));
	}
	}
	/* Refused: the old ring is gone too (hypercalls.c's hc_attach). */
	fz.attached = false;
	own_ring_untouched("attach refused but wrote");
}

/* No slot can be in flight: every slot call is refused, whatever else. */
static void f_slots_excl(void)
{
	u64 slot = pick(4) ? pick(DEVFILE_RING_SLOTS) : any64();
	u64 frame = pick(2) ? virt_to_phys(fz.own) : any64();
	u64 va = pick(2) ? (unsigned long)fz.buf : any64();

	switch (pick(4)) {
	case 0:
		call(C_MAP, DEVIRT_HC_DEVFILE_MAP,
		     (slot & 0xff) | ((u64)pick(WINDOW_PAGES_PER_SLOT) << 8),
		     va | pick(2), pick(16), W(K_EINVAL));
		break;
	case 1:
		call(C_COMPLETE, DEVIRT_HC_DEVFILE_COMPLETE, slot, 0, 0,
		     W(K_EINVAL));
		break;
	case 2:
		call(C_GMAP, DEVIRT_HC_DEVFILE_GMAP, slot, frame | pick(3),
		     pick(2), W(K_EINVAL));
		break;
	default:
		call(C_FAULTIN, DEVIRT_HC_DEVFILE_FAULTIN, slot,
		     (va & ((1ULL << 47) - 1)) | pick(2), 0, W(K_EINVAL));
	}
}

/* NOTE to a stopped guest: queued until its queue (64) is full. */
static void f_note_excl(void)
{
	u32 ids[DEVIRT_MAX_VMS], n = 0, id;
	long r;

	for (u32 i = 1; i < fz.hv.nr_vms && i < DEVIRT_MAX_VMS; i++)
		if (fz.guest_stopped[i])
			ids[n++] = i;
	if (!n || pick(3) == 0) {
		f_note_live();
		return;
	}
	id = ids[pick(n)];
	r = call(C_NOTE, DEVIRT_HC_DEVFILE_NOTE, id, any64(), any64(),
		 fz.note_full[id] ? W(K_EBUSY) : W(K_OK) | W(K_EBUSY));
	if (r == DEVIRT_EBUSY)
		fz.note_full[id] = true;
	else if (!r && ++fz.note_ok[id] > NOTE_QUEUE)
		bad("note queue over 64", DEVIRT_HC_DEVFILE_NOTE, id,
		    fz.note_ok[id], 0, r, 0);
}

static void excl_one(void)
{
	switch (pick(8)) {
	case 0:
	case 1:
		f_attach();
		break;
	case 2:
	case 3:
		f_slots_excl();
		break;
	case 4:
		f_note_excl();
		break;
	default:
		live_one();
	}
}

/* --- counters --------------------------------------------------------------- */

struct snap {
	struct devirt_devfile_info di;
	struct devirt_hv_info hv;
	long rdi, rhv;
};

static void take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->rdi = devirt_hypercall(DEVIRT_HC_DEVFILE_INFO, (unsigned long)&s->di,
				  sizeof(s->di), 0);
	s->rhv = devirt_hv_info(&s->hv);
}

/*
 * The driver VM's forwarding counters do not move (it never CALLs; its
 * windows hold guests' pages, counted for them), every call was a VM
 * exit, the hypervisor's code is as at boot, no access of the driver VM
 * was refused, it still runs, and a ring is attached as expected.
 */
static bool consistent(const struct snap *a, const struct snap *b, u64 ncalls,
		       bool attached)
{
	const struct devirt_devfile_info *x = &a->di, *y = &b->di;
	bool ok = !a->rdi && !b->rdi && !a->rhv && !b->rhv &&
		  y->attached == attached && x->calls == y->calls &&
		  x->async == y->async && x->inflight == y->inflight &&
		  x->window_pages == y->window_pages &&
		  x->guest_pages == y->guest_pages && x->polled == y->polled &&
		  x->timed == y->timed && y->exits - x->exits >= ncalls &&
		  b->hv.hyp_checksum == b->hv.hyp_checksum_boot &&
		  a->hv.refused == b->hv.refused &&
		  b->hv.vm[0].state == DEVIRT_VM_RUNNING;

	pr_info("DEVIRT-DFUZZ counters phase=%s attached=%llu->%llu calls=%llu->%llu inflight=%llu->%llu window_pages=%llu->%llu guest_pages=%llu->%llu exits=+%llu refused=%llu->%llu checksum=%s %s\n",
		fz.phase, x->attached, y->attached, x->calls, y->calls,
		x->inflight, y->inflight, x->window_pages, y->window_pages,
		x->guest_pages, y->guest_pages, y->exits - x->exits,
		a->hv.refused, b->hv.refused,
		b->hv.hyp_checksum == b->hv.hyp_checksum_boot ? "boot" :
								"CHANGED",
		ok ? "consistent" : "DRIFT");
	return ok;
}

/*
 * A slot of the shim's ring not FREE, or -1: a stopped guest's request
 * may still wait for the shim's COMPLETE, and is no fuzzer's to touch.
 */
static int busy_slot(void)
{
	const struct devfile_ring *r;

	if (!fz.ring_gpa)
		return -1; /* no shim ring: nothing can be in flight */
	r = phys_to_virt(fz.ring_gpa);
	for (int i = 0; i < DEVFILE_RING_SLOTS; i++)
		if (READ_ONCE(r->slot[i].state) != DEVFILE_SLOT_FREE)
			return i;
	return -1;
}

/*
 * No user guest RUNNING (stopped or never started) and no slot of the
 * shim's ring in use, waiting up to @secs.
 */
static bool guests_stopped(unsigned int secs, char *who, size_t len)
{
	for (unsigned int t = 0;; t++) {
		struct devirt_hv_info *hv = &fz.hv;
		bool running = false;
		int busy;

		if (devirt_hv_info(hv))
			return false;
		for (u32 i = 0; i < hv->nr_vms && i < DEVIRT_MAX_VMS; i++) {
			fz.guest_stopped[i] = hv->vm[i].role == 2 &&
					      hv->vm[i].state ==
						      DEVIRT_VM_STOPPED;
			if (hv->vm[i].role == 2 &&
			    hv->vm[i].state == DEVIRT_VM_RUNNING) {
				running = true;
				strscpy(who, hv->vm[i].name, len);
			}
		}
		busy = busy_slot();
		if (!running && busy >= 0)
			snprintf(who, len, "slot %d", busy);
		if (!running && busy < 0)
			return true;
		if (t >= secs * 2)
			return false;
		msleep(500);
	}
}

static u64 run_phase(const char *phase, u64 n, void (*one)(void),
		     bool attached_after, bool *ok)
{
	struct snap a, b;
	u64 n0 = fz.n, bad0 = fz.bad, t0;

	fz.phase = phase;
	take(&a);
	t0 = ktime_get_ns();
	for (u64 i = 0; i < n; i++)
		one();
	if (one == excl_one) {
		/*
		 * The shim's ring back, as it was, with its window region
		 * (ours, if devirt has it, is given back); without it, none:
		 * ours is freed below and devirt must not keep it.
		 */
		long r = call(C_ATTACH, DEVIRT_HC_DEVFILE_ATTACH, fz.ring_gpa,
			      fz.ring_size, fz.window_base, W(K_OK));

		fz.attached = !r && fz.ring_gpa;
		fz.own_attached = r != 0;
	}
	t0 = ktime_get_ns() - t0;
	take(&b);
	if (one == excl_one)
		attached_after = fz.attached;
	*ok &= consistent(&a, &b, fz.n - n0, attached_after);
	pr_info("DEVIRT-DFUZZ phase %s calls=%llu ms=%llu rate=%llu/s bad=%llu gmap_on_taken=%llu heap=%llu->%llu\n",
		phase, fz.n - n0, t0 / 1000000,
		t0 ? (fz.n - n0) * 1000000000ULL / t0 : 0, fz.bad - bad0,
		fz.gmap_on_taken, a.hv.heap_used_pages, b.hv.heap_used_pages);
	return fz.n - n0;
}

static int __init dfuzz_init(void)
{
	char vendor[13], sig[13], who[16] = "";
	char kinds[256], per[256];
	struct devirt_hv_info *hv0;
	bool ok = true;
	int len;

	devirt_hc_setup(vendor);
	devirt_hc_signature(sig);
	if (strcmp(sig, DEVIRT_CPUID_SIGNATURE))
		return -ENODEV; /* not under devirt */
	if (!seed)
		seed = get_random_u64() | 1;
	prandom_seed_state(&fz.rnd, seed);
	fz.own_size = PAGE_ALIGN(sizeof(struct devfile_ring));
	fz.own = alloc_pages_exact(fz.own_size, GFP_KERNEL | __GFP_ZERO);
	fz.buf = (u8 *)__get_free_page(GFP_KERNEL);
	fz.vbuf = vmalloc(PAGE_SIZE);
	hv0 = kzalloc(sizeof(*hv0), GFP_KERNEL);
	if (!fz.own || !fz.buf || !fz.vbuf || !hv0 || devirt_hv_info(&fz.hv) ||
	    devirt_hv_info(hv0)) {
		pr_info("DEVIRT-DFUZZ done calls=0 seed=%llu setup failed\n",
			seed);
		goto out;
	}
	if (sscanf(ring_at, "%llx,%llx,%llx", &fz.ring_gpa, &fz.ring_size,
		   &fz.window_base) != 3)
		fz.ring_gpa = fz.ring_size = fz.window_base = 0;
	fz.limit = 1ULL << min_t(u32, boot_cpu_data.x86_phys_bits, 46);
	/* A second free region, as the shim reserves its own. */
	fz.own_win.name = "devirt dfuzz window";
	fz.own_win.flags = IORESOURCE_MEM | IORESOURCE_BUSY;
	fz.own_win_reserved = excl_calls &&
			      !allocate_resource(&iomem_resource, &fz.own_win,
						 WINDOW_SIZE, SZ_4G,
						 fz.limit - 1, WINDOW_SIZE,
						 NULL, NULL);
	pr_info("DEVIRT-DFUZZ start seed=%llu calls=%lu excl_calls=%lu ring=0x%llx window_base=0x%llx own_window=0x%llx vms=%llu\n",
		seed, calls, excl_calls, fz.ring_gpa, fz.window_base,
		fz.own_win_reserved ? (u64)fz.own_win.start : 0, fz.hv.nr_vms);

	run_phase("live", calls, live_one, true, &ok);
	if (excl_calls) {
		if (guests_stopped(excl_wait, who, sizeof(who))) {
			fz.attached = true;
			run_phase("exclusive", excl_calls, excl_one, true, &ok);
		} else {
			pr_info("DEVIRT-DFUZZ phase exclusive skipped: %s still in use\n",
				who[0] ? who : "?");
		}
	}

	len = 0;
	for (int k = 0; k < NR_KINDS; k++)
		len += scnprintf(kinds + len, sizeof(kinds) - len, "%s%s:%llu",
				 k ? "," : "", kind_name[k], fz.kinds[k]);
	len = 0;
	for (int c = 0; c < NR_CALLS; c++)
		len += scnprintf(per + len, sizeof(per) - len, "%s%s:%llu",
				 c ? "," : "", call_name[c], fz.per_call[c]);
	devirt_hv_info(&fz.hv);
	pr_info("DEVIRT-DFUZZ heap used_before=%llu used_after=%llu total=%llu\n",
		hv0->heap_used_pages, fz.hv.heap_used_pages,
		fz.hv.heap_total_pages);
	pr_info("DEVIRT-DFUZZ done calls=%llu seed=%llu errors_by_kind=%s by_call=%s bad=%llu counters=%s\n",
		fz.n, seed, kinds, per, fz.bad, ok ? "consistent" : "drift");
out:
	/* After the final ATTACH: devirt gave it back (or never had it). */
	if (fz.own_win_reserved)
		release_resource(&fz.own_win);
	kfree(hv0);
	vfree(fz.vbuf);
	free_page((unsigned long)fz.buf);
	if (fz.own && !fz.own_attached)
		free_pages_exact(fz.own, fz.own_size);
	return 0;
}

static void __exit dfuzz_exit(void)
{
}

module_init(dfuzz_init);
module_exit(dfuzz_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: hostile driver-side device-file hypercalls");
