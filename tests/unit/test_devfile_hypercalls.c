// SPDX-License-Identifier: GPL-2.0
/*
 * The hypervisor side of device-file forwarding (devfile/hypercalls.c), reached
 * through devfile_hypercall() as guests and the driver VM reach it. Each
 * argument is the caller's choice: the tests try every range, size and
 * index check at its edges and with values that wrap or truncate.
 *
 * The vmm functions hypercalls.c calls are small fakes below. They record what
 * they were asked to do (stage-2 maps and unmaps, interrupts, guest
 * writes), so that a test can assert that a refused call did nothing.
 * Guest virtual addresses given to gva_read/gva_write are host pointers.
 */
#include <stdlib.h>
#include "vm/vm.h"
#include <devirt/hypercall.h>
#include <devfile/ring.h>
#include "unit.h"

/* As in devfile/hypercalls.c. */
#define WINDOW_PAGES_PER_SLOT 4160ULL
#define WINDOW_SIZE (1ULL << 30)
#define DEVWIN_BASE (1ULL << 36)
#define DEVWIN_PAGES (1ULL << 20)
#define DEVWIN_END (DEVWIN_BASE + DEVWIN_PAGES * PAGE_SIZE)

#define PHYS_BITS 46
#define LIMIT (1ULL << PHYS_BITS) /* the driver VM's identity map's end */
#define WINDOW_BASE (LIMIT - WINDOW_SIZE) /* what the tests' shim reserved */
#define GUEST_RAM (256ULL << 20) /* user guests: RAM at guest-physical 0 */
#define GUEST_HPA 0x80000000ULL
#define DRV_FRAMES 0x10000000ULL /* driver RAM the tests GMAP from */
#define DRV_MMIO 0xe0000000ULL
#define GIB (1ULL << 30)
/*
 * Above 4 GiB the driver VM's map is identity UC (map_driver) but for
 * these, each in a 1 GiB region of its own: a window may go where only
 * MMIO or reserved ranges are, nowhere else.
 */
#define HI_RAM (8 * GIB + (2ULL << 20)) /* 2 MiB of its RAM */
#define HI_ACPI (12 * GIB) /* its ACPI tables: write-back */
#define HYP_BASE (16 * GIB + (64ULL << 20)) /* devirt's, 64 MiB */
#define NOT_OWNED (20 * GIB) /* another VM's RAM: unmapped */
#define TRAPPED (24 * GIB + 0xee00000ULL) /* a page devirt traps */
#define HI_RESERVED (28 * GIB + PAGE_SIZE) /* firmware-reserved: UC */
#define FREE_WIN (32 * GIB) /* nothing there: a window may go */
#define BAD_VA 0x5000ULL /* not present in the process (gva_walk64_run) */
#define DRIVER_VECTOR 0x40
#define GUEST_VECTOR 0x50 /* + the guest's id */
#define U32_WRAP (1ULL << 32)

const struct arch_ops *arch;
struct boot_info *boot_info;

static struct vm vms[CFG_MAX_VMS];
static u32 nr_vms = CFG_MAX_VMS;

struct vm *vm_get(u32 id)
{
	return id < nr_vms ? &vms[id] : NULL;
}

u32 vm_count(void)
{
	return nr_vms;
}

u32 cpu_phys_bits(void)
{
	return PHYS_BITS;
}

void printk(u32 level, const char *fmt, ...)
{
}

/*
 * One-shot hooks: what another CPU does while hypercalls.c is inside one of the
 * fakes below (the guest's CALL reading its request, the driver VM's
 * frame looked up, a window unmapped). Each is cleared before it runs.
 */
static void (*on_gva_read)(void);
static void (*on_driver_translate)(void);
static void (*on_driver_unmap)(void);

static void run_hook(void (**hook)(void))
{
	void (*h)(void) = *hook;

	*hook = NULL;
	if (h)
		h();
}

/* Interrupts sent: how many, and the last one. */
static struct {
	u32 n, apic, vector;
} ipi;

void apic_send_fixed(u32 apic_id, u8 vector)
{
	ipi.n++;
	ipi.apic = apic_id;
	ipi.vector = vector;
}

/*
 * Remote stage-2 flushes asked for (vm_flush_remote): how many, of which
 * VM, and how many of its pages were unmapped by then (the flush must
 * come after the unmap). flush_ok is what the fake reports.
 */
static struct {
	u32 n;
	struct vm *vm;
	u64 unmaps_before;
} rflush;
static bool flush_ok = true;
static u64 fake_unmaps_of(struct vm *vm);

bool vm_flush_remote(struct vm *vm)
{
	rflush.n++;
	rflush.vm = vm;
	rflush.unmaps_before = fake_unmaps_of(vm);
	return flush_ok;
}

void vcpu_flush_requested(struct vcpu *vcpu)
{
}

/*
 * Second-level tables, one per VM: ranges (RAM, MMIO, the driver VM's
 * identity map; s2_map of more than a page adds one, s2_unmap cuts them)
 * and single pages from s2_map (direct-mapped by address: a page can
 * evict an older one). Argument checks as in vmm/mm/stage2.c.
 */
#define FAKE_RANGES 64
#define FAKE_PAGES 1024

struct fake_map {
	u64 gpa, size, hpa;
	u32 perm, mt;
};

static struct fake_s2 {
	struct fake_map range[FAKE_RANGES];
	u32 nr_ranges;
	struct fake_map page[FAKE_PAGES]; /* size 0: none */
	/* What s2_map and s2_unmap were asked for. */
	u64 maps, map_last, map_hpa, map_size;
	u32 map_perm, map_mt;
	u64 unmaps, unmap_pages, unmap_lo, unmap_hi, unmap_last,
		unmap_last_size;
} fs2[CFG_MAX_VMS];

static struct fake_s2 *fake_of(const struct stage2 *s2)
{
	for (u32 i = 0; i < CFG_MAX_VMS; i++)
		if (s2 == &vms[i].s2)
			return &fs2[i];
	abort();
}

static u64 fake_unmaps_of(struct vm *vm)
{
	return fake_of(&vm->s2)->unmaps;
}

/* Take [gpa, gpa + size) out of @f's ranges, splitting what it cuts. */
static void cut_ranges(struct fake_s2 *f, u64 gpa, u64 size)
{
	struct fake_map out[FAKE_RANGES * 2];
	u64 end = gpa + size;
	u32 k = 0;

	for (u32 i = 0; i < f->nr_ranges; i++) {
		struct fake_map r = f->range[i];
		u64 e = r.gpa + r.size;

		if (e <= gpa || r.gpa >= end) {
			out[k++] = r;
			continue;
		}
		if (r.gpa < gpa)
			out[k++] = (struct fake_map){ r.gpa, gpa - r.gpa, r.hpa,
						      r.perm, r.mt };
		if (e > end)
			out[k++] = (struct fake_map){ end, e - end,
						      r.hpa + (end - r.gpa),
						      r.perm, r.mt };
	}
	if (k > FAKE_RANGES)
		abort();
	memcpy(f->range, out, k * sizeof(out[0]));
	f->nr_ranges = k;
}

static void add_range(u32 vm, u64 gpa, u64 size, u64 hpa, u32 perm, u32 mt)
{
	struct fake_s2 *f = &fs2[vm];

	cut_ranges(f, gpa, size);
	if (f->nr_ranges == FAKE_RANGES)
		abort();
	f->range[f->nr_ranges++] =
		(struct fake_map){ gpa, size, hpa, perm, mt };
}

