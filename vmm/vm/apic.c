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

static volatile u32 *apic_reg(u32 off)
{
	return (volatile u32 *)phys_to_virt(apic_page + off);
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
static bool owns_xapic_logical(struct vm *vm, u32 mda)
{
	u32 ldr = *apic_reg(APIC_LDR) >> 24;
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
			ok = owns_xapic_logical(vm, dest);
	}
	if (!ok) {
		vm->refused++;
		if (vm->refused_logged++ < 64)
			pr_info("[%s] refused %s (vector 0x%x) to %s 0x%x: not a CPU of this VM\n",
				vm->name, mode_names[ICR_MODE(v)],
				ICR_VECTOR(v),
				ICR_SHORTHAND(v)  ? "APIC shorthand" :
				(v & ICR_LOGICAL) ? "logical APIC" :
						    "APIC ID",
				ICR_SHORTHAND(v) ? (u32)ICR_SHORTHAND(v) :
						   dest);
	}
	return ok;
}

static void apic_mmio(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
		      u64 *val)
{
	u32 off = gpa & 0xffc, shift = (gpa & 3) * 8;

	if (!write) {
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

		if (icr_allowed(vcpu, &icr, false))
			*apic_reg(APIC_ICR_LO) = (u32)icr;
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
