// SPDX-License-Identifier: GPL-2.0
/*
 * devirt_guest_test - isolation tests run inside a devirt user guest.
 *
 *   insmod devirt_guest_test.ko tests=all|none|triple|mem,io,ipi,msr
 *   insmod devirt_guest_test.ko tests=dffuzz,revoke,devfile  (forwarding)
 *
 * Every attempt to reach something outside the guest's partition prints
 * one line
 *   devirt-guest-test: <test> <target>.<op> <detail> PASS|FAIL|SKIP
 * where <detail> is one token, a comma-separated list of key=value pairs;
 * d_<counter>=N in it is how much the hypervisor's refusal counter grew
 * over the attempt (DEVIRT_HC_HV_INFO right before and right after it,
 * interrupts off in between). Extra facts print as
 *   devirt-guest-test: info <key>=<value> ...
 * and the run ends with
 *   devirt-guest-test: done failures=N
 * An attempt PASSes when its counter grew by at least 1 and, for a read,
 * the value was all-ones (no device, no data). SKIP lines are not
 * failures. tests=triple is never part of "all": it triple-faults this
 * CPU and does not return. The module init returns 0 after running, or
 * -EINVAL when @tests names an unknown test. docs/guest-tests.md has the
 * full list of lines.
 */
#define pr_fmt(fmt) "devirt-guest-test: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/ioport.h>
#include <linux/irqflags.h>
#include <linux/smp.h>
#include <asm/processor.h>
#include <asm/msr.h>
#include <asm/apicdef.h>
#include <asm/desc.h>

#include <linux/random.h>
#include <linux/sched.h>
#include <devirt/hc_linux.h>
#include <linux/fcntl.h>
#include <linux/ktime.h>
#include <linux/mman.h>
#include "test_select.h"
#include <devfile/proto.h>
#include "devfile_testdev.h"

static char *tests = "all";
module_param(tests, charp, 0444);
MODULE_PARM_DESC(tests,
		 "comma list of mem,io,ipi,msr; or all, none, or triple");

#define FIXED_VECTOR 0xf0
#define SIPI_VECTOR 0x10
#define MEM_PATTERN 0x5a5a5a5aa5a5a5a5ULL
/* Guest-physical window of the IOAPIC, local APIC and firmware. */
#define APIC_WINDOW_LO 0xfec00000ULL
#define APIC_WINDOW_HI 0x100000000ULL

enum result { RES_PASS, RES_FAIL, RES_SKIP };

enum counter { CNT_REFUSED, CNT_IO, CNT_MSR, CNT_IPI };

static const char *const counter_names[] = {
	[CNT_REFUSED] = "refused",
	[CNT_IO] = "refused_io",
	[CNT_MSR] = "refused_msr",
	[CNT_IPI] = "refused_ipi",
};

static char vendor[13];
static int failures;
/* HV_INFO snapshots: at load, and around each attempt. */
static struct devirt_hv_info *hv, *hv_before, *hv_after;
static long hv_before_ret;

static __printf(4, 5) void report(const char *test, const char *name,
				  enum result res, const char *fmt, ...)
{
	static const char *const words[] = { "PASS", "FAIL", "SKIP" };
	char detail[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (res == RES_FAIL)
		failures++;
	pr_info("%s %s %s %s\n", test, name, detail, words[res]);
}

static u64 counter_value(const struct devirt_hv_info *info, enum counter c)
{
	switch (c) {
	case CNT_IO:
		return info->refused_io;
	case CNT_MSR:
		return info->refused_msr;
	case CNT_IPI:
		return info->refused_ipi;
	default:
		return info->refused;
	}
}

/*
 * An attempt runs between attempt_begin() and attempt_end() with local
 * interrupts off, so that nothing else on this CPU moves the counters.
 */
static void attempt_begin(unsigned long *flags)
{
	local_irq_save(*flags);
	hv_before_ret = devirt_hv_info(hv_before);
}

/*
 * Ends the attempt and writes ",d_<counter>=N" (or ",hv_info=<ret>" when a
 * snapshot failed) to @buf. Returns the counter's growth, or -1.
 */
static long long attempt_end(unsigned long flags, enum counter c, char *buf,
			     size_t len)
{
	long ret = devirt_hv_info(hv_after);
	long long delta;

	local_irq_restore(flags);
	if (hv_before_ret != DEVIRT_EOK || ret != DEVIRT_EOK) {
		snprintf(buf, len, ",hv_info=%ld/%ld", hv_before_ret, ret);
		return -1;
	}
	delta = counter_value(hv_after, c) - counter_value(hv_before, c);
	snprintf(buf, len, ",d_%s=%lld", counter_names[c], delta);
	return delta;
}

/* Copies a VM name into @out as one token: [A-Za-z0-9_-], others '_'. */
static void vm_name(const struct devirt_vm_desc *vm, char *out, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && i < sizeof(vm->name) && vm->name[i]; i++)
		out[i] = (isalnum(vm->name[i]) || vm->name[i] == '-') ?
				 vm->name[i] :
				 '_';
	if (!i && len > 1)
		out[i++] = '?';
	out[i] = '\0';
}