static void clear_records(void)
{
	for (u32 i = 0; i < CFG_MAX_VMS; i++) {
		fs2[i].maps = 0;
		fs2[i].unmaps = 0;
		fs2[i].unmap_pages = 0;
		fs2[i].unmap_lo = ~0ULL;
		fs2[i].unmap_hi = 0;
	}
	ipi.n = 0;
}

int s2_map(struct stage2 *s2, u64 gpa, u64 hpa, u64 size, u32 perm, u32 memtype)
{
	struct fake_s2 *f = fake_of(s2);

	if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || !perm || !size ||
	    gpa + size > S2_LIMIT || gpa + size < gpa)
		return -1;
	f->maps++;
	f->map_last = gpa;
	f->map_hpa = hpa;
	f->map_size = size;
	f->map_perm = perm;
	f->map_mt = memtype;
	if (size > PAGE_SIZE) {
		add_range(f - fs2, gpa, size, hpa, perm, memtype);
		return 0;
	}
	f->page[(gpa / PAGE_SIZE) % FAKE_PAGES] =
		(struct fake_map){ gpa, size, hpa, perm, memtype };
	return 0;
}

int s2_unmap(struct stage2 *s2, u64 gpa, u64 size)
{
	struct fake_s2 *f = fake_of(s2);

	if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || gpa + size > S2_LIMIT ||
	    gpa + size < gpa)
		return -1;
	if (f == &fs2[0])
		run_hook(&on_driver_unmap);
	f->unmaps++;
	f->unmap_pages += size / PAGE_SIZE;
	f->unmap_lo = MIN(f->unmap_lo, gpa);
	f->unmap_hi = MAX(f->unmap_hi, gpa + size);
	f->unmap_last = gpa;
	f->unmap_last_size = size;
	for (u32 k = 0; k < FAKE_PAGES; k++)
		if (f->page[k].size && f->page[k].gpa >= gpa &&
		    f->page[k].gpa - gpa < size)
			f->page[k].size = 0;
	cut_ranges(f, gpa, size);
	return 0;
}

bool s2_translate(const struct stage2 *s2, u64 gpa, struct s2_lookup *out)
{
	struct fake_s2 *f = fake_of(s2);
	struct fake_map *m = &f->page[(gpa / PAGE_SIZE) % FAKE_PAGES];

	if (f == &fs2[0])
		run_hook(&on_driver_translate);
	if (gpa >= S2_LIMIT)
		return false;
	if (!(m->size && gpa - m->gpa < m->size)) {
		m = NULL;
		for (u32 k = 0; k < f->nr_ranges && !m; k++)
			if (gpa >= f->range[k].gpa &&
			    gpa - f->range[k].gpa < f->range[k].size)
				m = &f->range[k];
	}
	if (!m)
		return false;
	out->hpa = m->hpa + (gpa - m->gpa);
	out->perm = m->perm;
	out->memtype = m->mt;
	out->level = 1;
	return true;
}

/* Guest memory: host pointers; 0 faults, as gmem.c does. */
static u64 last_write_len;

int gva_read(struct vcpu *vcpu, u64 gva, void *buf, u64 len)
{
	if (!gva)
		return DEVIRT_EFAULT;
	memcpy(buf, (void *)(uintptr_t)gva, len);
	run_hook(&on_gva_read);
	return 0;
}

int gva_write(struct vcpu *vcpu, u64 gva, const void *buf, u64 len)
{
	if (!gva)
		return DEVIRT_EFAULT;
	memcpy((void *)(uintptr_t)gva, buf, len);
	last_write_len = len;
	return 0;
}

/* The calling process's page tables: every page but BAD_VA, onto RAM. */
int gva_walk64_run(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access,
		   u64 *gpa, struct gva_run *run)
{
	if ((gva & ~(PAGE_SIZE - 1)) == BAD_VA)
		return -1;
	*gpa = gva & (GUEST_RAM - 1);
	return 0;
}

/* An ATTACH hook: another driver vCPU writes the ring meanwhile. */
static void (*on_s2_flush)(void);

static void fake_s2_flush(struct vcpu *vcpu)
{
	if (on_s2_flush)
		on_s2_flush();
}

static u64 fake_cr3(struct vcpu *vcpu)
{
	return 0x1000 * (vcpu->vm->id + 1);
}

static u64 fake_cr4(struct vcpu *vcpu)
{
	return 0;
}

static const struct arch_ops fake_ops = {
	.name = "fake",
	.guest_cr3 = fake_cr3,
	.guest_cr4 = fake_cr4,
	.s2_flush = fake_s2_flush,
};

static struct boot_info bi;
static struct devfile_ring *ring;
static u64 ring_size;

static struct vcpu *D(void)
{
	return &vms[0].vcpus[0];
}

static struct vcpu *G(u32 id)
{
	return &vms[id].vcpus[0];
}

static s64 hc(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2)
{
	return devfile_hypercall(v, nr, a0, a1, a2);
}

/* ATTACH the tests' ring with its window region at @window. */
static s64 attach_at(u64 window)
{
	return hc(D(), DEVIRT_HC_DEVFILE_ATTACH, (u64)(uintptr_t)ring,
		  ring_size, window);
}

static s64 attach(void)
{
	return attach_at(WINDOW_BASE);
}

/* Collect guest @g's notes; returns how many there were. */
static s64 drain_notes(u32 g, struct devfile_note_msg *out, u64 max)
{
	struct devfile_note_msg m[64];

	if (!out) {
		out = m;
		max = ARRAY_SIZE(m);
	}
	return hc(G(g), DEVIRT_HC_DEVFILE_NOTES, (u64)(uintptr_t)out, max, 0);
}

