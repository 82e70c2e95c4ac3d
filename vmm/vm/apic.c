// SPDX-License-Identifier: GPL-2.0
/*
 * Interprocessor interrupts. A VM may signal its own CPUs only: INIT,
 * SIPI, NMI or a fixed IPI aimed at another VM's CPU is dropped and
 * logged. In x2APIC mode the ICR is an MSR (msr.c); in xAPIC mode the
 * APIC page is left out of the VM's second-level tables and each access
 * to it is emulated here (SDM Vol. 3A 10.4.1, 10.6.1 "Interrupt Command
 * Register", 10.6.2 "Determining IPI Destination").
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define LVT_MASKED (1u << 16)
#define LVTT_MODE(v) \
	(((v) >> 17) & 3) /* 0 one-shot, 1 periodic, 2 TSC-deadline */
#define LVTT_TSC_DEADLINE 2

#define ICR_VECTOR(v) ((u32)(v)&0xff)
#define ICR_MODE(v) (((v) >> 8) & 7) /* 5 INIT, 6 SIPI */
#define ICR_LOGICAL (1ULL << 11)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3) /* 1 self, 2 all, 3 others */

static const char *const mode_names[8] = {
	"fixed IPI", "lowest-priority IPI",
	"SMI",	     "reserved IPI",
	"NMI",	     "INIT",
	"SIPI",	     "reserved IPI",
};

static u64 apic_page; /* host xAPIC base, when trapped */
bool tsc_deadline_native;
u64 lapic_timer_hz;

static volatile u32 *apic_reg(u32 off)
{
	return (volatile u32 *)phys_to_virt(apic_page + off);
}

/* This CPU's LAPIC register @off, in whichever mode it is (SDM 10.12.1.2). */
static u32 lapic_read(u32 off)
{
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD)
		return (u32)rdmsr(0x800 + (off >> 4));
	return *(volatile u32 *)phys_to_virt(
		(rdmsr(MSR_IA32_APIC_BASE) & ~0xfffULL) + off);
}

static void lapic_write(u32 off, u32 val)
{
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD)
		wrmsr(0x800 + (off >> 4), val);
	else
		*(volatile u32 *)phys_to_virt(
			(rdmsr(MSR_IA32_APIC_BASE) & ~0xfffULL) + off) = val;
}

/* SDM 10.6.1: fixed, edge, destination shorthand "self". */
void apic_self_ipi(u8 vector)
{
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD)
		wrmsr(0x83f, vector); /* SELF IPI register (10.12.11) */
	else
		lapic_write(APIC_ICR_LO, (1u << 18) | vector);
}

/*
 * SDM 10.6.1: a fixed, edge, physical-destination IPI from this CPU's
 * LAPIC, for devfile notifications. In xAPIC mode the high ICR half is
 * put back: the CPU's owner may be between its own two ICR writes.
 */
static void apic_send(u32 apic_id, u32 lo)
{
	u32 hi;

	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD) {
		wrmsr(MSR_X2APIC_ICR, ((u64)apic_id << 32) | lo);
		return;
	}
	hi = lapic_read(APIC_ICR_HI);
	lapic_write(APIC_ICR_HI, apic_id << 24);
	lapic_write(APIC_ICR_LO, lo);
	lapic_write(APIC_ICR_HI, hi);
}

void apic_send_fixed(u32 apic_id, u8 vector)
{
	apic_send(apic_id, vector);
}

/* SDM 10.6.1: delivery mode 100b (NMI), vector ignored. */
void apic_send_nmi(u32 apic_id)
{
	apic_send(apic_id, 4u << 8);
}

/*
 * The LAPIC timer rate against the TSC, measured once on the boot CPU
 * with the timer masked, one-shot, divide by 1 (SDM 10.5.4). Guests
 * without a native TSC-deadline timer get one emulated on top of it.
 */
void apic_timer_calibrate(void)
{
	u32 a, b, c, d, lvtt = lapic_read(APIC_LVTT);
	u32 tdcr = lapic_read(APIC_TDCR);
	u64 t0, hz = boot_info->tsc_hz, left;

	cpuid(1, 0, &a, &b, &c, &d);
	tsc_deadline_native = c & (1u << 24);
	lapic_write(APIC_LVTT, LVT_MASKED | 0xff);
	lapic_write(APIC_TDCR, 0xb); /* divide by 1 */
	lapic_write(APIC_TMICT, 0xffffffffu);
	t0 = rdtsc();
	while (rdtsc() - t0 < hz / 100) /* 10 ms */
		cpu_relax();
	left = lapic_read(APIC_TMCCT);
	lapic_write(APIC_TMICT, 0);
	lapic_write(APIC_TDCR, tdcr);
	lapic_write(APIC_LVTT, lvtt);
	lapic_timer_hz = (0xffffffffULL - left) * 100;
	pr_info("LAPIC timer %lu kHz, TSC %lu kHz, TSC-deadline timer: %s\n",
		lapic_timer_hz / 1000, hz / 1000,
		tsc_deadline_native ? "native" : "emulated for guests");
}