static u64 own_ram_bytes(void)
{
	return hv->vm[hv->vm_id].ram_bytes;
}

/* --- mem: other VMs' and the hypervisor's host-physical memory ---------- */

/*
 * This guest's RAM is host [ram_lo, ram_hi) seen from GPA 0; no GPA maps
 * anything else. Each probe names a real frame of another VM (or of
 * devirt), host-physical address hpa from HV_INFO, and tries it at the
 * GPA a broken second-level table would put it at:
 *   ident:  gpa == hpa (an identity map, like the driver VM's);
 *   offset: gpa == hpa - own ram_lo (its own partition's mapping run on
 *           past ram_hi: the frame just above it).
 * Reachable, a read returns the frame's data without an exit; refused,
 * it returns all-ones and devirt counts it. A write is tried only after
 * its read was refused, so that a broken build does not scribble on the
 * other VM.
 */
static bool mem_gpa_ok(u64 gpa, const char **why)
{
	if (gpa < own_ram_bytes())
		*why = "own-ram";
	else if (gpa >= APIC_WINDOW_LO && gpa < APIC_WINDOW_HI)
		*why = "apic-window";
	else if (gpa >> boot_cpu_data.x86_phys_bits)
		*why = "beyond-phys-bits"; /* ioremap would WARN */
	else if (region_intersects(gpa, PAGE_SIZE, IORESOURCE_SYSTEM_RAM,
				   IORES_DESC_NONE) != REGION_DISJOINT)
		*why = "guest-ram";
	else
		return true;
	return false;
}

static bool mem_read(const char *name, void __iomem *p, u64 gpa, u64 hpa)
{
	char d[48];
	unsigned long flags;
	long long delta;
	bool ok;
	u64 val;

	attempt_begin(&flags);
	val = readq(p);
	delta = attempt_end(flags, CNT_REFUSED, d, sizeof(d));
	ok = val == ~0ULL && delta >= 1;
	report("mem", name, ok ? RES_PASS : RES_FAIL,
	       "gpa=0x%llx,hpa=0x%llx,val=0x%llx%s", gpa, hpa, val, d);
	return ok;
}

static void mem_probe(const char *target, const char *how, u64 gpa, u64 hpa)
{
	const char *why = "";
	char name[48], d[48];
	unsigned long flags;
	void __iomem *p;
	long long delta;

	snprintf(name, sizeof(name), "%s.%s.map", target, how);
	if (!mem_gpa_ok(gpa, &why)) {
		report("mem", name, RES_SKIP, "gpa=0x%llx,hpa=0x%llx,%s", gpa,
		       hpa, why);
		return;
	}
	p = ioremap(gpa, PAGE_SIZE);
	if (!p) {
		report("mem", name, RES_FAIL, "gpa=0x%llx,ioremap-failed", gpa);
		return;
	}
	snprintf(name, sizeof(name), "%s.%s.read", target, how);
	if (!mem_read(name, p, gpa, hpa)) {
		iounmap(p);
		return;
	}
	attempt_begin(&flags);
	writeq(MEM_PATTERN, p);
	delta = attempt_end(flags, CNT_REFUSED, d, sizeof(d));
	snprintf(name, sizeof(name), "%s.%s.write", target, how);
	report("mem", name, delta >= 1 ? RES_PASS : RES_FAIL,
	       "gpa=0x%llx,hpa=0x%llx%s", gpa, hpa, d);
	snprintf(name, sizeof(name), "%s.%s.reread", target, how);
	mem_read(name, p, gpa, hpa);
	iounmap(p);
}

/* Probes a frame of [lo, hi) at the GPAs above: the first one that can. */
static void mem_target(const char *target, u64 lo, u64 hi)
{
	const struct devirt_vm_desc *self = &hv->vm[hv->vm_id];
	char name[48];
	u64 hpa;

	pr_info("info mem target=%s range=0x%llx-0x%llx own=0x%llx-0x%llx\n",
		target, lo, hi, self->ram_lo, self->ram_hi);
	/* ident: the lowest frame whose GPA is not this guest's own RAM. */
	hpa = round_up(max(lo, own_ram_bytes()), PAGE_SIZE);
	if (hpa >= APIC_WINDOW_LO && hpa < APIC_WINDOW_HI)
		hpa = APIC_WINDOW_HI;
	if (hpa + PAGE_SIZE <= hi) {
		mem_probe(target, "ident", hpa, hpa);
	} else {
		snprintf(name, sizeof(name), "%s.ident.map", target);
		report("mem", name, RES_SKIP,
		       "range=0x%llx-0x%llx,none-above-own-ram", lo, hi);
	}
	/* offset: only a range above this guest's can sit past its end. */
	hpa = round_up(max(lo, self->ram_hi), PAGE_SIZE);
	if (hpa + PAGE_SIZE <= hi)
		mem_probe(target, "offset", hpa - self->ram_lo, hpa);
}