static void world_init(void)
{
	arch = &fake_ops;
	boot_info = &bi;
	for (u32 i = 0; i < CFG_MAX_VMS; i++) {
		struct vm *vm = &vms[i];

		vm->id = i;
		vm->role = i ? VM_ROLE_GUEST : VM_ROLE_DRIVER;
		vm->state = DEVIRT_VM_RUNNING;
		vm->nr_vcpus = 1;
		vm->vcpus[0].vm = vm;
		vm->vcpus[0].apic_id = i;
		snprintf(vm->name, sizeof(vm->name), "vm%u", i);
		strcpy(bi.cfg.vms[i].devices, "*");
		if (i)
			add_range(i, 0, GUEST_RAM, GUEST_HPA, S2_PERM_RWX,
				  S2_MT_WB);
	}
	ring_size = ALIGN_UP(sizeof(*ring), PAGE_SIZE);
	ring = aligned_alloc(PAGE_SIZE, ring_size);
	memset(ring, 0, ring_size);
	ring->magic = DEVFILE_RING_MAGIC;
	ring->nr_slots = DEVFILE_RING_SLOTS;
	ring->vector = DRIVER_VECTOR;
	/*
	 * From 8 GiB as map_driver() makes it (HI_* above); 4-8 GiB stays
	 * unmapped for test_gmap's frames that truncate to DRV_FRAMES. Past
	 * LIMIT too (map_driver stops there): ATTACH's limit is checked on
	 * its own, not only through the tables.
	 */
	add_range(0, 8 * GIB, S2_LIMIT - 8 * GIB, 8 * GIB, S2_PERM_RWX,
		  S2_MT_UC);
	/* The driver VM: identity-mapped RAM (the ring, frames) and MMIO. */
	add_range(0, (u64)(uintptr_t)ring, ring_size, (u64)(uintptr_t)ring,
		  S2_PERM_RWX, S2_MT_WB);
	add_range(0, DRV_FRAMES, 16ULL << 20, DRV_FRAMES, S2_PERM_RWX,
		  S2_MT_WB);
	add_range(0, DRV_MMIO, 16ULL << 20, DRV_MMIO, S2_PERM_RWX, S2_MT_UC);
	add_range(0, HI_RAM, 2ULL << 20, HI_RAM, S2_PERM_RWX, S2_MT_WB);
	add_range(0, HI_ACPI, PAGE_SIZE, HI_ACPI, S2_PERM_RWX, S2_MT_WB);
	cut_ranges(&fs2[0], HYP_BASE, 64ULL << 20);
	cut_ranges(&fs2[0], NOT_OWNED, 2ULL << 20);
	cut_ranges(&fs2[0], TRAPPED, PAGE_SIZE);
	/*
	 * Its map: DRV_FRAMES and HI_RAM are RAM, DRV_MMIO firmware-described
	 * MMIO. devirt's reservation is in boot_info only, as a check of its
	 * own; the trapped page is in neither (only the tables tell).
	 */
	vms[0].mem[0] =
		(struct mem_range){ DRV_FRAMES, 16ULL << 20, MEM_RAM, 0 };
	vms[0].mem[1] =
		(struct mem_range){ DRV_MMIO, 16ULL << 20, MEM_MMIO, 0 };
	vms[0].mem[2] = (struct mem_range){ HI_RAM, 2ULL << 20, MEM_RAM, 0 };
	vms[0].mem[3] = (struct mem_range){ HI_ACPI, PAGE_SIZE, MEM_ACPI, 0 };
	vms[0].mem[4] =
		(struct mem_range){ NOT_OWNED, 2ULL << 20, MEM_NOT_OWNED, 0 };
	vms[0].mem[5] =
		(struct mem_range){ HI_RESERVED, PAGE_SIZE, MEM_RESERVED, 0 };
	vms[0].nr_mem = 6;
	bi.hyp_base = HYP_BASE;
	bi.hyp_size = 64ULL << 20;
	devfile_init();
	CHECK_EQ(attach(), 0);
	for (u32 i = 1; i < CFG_MAX_VMS; i++) {
		CHECK_EQ(hc(G(i), DEVIRT_HC_DEVFILE_REGISTER, GUEST_VECTOR + i,
			    0, 0),
			 0);
		drain_notes(i, NULL, 0);
	}
	clear_records();
}

/* A well-formed READ request with sequence number @seq. */
static struct devfile_req read_req(u64 seq)
{
	struct devfile_req req = {
		.magic = DEVFILE_MAGIC,
		.major = DEVFILE_PROTO_MAJOR,
		.op = DEVFILE_OP_READ,
		.seq = seq,
	};

	return req;
}

/* A request of guest @g that goes asynchronous; returns its slot. */
static u64 call_op(u32 g, u32 op)
{
	struct devfile_req req = read_req(7);
	struct devfile_resp resp;

	req.op = op;
	memset(&resp, 0xff, sizeof(resp));
	CHECK_EQ(hc(G(g), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_EINPROGRESS);
	CHECK(resp.handle < DEVFILE_RING_SLOTS);
	return resp.handle;
}

/* A READ request of guest @g, in flight: its slot. */
static u64 call(u32 g)
{
	return call_op(g, DEVFILE_OP_READ);
}

/* A FAULT request (a zero-copy mmap's page) of guest @g: its slot. */
static u64 call_fault(u32 g)
{
	return call_op(g, DEVFILE_OP_FAULT);
}

/* COMPLETE and FETCH slot @s of guest @g: the slot is free again. */
static void finish_call(u32 g, u64 s)
{
	struct devfile_resp resp;

	ring->slot[s].resp.ret = 0;
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, s, 0, 0), 0);
	CHECK_EQ(hc(G(g), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, 0);
	CHECK_EQ(resp.seq, 7);
}

/*
 * GUNMAP's range: page aligned, inside the device window, however the
 * address and count are chosen. One near 2^64 plus a count wraps; the
 * call must not reach the guest's RAM at guest-physical 0.
 */
static void test_gunmap(void)
{
	static const u64 wrap[][2] = {
		{ -PAGE_SIZE, 1 },     { -PAGE_SIZE, 2 },
		{ -4 * PAGE_SIZE, 8 }, { -PAGE_SIZE, DEVWIN_PAGES },
		{ DEVWIN_END, 1 },     { DEVWIN_END + PAGE_SIZE, 0 },
		{ -PAGE_SIZE, 0 },
	};
	struct fake_s2 *f = &fs2[1];
	u64 s, gpa;

	/* A frame GMAPped to guest 1, then unmapped by it. */
	s = call_fault(1);
	gpa = hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1);
	CHECK_EQ(gpa, DEVWIN_BASE);
	CHECK_EQ(vms[1].df_guest_pages, 1);
	finish_call(1, s);
	clear_records();
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, gpa, 1, 0), 1);
	CHECK_EQ(f->unmaps, 1);
	CHECK_EQ(f->unmap_last, DEVWIN_BASE);
	CHECK_EQ(f->unmap_last_size, PAGE_SIZE);
	CHECK_EQ(vms[1].df_guest_pages, 0);

	/* Not a user guest; unaligned; below the window. */
	clear_records();
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE + 1, 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE - PAGE_SIZE, 1,
		    0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, 0, 1, 0), DEVIRT_EINVAL);

	/* The edges of the window: its last page, all of it, one more. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_END - PAGE_SIZE, 1,
		    0),
		 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_END - PAGE_SIZE, 2,
		    0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_END, 0, 0), 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, DEVWIN_PAGES,
		    0),
		 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE,
		    DEVWIN_PAGES + 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, ~0ULL, 0),
		 DEVIRT_EINVAL);
	/* Counts whose size in bytes wraps. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, 1ULL << 52, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE,
		    (1ULL << 52) + 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(f->unmaps, 0); /* nothing was mapped there */

	/* Addresses near 2^64 (or past the window) whose end wraps. */
	for (u32 k = 0; k < ARRAY_SIZE(wrap); k++) {
		clear_records();
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, wrap[k][0],
			    wrap[k][1], 0),
			 DEVIRT_EINVAL);
		if (!CHECK_EQ(f->unmaps, 0))
			fprintf(stderr,
				"\tGUNMAP(0x%llx, %llu) unmapped %llu page(s) in [0x%llx, 0x%llx)\n",
				(unsigned long long)wrap[k][0],
				(unsigned long long)wrap[k][1],
				(unsigned long long)f->unmap_pages,
				(unsigned long long)f->unmap_lo,
				(unsigned long long)f->unmap_hi);
	}
	CHECK_EQ(vms[1].df_guest_pages, 0);
}

/*
 * NOTE's VM id indexes per-guest arrays and is 64 bits wide, but
 * vm_get() takes 32: 2^32 + a guest's id must not reach that guest.
 */