static bool deadline_emulated(struct vcpu *vcpu)
{
	return !tsc_deadline_native && vcpu->vm->role == VM_ROLE_GUEST;
}

/* Arm the real timer, one-shot, to fire at the guest's TSC deadline. */
static void deadline_arm(struct vcpu *vcpu)
{
	u64 now = rdtsc(), d = vcpu->tsc_deadline, hz = boot_info->tsc_hz;
	u64 delta, ticks;

	if (!d) {
		lapic_write(APIC_TMICT, 0); /* disarmed (SDM 10.5.4.1) */
		return;
	}
	delta = d > now ? d - now : 0;
	ticks = (delta / hz) * lapic_timer_hz +
		(delta % hz) * lapic_timer_hz / hz + 1; /* never early */
	lapic_write(APIC_TMICT, (u32)MIN(ticks, 0xffffffffULL));
}

void lvtt_write(struct vcpu *vcpu, u32 val)
{
	if (!deadline_emulated(vcpu)) {
		lapic_write(APIC_LVTT, val);
		return;
	}
	vcpu->lvtt = val;
	if (LVTT_MODE(val) != LVTT_TSC_DEADLINE) {
		lapic_write(APIC_LVTT, val);
		return;
	}
	/* The real timer runs one-shot at divide 1 on the guest's behalf. */
	lapic_write(APIC_TDCR, 0xb);
	lapic_write(APIC_LVTT, val & ~(3u << 17));
	deadline_arm(vcpu);
}

void tsc_deadline_write(struct vcpu *vcpu, u64 deadline)
{
	/* SDM 10.5.4.1: ignored unless the timer is in TSC-deadline mode. */
	if (LVTT_MODE(vcpu->lvtt) != LVTT_TSC_DEADLINE)
		return;
	vcpu->tsc_deadline = deadline;
	deadline_arm(vcpu);
}

u64 tsc_deadline_read(struct vcpu *vcpu)
{
	/* Reads 0 once the deadline has passed (the timer fired). */
	if (LVTT_MODE(vcpu->lvtt) != LVTT_TSC_DEADLINE ||
	    rdtsc() >= vcpu->tsc_deadline)
		return 0;
	return vcpu->tsc_deadline;
}

static bool owns_apic_id(struct vm *vm, u32 id)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].apic_id == id)
			return true;
	return false;
}

/* x2APIC logical ID: cluster in 31:16, one bit per CPU (SDM 10.12.10.2). */
static bool owns_x2apic_logical(struct vm *vm, u32 dest)
{
	u32 cluster = dest >> 16, bits = dest & 0xffff;

	for (u32 i = 0; i < 16; i++)
		if ((bits & (1u << i)) && !owns_apic_id(vm, (cluster << 4) | i))
			return false;
	return bits != 0;
}

/*
 * xAPIC logical destination (SDM 10.6.2.2): only a subset of the calling
 * CPU's own logical ID is allowed. Multi-CPU VMs would need every vCPU's
 * LDR; the driver VM has one CPU.
 */
static bool owns_xapic_logical(struct vcpu *vcpu, u32 mda)
{
	struct vm *vm = vcpu->vm;
	u32 ldr =
		(vm->role == VM_ROLE_GUEST ? vcpu->ldr : *apic_reg(APIC_LDR)) >>
		24;
	bool flat = (*apic_reg(APIC_DFR) >> 28) == 0xf;

	if (vm->nr_vcpus != 1 || !mda)
		return false;
	if (flat)
		return (mda & ~ldr) == 0;
	return (mda >> 4) == (ldr >> 4) && ((mda & 0xf) & ~(ldr & 0xf)) == 0;
}