static void test_mem(void)
{
	char name[24];
	u64 i;

	for (i = 0; i < hv->nr_vms; i++) {
		if (i == hv->vm_id)
			continue;
		vm_name(&hv->vm[i], name, sizeof(name));
		mem_target(name, hv->vm[i].ram_lo, hv->vm[i].ram_hi);
	}
	mem_target("hypervisor", hv->hyp_base, hv->hyp_base + hv->hyp_size);
}

/* --- io: ports of real devices ------------------------------------------ */

struct io_access {
	const char *name;
	u16 port;
	u8 width; /* 1 or 4 bytes */
	bool out;
	u32 val; /* written by an out */
};

/* No 0xfe to port 0x64: that is the keyboard controller's reset pulse. */
static const struct io_access io_accesses[] = {
	{ "pit_cmd.outb", 0x43, 1, true, 0x34 },
	{ "pit_ch0.inb", 0x40, 1, false, 0 },
	{ "ps2_status.inb", 0x64, 1, false, 0 },
	{ "ps2_data.inb", 0x60, 1, false, 0 },
	{ "ps2_cmd.outb", 0x64, 1, true, 0xad }, /* disable keyboard */
};

static void test_pci(void);

static void test_io(void)
{
	const struct io_access *a;
	unsigned long flags;
	long long delta;
	char d[48];
	u32 val = 0, ones;
	bool ok;

	for (a = io_accesses; a < io_accesses + ARRAY_SIZE(io_accesses); a++) {
		ones = a->width == 4 ? 0xffffffff : 0xff;
		attempt_begin(&flags);
		if (a->out && a->width == 4)
			outl(a->val, a->port);
		else if (a->out)
			outb(a->val, a->port);
		else if (a->width == 4)
			val = inl(a->port);
		else
			val = inb(a->port);
		delta = attempt_end(flags, CNT_IO, d, sizeof(d));
		ok = delta >= 1 && (a->out || val == ones);
		if (a->out)
			report("io", a->name, ok ? RES_PASS : RES_FAIL,
			       "port=0x%x,wrote=0x%x%s", a->port, a->val, d);
		else
			report("io", a->name, ok ? RES_PASS : RES_FAIL,
			       "port=0x%x,val=0x%x%s", a->port, val, d);
	}
	test_pci();
}

/*
 * PCI configuration space through mechanism #1: devirt answers it (a host
 * bridge at 00:00.0, vmm/vm/legacy.c), so the machine's real devices and
 * their configuration registers stay out of reach. Every device and
 * function of bus 0, and one of bus 1: only the virtual bridge answers,
 * and the accesses are not refusals.
 */
static void test_pci(void)
{
	u32 bad = 0, first_bad = 0, v, hb = 0;
	unsigned long flags;
	long long delta;
	char d[48];
	int devfn;

	attempt_begin(&flags);
	for (devfn = 0; devfn <= 256; devfn++) {
		/* devfn 256: bus 1, device 0. */
		outl(0x80000000u | (u32)devfn << 8, 0xcf8);
		v = inl(0xcfc);
		if (devfn == 0)
			hb = v;
		if (v != (devfn ? 0xffffffffu : DEVIRT_PCI_HOSTBRIDGE_ID) &&
		    !bad++)
			first_bad = devfn;
	}
	outl(0, 0xcf8);
	delta = attempt_end(flags, CNT_IO, d, sizeof(d));
	report("io", "pci_config", !bad && delta == 0 ? RES_PASS : RES_FAIL,
	       "hostbridge=0x%x,bad=%u,first_bad=0x%x%s", hb, bad, first_bad,
	       d);
}

/* --- ipi: fixed, NMI, INIT, SIPI to the other VMs' CPUs ------------------ */

static const struct {
	const char *name;
	u32 icr_lo;
} ipi_kinds[] = {
	{ "fixed", DEVIRT_ICR_FIXED | FIXED_VECTOR },
	{ "nmi", DEVIRT_ICR_NMI },
	{ "init", DEVIRT_ICR_INIT_ASSERT },
	{ "sipi", DEVIRT_ICR_SIPI | SIPI_VECTOR },
};

/*
 * Why not to send to APIC ID @id, or NULL: never INIT ourselves, nor every
 * CPU (the broadcast ID; ~0 is a VM without a CPU), because of a bad table.
 */
static const char *ipi_skip(u64 id, u32 self, bool xapic)
{
	if (id == self || id == hv->vm[hv->vm_id].apic_id)
		return "own-apic-id";
	if (id >= (xapic ? 0xff : 0xffffffff))
		return "no-apic-id";
	return NULL;
}