static void test_note(void)
{
	static const u64 bad[] = {
		0, /* the driver VM */
		CFG_MAX_VMS,
		CFG_MAX_VMS + 1,
		U32_WRAP,
		U32_WRAP + 1,
		U32_WRAP + CFG_MAX_VMS - 1,
		(1ULL << 63) + 1,
		~0ULL,
	};
	struct devfile_note_msg m[4];
	u64 what = DEVFILE_NOTE_POLL | (0x41ULL << 32);

	clear_records();
	/* The first and last valid guests. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 1, what, 0x1234), 0);
	CHECK_EQ(ipi.n, 1);
	CHECK_EQ(ipi.apic, 1);
	CHECK_EQ(ipi.vector, GUEST_VECTOR + 1);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, CFG_MAX_VMS - 1, what, 9), 0);
	CHECK_EQ(ipi.apic, CFG_MAX_VMS - 1);
	CHECK_EQ(drain_notes(1, m, ARRAY_SIZE(m)), 1);
	CHECK_EQ(m[0].type, DEVFILE_NOTE_POLL);
	CHECK_EQ(m[0].events, 0x41);
	CHECK_EQ(m[0].handle, 0x1234);
	CHECK_EQ(drain_notes(CFG_MAX_VMS - 1, m, ARRAY_SIZE(m)), 1);
	CHECK_EQ(m[0].handle, 9);

	/* Only the driver VM notes. */
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_NOTE, 1, what, 0), DEVIRT_EINVAL);

	clear_records();
	for (u32 k = 0; k < ARRAY_SIZE(bad); k++)
		if (!CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, bad[k], what, 0),
			      DEVIRT_EINVAL))
			fprintf(stderr, "\tNOTE for VM id 0x%llx accepted\n",
				(unsigned long long)bad[k]);
	CHECK_EQ(ipi.n, 0);
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		CHECK_EQ(drain_notes(g, NULL, 0), 0);

	/* A guest without a vCPU (not started) takes no notes. */
	vms[2].nr_vcpus = 0;
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 2, what, 0), DEVIRT_EINVAL);
	vms[2].nr_vcpus = 1;
	CHECK_EQ(drain_notes(2, NULL, 0), 0);

	/* A full queue: the rest is dropped, nothing overwritten. */
	for (u32 k = 0; k < 64; k++)
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 2, what, k), 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 2, what, 64), DEVIRT_EBUSY);
	CHECK_EQ(drain_notes(2, m, 0), 0);
	CHECK_EQ(drain_notes(2, m, 1), 1);
	CHECK_EQ(m[0].handle, 0);
	CHECK_EQ(drain_notes(2, NULL, 0), 63);
	CHECK_EQ(drain_notes(2, NULL, 0), 0);
	/* A bad array, and no bound on the count but the queue's. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 2, what, 0), 0);
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_NOTES, 0, ~0ULL, 0), DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 2, what, 0), 0);
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_NOTES, (u64)(uintptr_t)m, ~0ULL, 0),
		 1);
}

/*
 * Slot numbers: a slot index >= DEVFILE_RING_SLOTS, or a valid one plus
 * 2^32 or 2^63 (a 32-bit truncation would find the slot), or a slot of
 * another guest. Each hypercall that takes one refuses and does nothing.
 */
static void test_slot_args(void)
{
	struct devfile_resp resp;
	u64 s = call(1), o = call(2);
	const u64 bad[] = {
		DEVFILE_RING_SLOTS, DEVFILE_RING_SLOTS + 1, 0xff,  0x100 + s,
		U32_WRAP + s,	    (1ULL << 63) + s,	    ~0ULL,
	};

	CHECK(s != o);
	clear_records();
	for (u32 k = 0; k < ARRAY_SIZE(bad); k++) {
		u64 b = bad[k];

		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, b,
			    (u64)(uintptr_t)&resp, 0),
			 DEVIRT_EINVAL);
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_CANCEL, b, 0, 0),
			 DEVIRT_EINVAL);
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_RESUME, b, 0, 0),
			 DEVIRT_EINVAL);
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, b, 0x10000, 0),
			 DEVIRT_EINVAL);
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, b, DRV_FRAMES, 1),
			 DEVIRT_EINVAL);
		/* MAP's index is above bit 8: 0x100 + s is valid there. */
		if (b != 0x100 + s)
			CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, b, 0x10000, 1),
				 DEVIRT_EINVAL);
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, b, 0, 0),
			 DEVIRT_EINVAL);
	}
	/* Another guest's slot. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, o, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_CANCEL, o, 0, 0), DEVIRT_EINVAL);
	/* The guest-side calls from the driver VM: it owns no slot. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_CANCEL, s, 0, 0), DEVIRT_EINVAL);
	/* The driver-side calls from a guest. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_COMPLETE, s, 0, 0), DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_MAP, s, 0x10000, 1), DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FAULTIN, s, 0x10000, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(ipi.n, 0);
	CHECK_EQ(ring->slot[s].cancel, 0);
	CHECK_EQ(ring->slot[s].fault_va, 0);
	for (u32 i = 0; i < CFG_MAX_VMS; i++) {
		CHECK_EQ(fs2[i].maps, 0);
		CHECK_EQ(fs2[i].unmaps, 0);
	}

	/* The valid ones work. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EAGAIN);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_CANCEL, s, 0, 0), 0);
	CHECK_EQ(ring->slot[s].cancel, 1);
	CHECK_EQ(ipi.apic, 0);
	CHECK_EQ(ipi.vector, DRIVER_VECTOR);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_RESUME, s, 0, 0), DEVIRT_EINVAL);
	finish_call(1, s);
	finish_call(2, o);
	/* A finished slot is no one's. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, s, 0, 0), DEVIRT_EINVAL);
}

/*
 * A request that went asynchronous but whose ring state the shim then
 * set to DONE (the ASYNC flag overwritten: a cmpxchg without LOCK): no
 * COMPLETE will come. FETCH takes it, once; with the flag kept it is
 * taken too; while the shim still runs it, FETCH says EAGAIN.
 */