bool icr_allowed(struct vcpu *vcpu, u64 *icr, bool x2apic)
{
	struct vm *vm = vcpu->vm;
	u64 v = *icr;
	u32 dest = x2apic ? (u32)(v >> 32) : (u32)(v >> 56);
	bool one = vm->nr_vcpus == 1, ok;

	switch (ICR_SHORTHAND(v)) {
	case 1: /* self */
		return true;
	case 2: /* all including self: fine when "all" is just us */
		*icr = (v & ~(3ULL << 18)) | (1ULL << 18);
		ok = one;
		break;
	case 3: /* all excluding self */
		ok = false;
		break;
	default:
		if (!(v & ICR_LOGICAL))
			ok = owns_apic_id(vm, dest);
		else if (x2apic)
			ok = owns_x2apic_logical(vm, dest);
		else
			ok = owns_xapic_logical(vcpu, dest);
		/*
		 * A guest's real LDR is 0 (apic_mmio): send its own logical
		 * IPI physically, to its one CPU.
		 */
		if (ok && (v & ICR_LOGICAL) && !x2apic &&
		    vm->role == VM_ROLE_GUEST)
			*icr = (v & ~(ICR_LOGICAL | (0xffULL << 56))) |
			       ((u64)vcpu->apic_id << 56);
	}
	if (!ok)
		vm_refuse(vm, REFUSE_IPI,
			  "%s (vector 0x%x) to %s 0x%x: not a CPU of this VM",
			  mode_names[ICR_MODE(v)], ICR_VECTOR(v),
			  ICR_SHORTHAND(v)  ? "APIC shorthand" :
			  (v & ICR_LOGICAL) ? "logical APIC" :
					      "APIC ID",
			  ICR_SHORTHAND(v) ? (u32)ICR_SHORTHAND(v) : dest);
	return ok;
}

static void apic_mmio(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
		      u64 *val)
{
	u32 off = gpa & 0xffc, shift = (gpa & 3) * 8;

	if (!write) {
		if (off == APIC_LVTT && deadline_emulated(vcpu))
			*val = vcpu->lvtt >> shift;
		else if (off == APIC_LDR && vcpu->vm->role == VM_ROLE_GUEST)
			*val = vcpu->ldr >> shift;
		else
			*val = *apic_reg(off) >> shift;
		return;
	}
	if (size != 4 || shift) {
		/* SDM 10.4.1: APIC registers take aligned 32-bit accesses. */
		pr_info("[%s] ignored %u-byte APIC write at 0x%x\n",
			vcpu->vm->name, size, (u32)(gpa & 0xfff));
		return;
	}
	if (off == APIC_ICR_LO) {
		u64 icr = ((u64)*apic_reg(APIC_ICR_HI) << 32) | (u32)*val;

		if (icr_allowed(vcpu, &icr, false)) {
			*apic_reg(APIC_ICR_HI) = (u32)(icr >> 32);
			*apic_reg(APIC_ICR_LO) = (u32)icr;
		}
		return;
	}
	if (off == APIC_LVTT) {
		lvtt_write(vcpu, (u32)*val);
		return;
	}
	if (off == APIC_LDR && vcpu->vm->role == VM_ROLE_GUEST) {
		/*
		 * SDM 10.6.2.2: a CPU accepts a logical-destination interrupt
		 * when its LDR matches. The driver VM's devices use logical
		 * destinations too, so a guest's real LDR stays 0 (accepts
		 * none of them); the guest sees the value it wrote.
		 */
		vcpu->ldr = (u32)*val;
		return;
	}
	*apic_reg(off) = (u32)*val;
}

int apic_trap_init(struct vm *vm)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);

	/*
	 * VMs start in xAPIC mode, as after reset, with the APIC page trapped.
	 * A VM may switch to x2APIC itself (msr.c); from then on the page is
	 * inert (SDM 10.12.2) and the ICR MSR intercept does the filtering.
	 */
	if (base & APIC_BASE_EXTD) {
		pr_err("[%s] the APIC is already in x2APIC mode\n", vm->name);
		return -1;
	}
	apic_page = base & 0x000ffffffffff000ULL;
	pr_info("[%s] xAPIC at 0x%lx: page trapped to filter IPIs\n", vm->name,
		apic_page);
	return s2_unmap(&vm->s2, apic_page, PAGE_SIZE);
}

bool apic_handle_fault(struct vcpu *vcpu, const struct exit_info *ex)
{
	if (!apic_page || (ex->s2.gpa & ~0xfffULL) != apic_page)
		return false;
	if (mmio_emulate(vcpu, ex->s2.gpa, apic_mmio)) {
		pr_err("[%s] APIC access at rip 0x%lx not emulated: #GP\n",
		       vcpu->vm->name, vcpu->regs.rip);
		arch->inject_exception(vcpu, 13, true, 0);
	}
	return true;
}