static void test_ipi(void)
{
	void __iomem *xapic = NULL;
	char target[24], name[48], d[48];
	const char *why;
	unsigned long flags;
	long long delta;
	u32 dest, self;
	u64 apicbase, i;
	int k, ret, cpu;

	if (rdmsrl_safe(MSR_IA32_APICBASE, &apicbase)) {
		report("ipi", "apicbase.rdmsr", RES_FAIL, "rdmsr-faulted");
		return;
	}
	if (!(apicbase & X2APIC_ENABLE)) {
		xapic = ioremap(apicbase & MSR_IA32_APICBASE_BASE, PAGE_SIZE);
		if (!xapic) {
			report("ipi", "apic.map", RES_FAIL, "ioremap-failed");
			return;
		}
	}
	cpu = get_cpu();
	self = cpu_data(cpu).apicid;
	put_cpu();
	pr_info("info ipi apicbase=0x%llx mode=%s self_apic_id=%u\n", apicbase,
		xapic ? "xapic" : "x2apic", self);

	for (i = 0; i < hv->nr_vms; i++) {
		if (i == hv->vm_id)
			continue;
		vm_name(&hv->vm[i], target, sizeof(target));
		why = ipi_skip(hv->vm[i].apic_id, self, xapic);
		dest = hv->vm[i].apic_id;
		for (k = 0; k < ARRAY_SIZE(ipi_kinds); k++) {
			snprintf(name, sizeof(name), "%s.%s", target,
				 ipi_kinds[k].name);
			if (why) {
				report("ipi", name, RES_SKIP, "apic=0x%llx,%s",
				       hv->vm[i].apic_id, why);
				continue;
			}
			attempt_begin(&flags);
			ret = devirt_send_ipi(xapic, dest, ipi_kinds[k].icr_lo);
			delta = attempt_end(flags, CNT_IPI, d, sizeof(d));
			/* Dropped: no #GP (x2APIC), counted. */
			report("ipi", name,
			       !ret && delta >= 1 ? RES_PASS : RES_FAIL,
			       "apic=0x%x,icr=0x%x%s%s", dest,
			       ipi_kinds[k].icr_lo, d, ret ? ",gp" : "");
		}
	}
	if (xapic)
		iounmap(xapic);
}

/* --- msr: writes of machine-wide MSRs -------------------------------------- */

/*
 * Each write changes the MSR (@flip: bits toggled, chosen to be harmless
 * should a broken build let them through), so that a write that landed
 * shows: devirt must drop it without #GP, count it, and the MSR must read
 * back unchanged (reads are not intercepted: the CPU's own value). The TSC
 * is written 2^30 cycles back and checked with RDTSC (TCG's RDMSR of it
 * reads 0): it must not have gone back.
 */
static const struct {
	const char *name;
	u32 msr;
	u64 flip;
	bool amd_only;
} msr_targets[] = {
	{ .name = "mtrr_def_type", .msr = 0x2ff, .flip = 0x6 }, /* UC<->WB */
	{ .name = "mcg_ctl", .msr = 0x17b, .flip = ~0ULL }, /* all or none */
	{ .name = "misc_enable", .msr = 0x1a0, .flip = 0x1 }, /* fast strings */
	{ .name = "tsc", .msr = 0x10 },
	/* McStatusWrEn; TOM2 memory type write-back (SYSCFG[22]) */
	{ .name = "hwcr",
	  .msr = 0xc0010015,
	  .flip = 1ULL << 18,
	  .amd_only = true },
	{ .name = "syscfg",
	  .msr = 0xc0010010,
	  .flip = 1ULL << 22,
	  .amd_only = true },
};

#define TSC_BACK (1ULL << 30)

static void test_msr(void)
{
	bool amd = !strcmp(vendor, "AuthenticAMD");
	unsigned long flags;
	long long delta;
	char name[48], d[48];
	int i, rerr, werr, rerr2;
	u64 val, want, now;
	bool same;

	for (i = 0; i < ARRAY_SIZE(msr_targets); i++) {
		bool tsc = msr_targets[i].msr == 0x10;

		if (msr_targets[i].amd_only && !amd)
			continue;
		snprintf(name, sizeof(name), "%s.wrmsr", msr_targets[i].name);
		val = native_read_msr_safe(msr_targets[i].msr, &rerr);
		if (rerr) {
			report("msr", name, RES_SKIP, "msr=0x%x,rdmsr-faulted",
			       msr_targets[i].msr);
			continue;
		}
		attempt_begin(&flags);
		if (tsc)
			val = rdtsc_ordered();
		want = tsc ? val - TSC_BACK : val ^ msr_targets[i].flip;
		werr = native_write_msr_safe(msr_targets[i].msr, (u32)want,
					     (u32)(want >> 32));
		if (tsc) {
			now = rdtsc_ordered();
			rerr2 = 0;
			same = now >= val;
		} else {
			now = native_read_msr_safe(msr_targets[i].msr, &rerr2);
			same = !rerr2 && now == val;
		}
		delta = attempt_end(flags, CNT_MSR, d, sizeof(d));
		report("msr", name,
		       !werr && same && delta >= 1 ? RES_PASS : RES_FAIL,
		       "msr=0x%x,val=0x%llx,wrote=0x%llx,now=0x%llx%s%s",
		       msr_targets[i].msr, val, want, now, d,
		       werr ? ",gp" : "");
	}
}

/* --- triple: shut this CPU down ------------------------------------------ */

static void test_triple(void)
{
	struct desc_ptr old;

	pr_info("info triple=now (int3 with an empty IDT)\n");
	local_irq_disable();
	store_idt(&old);
	/* #BP is past the IDT limit: #GP, then #DF, then shutdown. */
	native_idt_invalidate();
	asm volatile("int3");
	/* Only a broken CPU model gets here. */
	native_load_idt(&old);
	local_irq_enable();
	report("triple", "int3", RES_FAIL, "returned");
}