static void test_fetch_done_without_complete(void)
{
	struct devfile_resp resp;
	u64 s;

	s = call(1);
	CHECK(ring->slot[s].state & DEVFILE_SLOT_ASYNC);
	ring->slot[s].state = DEVFILE_SLOT_TAKEN | DEVFILE_SLOT_ASYNC;
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EAGAIN);
	ring->slot[s].resp.ret = 5;
	ring->slot[s].state = DEVFILE_SLOT_DONE; /* the flag lost */
	memset(&resp, 0xff, sizeof(resp));
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, 5);
	CHECK_EQ(resp.seq, 7);
	CHECK_EQ(ring->slot[s].state, DEVFILE_SLOT_FREE);
	/* Taken once: the slot is no one's now. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, s, 0, 0), DEVIRT_EINVAL);

	s = call(1);
	ring->slot[s].resp.ret = 6;
	ring->slot[s].state = DEVFILE_SLOT_DONE | DEVFILE_SLOT_ASYNC;
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, 6);
}

/* All slots taken: the next CALL is told -EBUSY, nothing overruns. */
static void test_call_full(void)
{
	struct devfile_req req = read_req(8);
	struct devfile_resp resp;
	u64 slots[DEVFILE_RING_SLOTS];
	u32 seen = 0;

	for (u32 k = 0; k < DEVFILE_RING_SLOTS; k++) {
		slots[k] = call(3);
		seen |= 1u << slots[k];
	}
	CHECK_EQ(seen, 0xffffffffu);
	CHECK_EQ(hc(G(3), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_EBUSY);
	CHECK_EQ(resp.seq, 8);
	for (u32 k = 0; k < DEVFILE_RING_SLOTS; k++)
		finish_call(3, slots[k]);
	CHECK_EQ(vms[3].df_inflight, 0);

	/* Unknown ops, bad magic; a request the guest does not map. */
	req.op = DEVFILE_OP_MAX;
	CHECK_EQ(hc(G(3), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_ENOSYS);
	req.op = ~0u;
	CHECK_EQ(hc(G(3), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_ENOSYS);
	req.op = DEVFILE_OP_READ;
	req.magic = 0;
	CHECK_EQ(hc(G(3), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_EPROTO);
	CHECK_EQ(hc(G(3), DEVIRT_HC_DEVFILE_CALL, 0, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EFAULT);
	CHECK_EQ(vms[3].df_inflight, 0);
}

/*
 * MAP: slot | first window index << 8, user address | write, pages. The
 * window pages stay inside the slot's own part of the window region.
 */
static void test_map(void)
{
	const u64 W = WINDOW_PAGES_PER_SLOT;
	struct fake_s2 *f = &fs2[0];
	u64 s = call(1), base;

	base = WINDOW_BASE + s * W * PAGE_SIZE;
	CHECK_EQ(ring->window_base, WINDOW_BASE);
	CHECK_EQ(ring->window_pages_per_slot, W);

	/* The first pages of the slot's window, writable. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s, 0x10000 | 1, 2), 2);
	CHECK_EQ(f->maps, 2);
	CHECK_EQ(f->map_last, base + PAGE_SIZE);
	CHECK_EQ(f->map_hpa, GUEST_HPA + 0x11000);
	CHECK_EQ(f->map_perm, S2_PERM_R | S2_PERM_W);
	CHECK_EQ(vms[1].df_window_pages, 2);
	/* Its last page. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | (W - 1) << 8, 0x20000, 1),
		 1);
	CHECK_EQ(f->map_last, base + (W - 1) * PAGE_SIZE);
	CHECK_EQ(f->map_perm, S2_PERM_R);
	/* Zero pages at the last index; none past it. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | (W - 1) << 8, 0x20000, 0),
		 0);
	clear_records();
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | (W - 1) << 8, 0x20000, 2),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | W << 8, 0x20000, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s, 0x20000, W + 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 1 << 8, 0x20000, W),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 1 << 8, 0x20000, ~0ULL),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | ~0ULL << 8, 0x20000, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | (U32_WRAP - 1) << 8,
		    0x20000, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(f->maps, 0);

	/* User addresses only, and only pages the process maps. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 8 << 8,
		    (1ULL << 47) - PAGE_SIZE, 4),
		 1);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 8 << 8, 1ULL << 47, 4), 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 8 << 8, -PAGE_SIZE | 1, 4),
		 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s | 8 << 8, BAD_VA - PAGE_SIZE,
		    4),
		 1);
	CHECK_EQ(f->maps, 2);

	/* COMPLETE revokes the slot's windows, up to the high-water mark. */
	clear_records();
	finish_call(1, s);
	CHECK_EQ(f->unmaps, 1);
	CHECK_EQ(f->unmap_last, base);
	CHECK_EQ(f->unmap_last_size, W * PAGE_SIZE);
	CHECK_EQ(vms[1].df_window_pages, 0);
}

/*
 * GMAP: only a FAULT request gets a frame, and one; the frame must be the
 * driver VM's own, MMIO never write-back; the window's pages are reused.
 */
static void test_gmap(void)
{
	struct fake_s2 *f = &fs2[2];
	u64 s = call(2), k;

	devfile_init(); /* a fresh device window */
	clear_records();
	/* A READ request is no mmap fault: no frame for it. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(f->maps, 0);
	finish_call(2, s);

	s = call_fault(2);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES | 3, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 2),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, ~0ULL),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES - PAGE_SIZE, 1),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, -PAGE_SIZE, 1),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, S2_LIMIT, 1),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, U32_WRAP + DRV_FRAMES, 1),
		 DEVIRT_EFAULT);
	/* A window page holds a guest's page, not the driver VM's. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s, 0x10000, 1), 1);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s,
		    WINDOW_BASE + s * WINDOW_PAGES_PER_SLOT * PAGE_SIZE, 1),
		 DEVIRT_EFAULT);
	/* MMIO write-back (speculative reads of device registers). */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_MMIO | DEVFILE_MT_WB,
		    0),
		 DEVIRT_EINVAL);
	CHECK_EQ(f->maps, 0);

	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s,
		    DRV_MMIO | DEVFILE_MT_WC | 0xff0, 0),
		 DEVWIN_BASE);
	CHECK_EQ(f->map_hpa, DRV_MMIO);
	CHECK_EQ(f->map_mt, S2_MT_WC);
	CHECK_EQ(f->map_perm, S2_PERM_R);
	/* One frame per FAULT. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVIRT_EINVAL);
	CHECK_EQ(f->maps, 1);
	finish_call(2, s);
	s = call_fault(2);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVWIN_BASE + PAGE_SIZE);
	CHECK_EQ(f->map_mt, S2_MT_WB);
	CHECK_EQ(f->map_perm, S2_PERM_R | S2_PERM_W);
	finish_call(2, s);

	/*
	 * The window fills up at its last page (every FAULT its own slot),
	 * and a page GUNMAP frees is given again.
	 */
	for (k = 2; k < DEVWIN_PAGES - 1; k++) {
		s = call_fault(2);
		hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1);
		finish_call(2, s);
	}
	s = call_fault(2);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVWIN_END - PAGE_SIZE);
	finish_call(2, s);
	s = call_fault(2);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVIRT_ENOMEM);
	CHECK_EQ(f->maps, DEVWIN_PAGES);
	CHECK_EQ(vms[2].df_guest_pages, DEVWIN_PAGES);
	/* The fake keeps the last FAKE_PAGES pages only: free one there. */
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_END - 2 * PAGE_SIZE,
		    1, 0),
		 1);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVWIN_END - 2 * PAGE_SIZE);
	finish_call(2, s);
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, DEVWIN_PAGES,
		    0),
		 FAKE_PAGES);
	CHECK_EQ(f->unmap_lo, DEVWIN_END - FAKE_PAGES * PAGE_SIZE);
	CHECK_EQ(f->unmap_hi, DEVWIN_END);
	vms[2].df_guest_pages = 0; /* the fake kept the last pages only */
	devfile_init();
}

/* FAULTIN's address (user half only), FETCH's report of it, RESUME. */
static void test_faultin(void)
{
	struct devfile_resp resp;
	u64 top = (1ULL << 47) - PAGE_SIZE;
	u64 s = call(1);

	clear_records();
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, 1ULL << 47, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, (1ULL << 47) | 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, -PAGE_SIZE, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, ~0ULL, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(ipi.n, 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_EAGAIN);

	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, top | 0xfff, 0), 0);
	CHECK_EQ(ring->slot[s].fault_va, top | 3);
	CHECK_EQ(ipi.apic, 1);
	CHECK_EQ(ipi.vector, GUEST_VECTOR + 1);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 DEVIRT_FETCH_FAULTIN);
	CHECK_EQ(resp.ret, -DEVFILE_EINPROGRESS);
	CHECK_EQ(resp.handle, s);
	CHECK_EQ(resp.v[0], top | 1);
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_RESUME, s, 0, 0), DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_RESUME, U32_WRAP + s, 0, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_RESUME, s, 0, 0), 0);
	CHECK_EQ(ring->slot[s].fault_va, 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_RESUME, s, 0, 0), DEVIRT_EINVAL);

	/* A guest without a vector cannot fault pages in. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, 0, 0, 0), 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_FAULTIN, s, 0x10000, 0),
		 DEVIRT_EPERM);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, GUEST_VECTOR + 1, 0, 0),
		 0);
	finish_call(1, s);
}

/* REGISTER's vector: 0 (none) or 0x20..0xff, all 64 bits of it. */
static void test_register(void)
{
	static const u64 bad[] = { 1,	 0x1f, 0x100, U32_WRAP, U32_WRAP + 0x40,
				   ~0ULL };

	for (u32 k = 0; k < ARRAY_SIZE(bad); k++)
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, bad[k], 0, 0),
			 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_REGISTER, 0x40, 0, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, 0x20, 0, 0), 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 1, DEVFILE_NOTE_POLL, 0), 0);
	CHECK_EQ(ipi.vector, 0x20);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, 0xff, 0, 0), 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_NOTE, 1, DEVFILE_NOTE_POLL, 0), 0);
	CHECK_EQ(ipi.vector, 0xff);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_REGISTER, GUEST_VECTOR + 1, 0, 0),
		 0);
	drain_notes(1, NULL, 0);
}

