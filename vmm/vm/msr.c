// SPDX-License-Identifier: GPL-2.0
/*
 * The MSRs the generic code intercepts (vendor MSRs are the back end's):
 * IA32_APIC_BASE, so a VM cannot disable, move or leave x2APIC mode and
 * so escape the ICR filtering, and the x2APIC ICR, so a VM can only
 * signal its own CPUs.
 * SDM Vol. 3A 10.12 "Extended XAPIC (x2APIC)".
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_LVTT 0x832

/*
 * MSRs a user guest may write without an exit: state of its own CPU
 * thread that the hypervisor neither uses nor depends on (SDM Vol. 4
 * chapter 2 "Model-Specific Registers", scope "Thread"). Every other
 * write exits and is refused: MTRRs, MISC_ENABLE, machine-check banks,
 * the TSC, power and microcode controls reach beyond the guest's CPU or
 * under the hypervisor's feet.
 */
static const struct {
	u32 first, last;
} guest_msr_writable[] = {
	{ 0x48, 0x49 }, /* SPEC_CTRL, PRED_CMD */
	{ 0x10b, 0x10b }, /* FLUSH_CMD */
	{ 0x174, 0x176 }, /* SYSENTER_CS/ESP/EIP */
	{ 0x1d9, 0x1d9 }, /* DEBUGCTL: swapped on VM entry/exit */
	{ 0x277, 0x277 }, /* PAT: per-VM (VMCS field / VMCB G_PAT) */
	{ 0xda0, 0xda0 }, /* IA32_XSS */
	{ 0xe1, 0xe1 }, /* UMWAIT_CONTROL */
	{ 0x800, 0x8ff }, /* x2APIC of its own CPU; ICR below */
	{ 0xc0000080, 0xc0000084 }, /* EFER, STAR, LSTAR, CSTAR, FMASK */
	{ 0xc0000100, 0xc0000103 }, /* FS/GS/KERNEL_GS base, TSC_AUX */
};

static void intercept_range(struct vcpu *vcpu, u32 first, u32 last)
{
	for (u32 m = first; m <= last; m++)
		arch->msr_intercept(vcpu, m, false, true);
}

void msr_guest_policy(struct vcpu *vcpu)
{
	/* All writes inside the bitmaps exit; outside them all accesses do. */
	intercept_range(vcpu, 0, 0x1fff);
	intercept_range(vcpu, 0xc0000000, 0xc0001fff);
	intercept_range(vcpu, 0xc0010000, 0xc0011fff);
	for (u32 i = 0; i < ARRAY_SIZE(guest_msr_writable); i++)
		for (u32 m = guest_msr_writable[i].first;
		     m <= guest_msr_writable[i].last; m++)
			arch->msr_intercept(vcpu, m, false, false);
	/* SDM 10.12: IPIs and the APIC mode stay under the filter. */
	arch->msr_intercept(vcpu, MSR_X2APIC_ICR, false, true);
	arch->msr_intercept(vcpu, MSR_IA32_APIC_BASE, false, true);
	/* The LAPIC timer is the guest's; TSC-deadline may be emulated. */
	if (tsc_deadline_native) {
		arch->msr_intercept(vcpu, MSR_IA32_TSC_DEADLINE, false, false);
	} else {
		arch->msr_intercept(vcpu, MSR_IA32_TSC_DEADLINE, true, true);
		arch->msr_intercept(vcpu, MSR_X2APIC_LVTT, true, true);
	}
}

static bool guest_msr_read(struct vcpu *vcpu, u32 msr, u64 *v)
{
	if (kvmclock_msr(vcpu, msr, false, v))
		return true;
	if (msr == MSR_IA32_TSC_DEADLINE) {
		*v = tsc_deadline_read(vcpu);
		return true;
	}
	if (msr == MSR_X2APIC_LVTT) {
		*v = vcpu->lvtt;
		return true;
	}
	return false;
}

void handle_msr(struct vcpu *vcpu, bool write)
{
	u32 msr = (u32)vcpu->regs.rcx;
	u64 v = (vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax;
	struct vm *vm = vcpu->vm;

	if (!write) {
		if (vm->role == VM_ROLE_GUEST &&
		    guest_msr_read(vcpu, msr, &v)) {
			vcpu->regs.rax = (u32)v;
			vcpu->regs.rdx = v >> 32;
			vcpu_skip(vcpu, 0);
			return;
		}
		/* Outside the bitmaps and not emulated: as if absent. */
		pr_debug("[%s] RDMSR 0x%x: not available, #GP\n", vm->name,
			 msr);
		arch->inject_exception(vcpu, 13, true, 0);
		return;
	}
	if (vm->role == VM_ROLE_GUEST) {
		if (kvmclock_msr(vcpu, msr, true, &v)) {
			vcpu_skip(vcpu, 0);
			return;
		}
		if (msr == MSR_IA32_TSC_DEADLINE) {
			tsc_deadline_write(vcpu, v);
			vcpu_skip(vcpu, 0);
			return;
		}
		if (msr == MSR_X2APIC_LVTT) {
			lvtt_write(vcpu, (u32)v);
			vcpu_skip(vcpu, 0);
			return;
		}
		if (msr != MSR_X2APIC_ICR && msr != MSR_IA32_APIC_BASE) {
			vm_refuse(
				vm, REFUSE_MSR,
				"WRMSR 0x%x = 0x%lx (rip 0x%lx): reaches beyond the guest's CPU",
				msr, v, vcpu->regs.rip);
			vcpu_skip(vcpu, 0);
			return;
		}
	}
	switch (msr) {
	case MSR_X2APIC_ICR:
		if (icr_allowed(vcpu, &v, true))
			wrmsr(MSR_X2APIC_ICR, v);
		break;
	case MSR_IA32_APIC_BASE: {
		u64 cur = rdmsr(MSR_IA32_APIC_BASE);
		u64 to_x2 = cur | APIC_BASE_EXTD;

		/*
		 * SDM 10.12.5: the one transition allowed is xAPIC -> x2APIC
		 * at the same base; disabling, relocating or going back would
		 * escape the ICR filtering. The BSP flag is read-only anyway.
		 */
		if ((v & ~(1ULL << 8)) == (cur & ~(1ULL << 8)))
			break;
		if ((v & ~(1ULL << 8)) == (to_x2 & ~(1ULL << 8)) &&
		    (cur & APIC_BASE_EN)) {
			wrmsr(MSR_IA32_APIC_BASE, to_x2);
			pr_info("[%s] switched its APIC to x2APIC mode\n",
				vcpu->vm->name);
			break;
		}
		vm_refuse(vcpu->vm, REFUSE_MSR,
			  "IA32_APIC_BASE write 0x%lx (now 0x%lx)", v, cur);
		break;
	}
	default:
		pr_err("[%s] unexpected WRMSR 0x%x exit: #GP\n", vcpu->vm->name,
		       msr);
		arch->inject_exception(vcpu, 13, true, 0);
		return;
	}
	vcpu_skip(vcpu, 0);
}