/* --- devfile: the forwarding counters, and hostile requests ------------- */

static int dffuzz_count = 100000;
module_param(dffuzz_count, int, 0444);
MODULE_PARM_DESC(dffuzz_count, "requests of the dffuzz test");

static long df_info(struct devirt_devfile_info *di)
{
	memset(di, 0, sizeof(*di));
	return devirt_hypercall(DEVIRT_HC_DEVFILE_INFO, (unsigned long)di,
				sizeof(*di), 0);
}

/*
 * After the guest's forwarding work: nothing in flight, none of its pages
 * in a driver window, no driver frame left in its second-level tables.
 */
static void test_devfile(void)
{
	struct devirt_devfile_info di;
	long r = df_info(&di);

	report("devfile", "counters",
	       !r && di.attached && !di.inflight && !di.window_pages &&
			       !di.guest_pages ?
		       RES_PASS :
		       RES_FAIL,
	       "ret=%ld,attached=%llu,calls=%llu,async=%llu,inflight=%llu,window_pages=%llu,guest_pages=%llu",
	       r, di.attached, di.calls, di.async, di.inflight, di.window_pages,
	       di.guest_pages);
}

/* One request straight to devirt, collected without the stub's interrupt. */
static long df_call(struct devfile_req *req, struct devfile_resp *resp)
{
	long r = devirt_hypercall(DEVIRT_HC_DEVFILE_CALL, (unsigned long)req,
				  (unsigned long)resp, 0);
	u64 slot;

	if (r || resp->ret != -DEVFILE_EINPROGRESS)
		return r;
	slot = resp->handle;
	for (;;) {
		r = devirt_hypercall(DEVIRT_HC_DEVFILE_FETCH, slot,
				     (unsigned long)resp, 0);
		if (r == DEVIRT_FETCH_FAULTIN) {
			/* Not faulted in: the driver gets -EFAULT. */
			devirt_hypercall(DEVIRT_HC_DEVFILE_RESUME, slot, 0, 0);
			continue;
		}
		if (r != DEVIRT_EAGAIN)
			return r;
		cond_resched();
	}
}

static void df_release(struct devfile_req *req, struct devfile_resp *resp,
		       u64 handle)
{
	memset(req, 0, sizeof(*req));
	req->magic = DEVFILE_MAGIC;
	req->major = DEVFILE_PROTO_MAJOR;
	req->op = DEVFILE_OP_RELEASE;
	req->handle = handle;
	df_call(req, resp);
}

/*
 * dffuzz: random requests from this kernel module through devirt to the
 * shim: unknown ops, bad magic and versions, forged, foreign and closed
 * handles, absurd sizes, kernel-space, unaligned and unmapped pointers.
 * Every one must come back with a result (never a hang), errors must be
 * -errno values, and the counters must end at zero. Real opens are
 * O_NONBLOCK, and device ioctls (magic 'D') are left out, so that no
 * request can block or change the device's mode.
 */
#define DFFUZZ_ERRNOS 134 /* EHWPOISON + 1 */