/* INFO's size: at least up to `polled`; never more than the struct. */
static void test_info(void)
{
	struct devirt_devfile_info info[2];
	u64 old = offsetof(struct devirt_devfile_info, polled);

	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, (u64)(uintptr_t)info, old - 1,
		    0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, (u64)(uintptr_t)info, old, 0),
		 0);
	CHECK_EQ(last_write_len, old);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, (u64)(uintptr_t)info, ~0ULL,
		    0),
		 0);
	CHECK_EQ(last_write_len, sizeof(info[0]));
	CHECK_EQ(info[0].attached, 1);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, 0, sizeof(info[0]), 0),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(G(1), 1000, 0, 0, 0), DEVIRT_ENOSYS);
}

/* ATTACH's ring: aligned, big enough, the driver VM's own RAM. */
static void corrupt_vector(void)
{
	ring->vector = 0x10;
}

static void test_attach(void)
{
	u64 gpa = (u64)(uintptr_t)ring;
	u64 s;

	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_ATTACH, gpa, ring_size, 0),
		 DEVIRT_EPERM);
	s = call(1);
	CHECK_EQ(attach(), DEVIRT_EBUSY); /* a request in flight */
	finish_call(1, s);

	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, gpa, sizeof(*ring) - 1, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, gpa + 8, ring_size, 0),
		 DEVIRT_EINVAL);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, -PAGE_SIZE, ring_size, 0),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, DRV_MMIO, ring_size, 0),
		 DEVIRT_EFAULT);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, gpa + PAGE_SIZE, ring_size,
		    0),
		 DEVIRT_EFAULT);
	/* The ring's own fields: the vector is 0x20..0xff. */
	ring->vector = 0x1f;
	CHECK_EQ(attach(), DEVIRT_EINVAL);
	ring->vector = 0x100;
	CHECK_EQ(attach(), DEVIRT_EINVAL);
	ring->vector = 0xff;
	CHECK_EQ(attach(), 0);
	ring->nr_slots = DEVFILE_RING_SLOTS + 1;
	CHECK_EQ(attach(), DEVIRT_EINVAL);
	ring->nr_slots = DEVFILE_RING_SLOTS;

	/*
	 * Another vCPU of the driver VM rewrites the vector after it was
	 * checked: the hypervisor must use the value it checked.
	 */
	ring->vector = DRIVER_VECTOR;
	on_s2_flush = corrupt_vector;
	CHECK_EQ(attach(), 0);
	on_s2_flush = NULL;
	clear_records();
	s = call(1);
	CHECK_EQ(ipi.n, 1);
	CHECK_EQ(ipi.apic, 0);
	CHECK_EQ(ipi.vector, DRIVER_VECTOR);
	finish_call(1, s);
	ring->vector = DRIVER_VECTOR;

	/* Detach: the guests are told to list again. */
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		drain_notes(g, NULL, 0);
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0), 0);
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		CHECK_EQ(drain_notes(g, NULL, 0), 1);
	CHECK_EQ(attach(), 0);
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		CHECK_EQ(drain_notes(g, NULL, 0), 1);
	clear_records();
}

/* [base, base + WINDOW_SIZE) is the driver VM's again: identity, UC. */
static void check_given_back(u64 base)
{
	const u64 at[] = { base, base + WINDOW_SIZE / 2,
			   base + WINDOW_SIZE - PAGE_SIZE };
	struct s2_lookup l;

	for (u32 i = 0; i < ARRAY_SIZE(at); i++) {
		CHECK(s2_translate(&vms[0].s2, at[i], &l));
		CHECK_EQ(l.hpa, at[i]);
		CHECK_EQ(l.memtype, S2_MT_UC);
		CHECK_EQ(l.perm, S2_PERM_RWX);
	}
}

/* [base, base + WINDOW_SIZE) is carved out of the driver VM's map. */
static void check_carved(u64 base)
{
	struct s2_lookup l;

	CHECK(!s2_translate(&vms[0].s2, base, &l));
	CHECK(!s2_translate(&vms[0].s2, base + WINDOW_SIZE - PAGE_SIZE, &l));
}

/* A refused window: EINVAL, the driver VM's map and the ring untouched. */
static void check_window_refused(u64 window)
{
	struct fake_s2 *f = &fs2[0];

	ring->window_base = 0x5a5a;
	clear_records();
	if (!CHECK_EQ(attach_at(window), DEVIRT_EINVAL))
		fprintf(stderr, "\twindow = 0x%llx\n",
			(unsigned long long)window);
	CHECK_EQ(f->unmaps, 0);
	CHECK_EQ(ring->window_base, 0x5a5a);
	CHECK_EQ(ring->slot[0].state, 0xdead);
}

/*
 * ATTACH's window (rdx): where the shim reserved 1 GiB in its kernel's
 * resource tree, checked as if the driver VM were hostile; carved out
 * while the ring is attached, given back as it was when it moves, on
 * detach and when a re-attach is refused.
 */
