// SPDX-License-Identifier: GPL-2.0
/*
 * The MSRs the generic code intercepts (vendor MSRs are the back end's):
 * IA32_APIC_BASE, so a VM cannot leave x2APIC mode and reach the xAPIC
 * MMIO page, and the x2APIC ICR, so a VM can only signal its own CPUs.
 * SDM Vol. 3A 10.12 "Extended XAPIC (x2APIC)".
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define ICR_VECTOR(v) ((v) & 0xff)
#define ICR_MODE(v) (((v) >> 8) & 7) /* 5 INIT, 6 SIPI */
#define ICR_LOGICAL (1ULL << 11)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3) /* 1 self, 2 all, 3 others */
#define ICR_DEST(v) ((u32)((v) >> 32))

static const char *const icr_mode_names[8] = {
	"fixed IPI", "lowest-priority IPI", "SMI", "reserved IPI",
	"NMI",	     "INIT",		    "SIPI", "reserved IPI",
};

static bool vm_owns_apic(struct vm *vm, u32 apic_id)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].apic_id == apic_id)
			return true;
	return false;
}

/* x2APIC logical ID: cluster in 31:16, one bit per CPU (SDM 10.12.10.2). */
static bool vm_owns_logical(struct vm *vm, u32 dest)
{
	u32 cluster = dest >> 16, bits = dest & 0xffff;

	for (u32 i = 0; i < 16; i++) {
		if (!(bits & (1u << i)))
			continue;
		if (!vm_owns_apic(vm, (cluster << 4) | i))
			return false;
	}
	return bits != 0;
}

static void write_icr(struct vcpu *vcpu, u64 v)
{
	struct vm *vm = vcpu->vm;
	bool one = vm->nr_vcpus == 1, ok;

	switch (ICR_SHORTHAND(v)) {
	case 1: /* self */
		ok = true;
		break;
	case 2: /* all including self: allowed when "all" is just us */
		ok = one;
		v = (v & ~(3ULL << 18)) | (1ULL << 18);
		break;
	case 3: /* all excluding self: no other CPU is ours to signal */
		if (one)
			goto done;
		ok = false;
		break;
	default:
		ok = (v & ICR_LOGICAL) ? vm_owns_logical(vm, ICR_DEST(v)) :
					 vm_owns_apic(vm, ICR_DEST(v));
	}
	if (!ok) {
		vm->refused++;
		pr_info("[%s] refused %s (vector 0x%x) to APIC %s 0x%x: not a CPU of this VM\n",
			vm->name, icr_mode_names[ICR_MODE(v)],
			(u32)ICR_VECTOR(v),
			ICR_SHORTHAND(v) ? "shorthand" :
			(v & ICR_LOGICAL) ? "logical" : "ID",
			ICR_SHORTHAND(v) ? (u32)ICR_SHORTHAND(v) : ICR_DEST(v));
		goto done;
	}
	wrmsr(MSR_X2APIC_ICR, v);
done:
	return;
}

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
		write_icr(vcpu, v);
		break;
	case MSR_IA32_APIC_BASE: {
		u64 cur = rdmsr(MSR_IA32_APIC_BASE);

		/* Only the BSP flag may differ; keep base, EN and EXTD. */
		if ((v ^ cur) & ~(1ULL << 8)) {
			vcpu->vm->refused++;
			pr_info("[%s] refused IA32_APIC_BASE write 0x%lx (now 0x%lx): the APIC stays in x2APIC mode\n",
				vcpu->vm->name, v, cur);
		}
		break;
	}
	default:
		pr_err("[%s] unexpected WRMSR 0x%x exit: #GP\n",
		       vcpu->vm->name, msr);
		arch->inject_exception(vcpu, 13, true, 0);
		return;
	}
	vcpu_skip(vcpu, 0);
}