static void test_dffuzz(void)
{
	static const char *const names[] = { "devfile_test", "nonexistent",
					     "../etc/passwd", "",
					     "devfile_test/../x" };
	struct devirt_devfile_info before, after;
	u64 handles[8] = { 0 }, closed[8] = { 0 };
	struct devfile_req *req;
	struct devfile_resp *resp;
	long bad = 0, answered = 0, errors = 0, r;
	/* Errors by errno (1..DFFUZZ_ERRNOS-1; 0: any larger one). */
	static long by_errno[DFFUZZ_ERRNOS];
	char line[256];
	int len = 0;
	u8 *buf;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	resp = kzalloc(sizeof(*resp), GFP_KERNEL);
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!req || !resp || !buf || df_info(&before) || !before.attached) {
		report("dffuzz", "setup", RES_SKIP, "no shim attached");
		goto out;
	}
	for (int n = 0; n < dffuzz_count; n++) {
		u32 rnd = get_random_u32(), op;
		u64 ptrs[] = { 0,
			       1,
			       (unsigned long)buf,
			       (unsigned long)buf + 3,
			       0xffff888000000000ULL,
			       0x7ffffffff000ULL,
			       get_random_u64(),
			       0x1000 };

		memset(req, 0, sizeof(*req));
		req->magic = (rnd & 0xff) ? DEVFILE_MAGIC : get_random_u32();
		req->major = (rnd & 0xf00) ? DEVFILE_PROTO_MAJOR : rnd >> 24;
		op = get_random_u32() % (DEVFILE_OP_MAX + 3);
		req->op = op;
		req->flags = DEVFILE_REQ_NONBLOCK;
		req->seq = n;
		switch (get_random_u32() % 4) {
		case 0:
			req->handle = handles[rnd % 8];
			break;
		case 1:
			req->handle = closed[rnd % 8];
			break;
		case 2:
			req->handle = get_random_u64();
			break;
		default:
			req->handle = 0;
		}
		for (int i = 0; i < 6; i++)
			req->a[i] = (get_random_u32() & 1) ?
					    ptrs[get_random_u32() %
						 ARRAY_SIZE(ptrs)] :
					    get_random_u64() >>
						    (get_random_u32() % 64);
		if (op == DEVFILE_OP_IOCTL && ((req->a[0] >> 8) & 0xff) == 'D')
			req->a[0] ^= 0x100; /* not the device's own ioctls */
		if (op == DEVFILE_OP_READ || op == DEVFILE_OP_WRITE ||
		    op == DEVFILE_OP_POLL || op == DEVFILE_OP_MMAP ||
		    op == DEVFILE_OP_FAULT)
			req->a[1] &= (get_random_u32() & 1) ? 0xfff : ~0ULL;
		if (op == DEVFILE_OP_OPEN) {
			strscpy(req->name, names[rnd % ARRAY_SIZE(names)],
				sizeof(req->name));
			req->a[0] = 04000 | (rnd & 3); /* O_NONBLOCK | mode */
		}
		memset(resp, 0xa5, sizeof(*resp));
		r = df_call(req, resp);
		if (r) {
			bad++; /* the hypercall itself failed */
			continue;
		}
		answered++;
		if (resp->ret < 0) {
			errors++;
			if (resp->ret < -4095)
				bad++; /* not an errno */
			else
				by_errno[-resp->ret < DFFUZZ_ERRNOS ? -resp->ret :
								      0]++;
		}
		if (op == DEVFILE_OP_OPEN && req->magic == DEVFILE_MAGIC &&
		    req->major == DEVFILE_PROTO_MAJOR && resp->ret >= 0) {
			u32 k = get_random_u32() % 8;
			u64 h = resp->handle;

			if (handles[k]) {
				/* Close the old one: later uses are stale. */
				df_release(req, resp, handles[k]);
				closed[k] = handles[k];
			}
			handles[k] = h;
		}
	}
	for (int k = 0; k < 8; k++)
		if (handles[k])
			df_release(req, resp, handles[k]);
	df_info(&after);
	for (int e = 1; e < DFFUZZ_ERRNOS; e++)
		if (by_errno[e])
			len += scnprintf(line + len, sizeof(line) - len,
					 "%se%d:%ld", len ? "," : "", e,
					 by_errno[e]);
	if (by_errno[0])
		len += scnprintf(line + len, sizeof(line) - len, "%sother:%ld",
				 len ? "," : "", by_errno[0]);
	pr_info("info dffuzz_errors=%s\n", len ? line : "none");
	report("dffuzz", "requests",
	       answered == dffuzz_count && !bad ? RES_PASS : RES_FAIL,
	       "sent=%d,answered=%ld,errors=%ld,bad=%ld", dffuzz_count,
	       answered, errors, bad);
	report("dffuzz", "counters",
	       !after.inflight && !after.window_pages && !after.guest_pages ?
		       RES_PASS :
		       RES_FAIL,
	       "inflight=%llu,window_pages=%llu,guest_pages=%llu,calls=+%llu",
	       after.inflight, after.window_pages, after.guest_pages,
	       after.calls - before.calls);
out:
	kfree(req);
	kfree(resp);
	kfree(buf);
}

/*
 * revoke: a guest kernel that keeps a driver frame after it gave the file
 * back (issue 10). It maps page 0 of the test device's movable region
 * through raw requests, as the stub would, and writes pattern A through
 * the frame; then RELEASEs the file without GUNMAP, so that the driver VM
 * unmaps the page while the frame is still in this guest's second-level
 * tables. devirt must have taken it away by then: a read of the old
 * guest-physical address gives all-ones (after a short stall at most),
 * and pattern B written there must reach nothing. A fresh mapping of the
 * same page still holds A. Not in "all": it needs a forwarded
 * devfile_test (init-guest runs it with dffuzz).
 */
#define REVOKE_VA 0x7f0000000000ULL /* a user-looking vma start */
#define REVOKE_A 0xa5a5a5a5c0ffee01ULL
#define REVOKE_B 0x5b5b5b5bbadbad02ULL

static void df_req_init(struct devfile_req *req, u32 op, u64 handle)
{
	memset(req, 0, sizeof(*req));
	req->magic = DEVFILE_MAGIC;
	req->major = DEVFILE_PROTO_MAJOR;
	req->op = op;
	req->handle = handle;
}

/* A request's result: the hypercall's error, else the driver's ret. */
static long df_do(struct devfile_req *req, struct devfile_resp *resp)
{
	long r;

	memset(resp, 0, sizeof(*resp));
	r = df_call(req, resp);
	return r ? (r < 0 ? r : -EIO) : resp->ret;
}

/*
 * OPEN devfile_test, MMAP one page of the movable region and FAULT it in
 * for writing: *gpa, *mt as the stub would get them. -errno, and *what
 * names the step that failed.
 */