static void test_attach_window(void)
{
	struct fake_s2 *f = &fs2[0];
	struct devirt_devfile_info info;
	struct fake_s2 saved;
	u32 nr_mem;
	static const u64 bad[] = {
		0,
		WINDOW_BASE + PAGE_SIZE, /* one page off */
		WINDOW_BASE - PAGE_SIZE,
		FREE_WIN + PAGE_SIZE, /* one page off, where all is free */
		FREE_WIN + (2ULL << 20),
		FREE_WIN + 1,
		WINDOW_SIZE / 2,
		LIMIT, /* its end at the limit plus 1 GiB */
		LIMIT + WINDOW_SIZE,
		S2_LIMIT - WINDOW_SIZE,
		0xffffffffc0000000ULL, /* wraps to 0 */
		~0ULL & ~(WINDOW_SIZE - 1), /* the same, written as masked */
		~0ULL,
		1ULL << 63,
		HI_RAM & ~(WINDOW_SIZE - 1), /* RAM in it */
		DRV_FRAMES & ~(WINDOW_SIZE - 1), /* 0: RAM too */
		HI_ACPI, /* its ACPI tables (write-back) */
		HYP_BASE & ~(WINDOW_SIZE - 1), /* devirt's */
		NOT_OWNED, /* another VM's RAM */
		TRAPPED & ~(WINDOW_SIZE - 1), /* a page devirt traps */
	};
	u64 s;

	/* Exactly at the limit minus 1 GiB: world_init's. */
	CHECK_EQ(ring->window_base, WINDOW_BASE);
	check_carved(WINDOW_BASE);
	check_given_back(FREE_WIN);

	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(attach(), 0);
		ring->slot[0].state = 0xdead;
		check_window_refused(bad[i]);
		/* No ring now, so no window: the old one is given back. */
		CHECK_EQ(f->maps, 1);
		CHECK_EQ(f->map_size, WINDOW_SIZE);
		check_given_back(WINDOW_BASE);
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, (u64)(uintptr_t)&info,
			    sizeof(info), 0),
			 0);
		CHECK_EQ(info.attached, 0);
	}

	/*
	 * 0 (an old shim's rdx) even where the first GiB is free: what
	 * refuses it is no RAM check (a driver VM always has low RAM).
	 */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0), 0);
	saved = fs2[0];
	nr_mem = vms[0].nr_mem;
	vms[0].nr_mem = 0;
	add_range(0, 0, WINDOW_SIZE, 0, S2_PERM_RWX, S2_MT_UC);
	check_given_back(0);
	check_window_refused(0);
	fs2[0] = saved;
	vms[0].nr_mem = nr_mem;

	/* MMIO and firmware-reserved ranges are no RAM: a window may go. */
	CHECK_EQ(attach_at(HI_RESERVED & ~(WINDOW_SIZE - 1)), 0);
	check_carved(HI_RESERVED & ~(WINDOW_SIZE - 1));

	/* A re-attach elsewhere gives the old region back, as it was. */
	CHECK_EQ(attach(), 0);
	check_given_back(HI_RESERVED & ~(WINDOW_SIZE - 1));
	clear_records();
	CHECK_EQ(attach_at(FREE_WIN), 0);
	CHECK_EQ(ring->window_base, FREE_WIN);
	CHECK_EQ(f->maps, 1);
	CHECK_EQ(f->map_last, WINDOW_BASE);
	CHECK_EQ(f->map_hpa, WINDOW_BASE);
	CHECK_EQ(f->map_size, WINDOW_SIZE);
	CHECK_EQ(f->map_mt, S2_MT_UC);
	CHECK_EQ(f->map_perm, S2_PERM_RWX);
	CHECK_EQ(f->unmap_last, FREE_WIN);
	CHECK_EQ(f->unmap_last_size, WINDOW_SIZE);
	check_given_back(WINDOW_BASE);
	check_carved(FREE_WIN);
	/* The slots' windows are there now. */
	s = call(1);
	clear_records();
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s, 0x10000, 1), 1);
	CHECK_EQ(f->map_last, FREE_WIN + s * WINDOW_PAGES_PER_SLOT * PAGE_SIZE);
	finish_call(1, s);
	/* Once it was given back, the old region may be the window again. */
	CHECK_EQ(attach_at(FREE_WIN), 0);

	/* The same region again: nothing to give back or carve out. */
	clear_records();
	CHECK_EQ(attach_at(FREE_WIN), 0);
	CHECK_EQ(f->maps, 0);
	CHECK_EQ(f->unmaps, 0);
	check_carved(FREE_WIN);

	/* Detach gives it back too (the shim releases its reservation). */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0), 0);
	check_given_back(FREE_WIN);
	clear_records();
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0), 0);
	CHECK_EQ(f->maps, 0);

	CHECK_EQ(attach(), 0);
	check_carved(WINDOW_BASE);
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		drain_notes(g, NULL, 0);
	clear_records();
}

/*
 * The driver VM detaches while a guest's CALL is between reading the
 * ring pointer and taking a slot (ATTACH waits for taken slots only):
 * the CALL must not take a slot of a ring that is gone (it wrote
 * through df.ring, NULL by then).
 */
static void detach(void)
{
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_ATTACH, 0, 0, 0), 0);
}

static void test_detach_during_call(void)
{
	struct devfile_req req = read_req(9);
	struct devfile_resp resp;

	memset(&resp, 0xff, sizeof(resp));
	on_gva_read = detach;
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_CALL, (u64)(uintptr_t)&req,
		    (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(resp.ret, -DEVFILE_ENODEV);
	CHECK_EQ(resp.seq, 9);
	CHECK_EQ(vms[1].df_inflight, 0);
	for (u32 i = 0; i < DEVFILE_RING_SLOTS; i++)
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, i, 0, 0),
			 DEVIRT_EINVAL);
	CHECK_EQ(attach(), 0);
	for (u32 g = 1; g < CFG_MAX_VMS; g++)
		drain_notes(g, NULL, 0);
	finish_call(1, call(1));
	clear_records();
}

/*
 * A shim that writes DONE itself for a request it still works on (GMAP
 * here): the guest's FETCH, meanwhile on its own CPU, must not take and
 * free the slot under the GMAP, which then used the slot's guest (NULL
 * by then). It waits for the GMAP, then takes it.
 */
static s64 fetch_ret;
static u64 fetch_slot;

static void fetch_meanwhile(void)
{
	struct devfile_resp resp;

	fetch_ret = hc(G(1), DEVIRT_HC_DEVFILE_FETCH, fetch_slot,
		       (u64)(uintptr_t)&resp, 0);
}

static void test_gmap_while_guest_takes_done(void)
{
	struct devfile_resp resp;
	u64 s = call_fault(1);

	devfile_init(); /* a fresh device window */
	ring->slot[s].state = DEVFILE_SLOT_DONE | DEVFILE_SLOT_ASYNC;
	fetch_slot = s;
	fetch_ret = 1;
	on_driver_translate = fetch_meanwhile;
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES, 1),
		 DEVWIN_BASE);
	CHECK_EQ(fetch_ret, DEVIRT_EAGAIN);
	CHECK_EQ(vms[1].df_guest_pages, 1);
	/* FAULTIN and MAP hold the slot the same way; then FETCH takes it. */
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s, (u64)(uintptr_t)&resp, 0),
		 0);
	CHECK_EQ(vms[1].df_inflight, 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, DEVWIN_BASE, 1, 0), 1);
	CHECK_EQ(vms[1].df_guest_pages, 0);
	devfile_init();
	clear_records();
}

/*
 * A MAP on another driver vCPU while COMPLETE revokes the slot's
 * windows: refused, or its page would stay in the driver VM after the
 * request (the driver keeps no access to the process). A second
 * COMPLETE meanwhile is refused too.
 */
static s64 map_ret, complete_ret;
static u64 map_slot;

static void map_meanwhile(void)
{
	map_ret =
		hc(D(), DEVIRT_HC_DEVFILE_MAP, map_slot | (5 << 8), 0x20000, 1);
}

static void complete_meanwhile(void)
{
	complete_ret = hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, map_slot, 0, 0);
}

static void test_map_during_complete(void)
{
	void (*const meanwhile[])(void) = { map_meanwhile, complete_meanwhile };

	for (u32 k = 0; k < ARRAY_SIZE(meanwhile); k++) {
		struct devfile_resp resp;
		struct s2_lookup l;
		u64 s = call(1);
		u64 win = WINDOW_BASE + s * WINDOW_PAGES_PER_SLOT * PAGE_SIZE;

		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_MAP, s, 0x10000, 1), 1);
		CHECK_EQ(vms[1].df_window_pages, 1);
		map_slot = s;
		map_ret = complete_ret = 1;
		on_driver_unmap = meanwhile[k];
		ring->slot[s].resp.ret = 0;
		CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_COMPLETE, s, 0, 0), 0);
		CHECK_EQ(k ? complete_ret : map_ret, DEVIRT_EINVAL);
		CHECK(!s2_translate(&vms[0].s2, win, &l));
		CHECK(!s2_translate(&vms[0].s2, win + 5 * PAGE_SIZE, &l));
		CHECK_EQ(vms[1].df_window_pages, 0);
		CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_FETCH, s,
			    (u64)(uintptr_t)&resp, 0),
			 0);
		CHECK_EQ(vms[1].df_inflight, 0);
	}
	clear_records();
}

/*
 * GREVOKE: the driver VM takes back a frame it gave a guest. The frame
 * leaves the guest's tables before the guest's CPUs are made to flush,
 * the guest is told, and the window page stays taken until its GUNMAP;
 * meanwhile its accesses to the page wait (devfile_stage2_stall).
 * Arguments: a user guest's id however wide, the window's edges, and
 * addresses and counts that wrap.
 */
