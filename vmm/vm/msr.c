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

void handle_msr(struct vcpu *vcpu, bool write)
{
	u32 msr = (u32)vcpu->regs.rcx;
	u64 v = (vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax;

	if (!write) {
		/* Only write intercepts are requested; a read is a bug. */
		pr_err("[%s] unexpected RDMSR 0x%x exit: #GP\n", vcpu->vm->name,
		       msr);
		arch->inject_exception(vcpu, 13, true, 0);
		return;
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
		vcpu->vm->refused++;
		pr_info("[%s] refused IA32_APIC_BASE write 0x%lx (now 0x%lx)\n",
			vcpu->vm->name, v, cur);
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