static long revoke_map(struct devfile_req *req, struct devfile_resp *resp,
		       u64 *handle, u64 *gpa, u64 *mt, const char **what)
{
	u64 id;
	long r;

	*handle = 0;
	df_req_init(req, DEVFILE_OP_OPEN, 0);
	req->a[0] = O_RDWR;
	strscpy(req->name, DEVFILE_TEST_NAME, sizeof(req->name));
	*what = "open";
	r = df_do(req, resp);
	if (r < 0)
		return r;
	*handle = resp->handle;
	df_req_init(req, DEVFILE_OP_MMAP, *handle);
	req->a[0] = REVOKE_VA;
	req->a[1] = PAGE_SIZE;
	req->a[2] = DEVFILE_TEST_MAP_MOVABLE >> PAGE_SHIFT;
	req->a[3] = PROT_READ | PROT_WRITE;
	req->a[4] = MAP_SHARED;
	*what = "mmap";
	r = df_do(req, resp);
	if (r < 0)
		return r;
	id = resp->v[0];
	df_req_init(req, DEVFILE_OP_FAULT, *handle);
	req->a[0] = id;
	req->a[1] = 0;
	req->a[2] = 1;
	*what = "fault";
	r = df_do(req, resp);
	if (r < 0)
		return r;
	*gpa = resp->v[0];
	*mt = resp->v[1];
	return 0;
}

/* The frame at gpa, mapped as its memory type says. */
static void __iomem *revoke_iomap(u64 gpa, u64 mt)
{
	if (gpa & ~PAGE_MASK)
		return NULL;
	return mt == DEVFILE_MT_WB ? ioremap_cache(gpa, PAGE_SIZE) :
				     ioremap(gpa, PAGE_SIZE);
}

static void test_revoke(void)
{
	struct devirt_devfile_info di;
	struct devfile_req *req;
	struct devfile_resp *resp;
	u64 h1 = 0, h2 = 0, gpa1 = 0, gpa2 = 0, mt1 = 0, mt2 = 0, v = 0;
	void __iomem *p1 = NULL, *p2 = NULL;
	const char *what = "alloc";
	ktime_t t0;
	s64 ms;
	long r;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	resp = kzalloc(sizeof(*resp), GFP_KERNEL);
	if (!req || !resp || df_info(&di) || !di.attached) {
		report("revoke", "setup", RES_SKIP, "no shim attached");
		goto out;
	}

	/* The zero-copy mapping works: A through the frame, read back. */
	r = revoke_map(req, resp, &h1, &gpa1, &mt1, &what);
	p1 = r ? NULL : revoke_iomap(gpa1, mt1);
	if (!p1) {
		report("revoke", "map", RES_FAIL, "%s=%ld,gpa=0x%llx", what, r,
		       gpa1);
		goto out;
	}
	writeq(REVOKE_A, p1);
	v = readq(p1);
	report("revoke", "map", v == REVOKE_A ? RES_PASS : RES_FAIL,
	       "gpa=0x%llx,mt=%llu,read=0x%llx", gpa1, mt1, v);

	/* Give the file back, keep the frame: no GUNMAP. */
	df_req_init(req, DEVFILE_OP_RELEASE, h1);
	r = df_do(req, resp);
	h1 = 0;
	t0 = ktime_get();
	v = readq(p1);
	ms = ktime_ms_delta(ktime_get(), t0);
	writeq(REVOKE_B, p1);
	report("revoke", "old_read", !r && v == ~0ULL ? RES_PASS : RES_FAIL,
	       "release=%ld,gpa=0x%llx,read=0x%llx,ms=%lld", r, gpa1, v, ms);

	/* The page through a fresh mapping: A, never B. */
	r = revoke_map(req, resp, &h2, &gpa2, &mt2, &what);
	p2 = r ? NULL : revoke_iomap(gpa2, mt2);
	if (!p2) {
		report("revoke", "fresh_read", RES_FAIL, "%s=%ld,gpa=0x%llx",
		       what, r, gpa2);
		goto out;
	}
	v = readq(p2);
	report("revoke", "fresh_read", v == REVOKE_A ? RES_PASS : RES_FAIL,
	       "gpa=0x%llx,read=0x%llx,%s", gpa2, v,
	       v == REVOKE_A ? "kept" :
			       (v == REVOKE_B ? "overwritten" : "other"));

	/* Done properly this time: nothing of either left in this guest. */
	iounmap(p2);
	p2 = NULL;
	devirt_hypercall(DEVIRT_HC_DEVFILE_GUNMAP, gpa2, 1, 0);
	df_req_init(req, DEVFILE_OP_RELEASE, h2);
	df_do(req, resp);
	h2 = 0;
	r = df_info(&di);
	report("revoke", "counters",
	       !r && !di.inflight && !di.guest_pages ? RES_PASS : RES_FAIL,
	       "ret=%ld,inflight=%llu,window_pages=%llu,guest_pages=%llu", r,
	       di.inflight, di.window_pages, di.guest_pages);
out:
	if (p1)
		iounmap(p1);
	if (p2)
		iounmap(p2);
	if (req && resp) {
		if (h1)
			df_release(req, resp, h1);
		if (h2)
			df_release(req, resp, h2);
	}
	kfree(req);
	kfree(resp);
}

/* --- driver --------------------------------------------------------------- */