static void test_grevoke(void)
{
	static const u64 bad[][3] = {
		{ 0, DEVWIN_BASE, 1 }, /* the driver VM itself */
		{ CFG_MAX_VMS, DEVWIN_BASE, 1 },
		{ 1 + U32_WRAP, DEVWIN_BASE, 1 }, /* truncates to 1 */
		{ ~0ULL, DEVWIN_BASE, 1 },
		{ 1, DEVWIN_BASE + 1, 1 },
		{ 1, DEVWIN_BASE - PAGE_SIZE, 1 },
		{ 1, 0, 1 },
		{ 1, DEVWIN_BASE, 0 },
		{ 1, DEVWIN_END - PAGE_SIZE, 2 },
		{ 1, DEVWIN_BASE, DEVWIN_PAGES + 1 },
		{ 1, DEVWIN_BASE, 1ULL << 52 },
		{ 1, DEVWIN_BASE, ~0ULL },
		{ 1, -PAGE_SIZE, 1 },
		{ 1, -4 * PAGE_SIZE, 8 },
		{ 1, DEVWIN_END, 1 },
	};
	struct devfile_note_msg m[4];
	struct fake_s2 *f = &fs2[1];
	struct devirt_devfile_info info;
	struct s2_lookup l;
	u64 s, gpa;

	s = call_fault(1);
	gpa = hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES + PAGE_SIZE, 1);
	CHECK(gpa >= DEVWIN_BASE && gpa < DEVWIN_END);
	finish_call(1, s);
	CHECK_EQ(vms[1].df_guest_pages, 1);
	drain_notes(1, NULL, 0);

	/* Refused: from a guest; bad ids, ranges, wraps. Nothing unmapped. */
	clear_records();
	memset(&rflush, 0, sizeof(rflush));
	CHECK_EQ(hc(G(2), DEVIRT_HC_DEVFILE_GREVOKE, 1, gpa, 1), DEVIRT_EPERM);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GREVOKE, 1, gpa, 1), DEVIRT_EPERM);
	for (u32 k = 0; k < ARRAY_SIZE(bad); k++)
		if (!CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GREVOKE, bad[k][0],
				 bad[k][1], bad[k][2]),
			      DEVIRT_EINVAL))
			fprintf(stderr, "\tGREVOKE(%llu, 0x%llx, %llu)\n",
				(unsigned long long)bad[k][0],
				(unsigned long long)bad[k][1],
				(unsigned long long)bad[k][2]);
	CHECK_EQ(f->unmaps, 0);
	CHECK_EQ(fs2[0].unmaps, 0);
	CHECK_EQ(rflush.n, 0);
	CHECK(s2_translate(&vms[1].s2, gpa, &l));
	CHECK_EQ(drain_notes(1, NULL, 0), 0);

	/* Another guest's window at that address holds nothing. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GREVOKE, 2, gpa, 1), 0);
	CHECK_EQ(rflush.n, 0);
	CHECK(s2_translate(&vms[1].s2, gpa, &l));

	/* Revoked: unmapped, then the guest's CPUs flushed, then told. */
	clear_records();
	ipi.n = 0;
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GREVOKE, 1, gpa, 1), 1);
	CHECK(!s2_translate(&vms[1].s2, gpa, &l));
	CHECK_EQ(f->unmaps, 1);
	CHECK_EQ(f->unmap_last, gpa);
	CHECK_EQ(rflush.n, 1);
	CHECK(rflush.vm == &vms[1]);
	CHECK_EQ(rflush.unmaps_before, 1);
	CHECK_EQ(vms[1].df_guest_pages, 0);
	CHECK_EQ(vms[1].df_revoked, 1);
	CHECK_EQ(ipi.n, 1);
	CHECK_EQ(ipi.vector, GUEST_VECTOR + 1);
	CHECK_EQ(drain_notes(1, m, ARRAY_SIZE(m)), 1);
	CHECK_EQ(m[0].type, DEVFILE_NOTE_REVOKE);
	CHECK_EQ(m[0].handle, gpa);
	CHECK_EQ(m[0].events, 1);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_INFO, (u64)(uintptr_t)&info,
		    sizeof(info), 0),
		 0);
	CHECK_EQ(info.revoked, 1);
	CHECK_EQ(info.guest_pages, 0);

	/* Again: nothing mapped there, no flush, no note. */
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GREVOKE, 1, gpa, 1), 0);
	CHECK_EQ(rflush.n, 1);
	CHECK_EQ(drain_notes(1, NULL, 0), 0);

	/*
	 * Its accesses wait (interrupts on) for the guest to drop the page,
	 * not another guest's, not with interrupts off, not past the page.
	 */
	G(1)->regs.rflags = 0x202;
	G(2)->regs.rflags = 0x202;
	G(1)->stall_gpa = 0;
	CHECK(devfile_stage2_stall(G(1), gpa + 8));
	CHECK_EQ(drain_notes(1, m, ARRAY_SIZE(m)), 1); /* told again */
	CHECK(devfile_stage2_stall(G(1), gpa));
	CHECK_EQ(drain_notes(1, NULL, 0), 0); /* once per page */
	CHECK(!devfile_stage2_stall(G(2), gpa));
	CHECK(!devfile_stage2_stall(G(1), gpa + PAGE_SIZE));
	CHECK(!devfile_stage2_stall(D(), gpa));
	CHECK(!devfile_stage2_stall(G(1), gpa - DEVWIN_BASE));
	G(1)->regs.rflags = 0x2;
	CHECK(!devfile_stage2_stall(G(1), gpa));
	G(1)->regs.rflags = 0x202;
	/* ... for a while only: then it is refused as any stray access. */
	bi.tsc_hz = 1000; /* STALL_MS = 100 ticks */
	G(1)->stall_gpa = 0;
	CHECK(devfile_stage2_stall(G(1), gpa));
	for (u64 t0 = __builtin_ia32_rdtsc();
	     __builtin_ia32_rdtsc() - t0 < 1000;)
		;
	CHECK(!devfile_stage2_stall(G(1), gpa));
	bi.tsc_hz = 0;
	drain_notes(1, NULL, 0);

	/* The guest gives the page back: free, and no more waiting. */
	clear_records();
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, gpa, 1, 0), 0);
	CHECK_EQ(f->unmaps, 0);
	G(1)->stall_gpa = 0;
	CHECK(!devfile_stage2_stall(G(1), gpa));

	/* A flush that is not confirmed still unmaps and is reported. */
	s = call_fault(1);
	gpa = hc(D(), DEVIRT_HC_DEVFILE_GMAP, s, DRV_FRAMES + 2 * PAGE_SIZE, 1);
	finish_call(1, s);
	flush_ok = false;
	CHECK_EQ(hc(D(), DEVIRT_HC_DEVFILE_GREVOKE, 1, gpa, 1), 1);
	flush_ok = true;
	CHECK(!s2_translate(&vms[1].s2, gpa, &l));
	CHECK_EQ(vms[1].df_guest_pages, 0);
	CHECK_EQ(hc(G(1), DEVIRT_HC_DEVFILE_GUNMAP, gpa, 1, 0), 0);
	drain_notes(1, NULL, 0);
	clear_records();
}

int main(void)
{
	world_init();
	test_gunmap();
	test_note();
	test_slot_args();
	test_call_full();
	test_fetch_done_without_complete();
	test_map();
	test_gmap();
	test_faultin();
	test_register();
	test_info();
	test_attach();
	test_attach_window();
	test_detach_during_call();
	test_gmap_while_guest_takes_done();
	test_map_during_complete();
	test_grevoke();
	free(ring);
	return unit_done();
}