struct guest_test {
	const char *name;
	void (*fn)(void);
	bool in_all;
};

static const struct guest_test all_tests[] = {
	{ .name = "mem", .fn = test_mem, .in_all = true },
	{ .name = "io", .fn = test_io, .in_all = true },
	{ .name = "ipi", .fn = test_ipi, .in_all = true },
	{ .name = "msr", .fn = test_msr, .in_all = true },
	{ .name = "devfile", .fn = test_devfile },
	{ .name = "dffuzz", .fn = test_dffuzz },
	{ .name = "revoke", .fn = test_revoke },
	{ .name = "triple", .fn = test_triple }, /* last: see the init */
};

/* Sets bit i of *mask for each test named in @list; -EINVAL if unknown. */
static int parse_tests(const char *list, unsigned long *mask)
{
	unsigned long all = 0;

	for (int i = 0; i < ARRAY_SIZE(all_tests); i++)
		if (all_tests[i].in_all)
			all |= 1UL << i;
	return devirt_parse_tests(list, all_tests, sizeof(all_tests[0]),
				  ARRAY_SIZE(all_tests), all, mask);
}

/* Reads HV_INFO once and checks that it has what the tests need. */
static bool setup(void)
{
	char name[24];
	long ret;
	u64 i;

	ret = devirt_hv_info(hv);
	if (ret != DEVIRT_EOK) {
		if (ret == DEVIRT_HC_FAULTED)
			report("setup", "hv_info", RES_FAIL, "faulted");
		else
			report("setup", "hv_info", RES_FAIL, "%ld", ret);
		return false;
	}
	pr_info("info abi=0x%llx backend=%llu vm_id=%llu nr_vms=%llu tsc_khz=%llu\n",
		hv->abi, hv->backend, hv->vm_id, hv->nr_vms, hv->tsc_khz);
	pr_info("info hyp_base=0x%llx hyp_size=0x%llx refused=%llu refused_io=%llu refused_msr=%llu refused_ipi=%llu\n",
		hv->hyp_base, hv->hyp_size, hv->refused, hv->refused_io,
		hv->refused_msr, hv->refused_ipi);
	/* The per-kind counters and vm[] came with ABI 0.2. */
	if ((hv->abi >> 16) != DEVIRT_ABI_MAJOR || (hv->abi & 0xffff) < 2) {
		report("setup", "abi", RES_FAIL, "0x%llx", hv->abi);
		return false;
	}
	if (hv->nr_vms > DEVIRT_MAX_VMS || hv->vm_id >= hv->nr_vms) {
		report("setup", "vm_table", RES_FAIL, "vm_id=%llu,nr_vms=%llu",
		       hv->vm_id, hv->nr_vms);
		return false;
	}
	for (i = 0; i < hv->nr_vms; i++) {
		vm_name(&hv->vm[i], name, sizeof(name));
		pr_info("info vm%llu name=%s role=%llu state=%llu ram=0x%llx-0x%llx ram_bytes=0x%llx apic_id=%llu%s\n",
			i, name, hv->vm[i].role, hv->vm[i].state,
			hv->vm[i].ram_lo, hv->vm[i].ram_hi, hv->vm[i].ram_bytes,
			hv->vm[i].apic_id, i == hv->vm_id ? " self" : "");
	}
	return true;
}

static int __init devirt_guest_test_init(void)
{
	/* triple is the last entry of all_tests[]. */
	const unsigned long triple = 1UL << (ARRAY_SIZE(all_tests) - 1);
	unsigned long mask;
	char sig[13];
	int i, ret;

	ret = parse_tests(tests, &mask);
	if (ret)
		return ret;

	devirt_hc_setup(vendor);
	devirt_hc_signature(sig);
	pr_info("info vendor=%s insn=%s sig=%s tests=%s\n", vendor,
		devirt_hc_vmmcall ? "vmmcall" : "vmcall",
		strcmp(sig, DEVIRT_CPUID_SIGNATURE) ? "other" : sig,
		tests ? tests : "");

	failures = 0;
	hv = kzalloc(sizeof(*hv), GFP_KERNEL);
	hv_before = kzalloc(sizeof(*hv_before), GFP_KERNEL);
	hv_after = kzalloc(sizeof(*hv_after), GFP_KERNEL);
	if (!hv || !hv_before || !hv_after) {
		report("setup", "alloc", RES_FAIL, "kmalloc-failed");
		goto out;
	}
	/* The hypervisor's tables are not needed to crash. */
	if ((mask & ~triple) && !setup())
		mask &= triple;
	for (i = 0; i < ARRAY_SIZE(all_tests); i++) {
		if (!(mask & (1UL << i)))
			continue;
		pr_info("info start=%s\n", all_tests[i].name);
		all_tests[i].fn();
	}
out:
	pr_info("done failures=%d\n", failures);
	kfree(hv);
	kfree(hv_before);
	kfree(hv_after);
	return 0;
}

static void __exit devirt_guest_test_exit(void)
{
}

module_init(devirt_guest_test_init);
module_exit(devirt_guest_test_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt isolation tests for a user guest");
