// SPDX-License-Identifier: GPL-2.0
/*
 * The vendor-neutral exit loop. The back end decodes its exit into a
 * struct exit_info; everything a guest can ask for is answered here. A
 * guest event we cannot handle stops that vCPU, never the hypervisor.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include <devirt/hypercall.h>

static const char *const exit_names[] = {
	[EXIT_NONE] = "none",
	[EXIT_CPUID] = "cpuid",
	[EXIT_HYPERCALL] = "hypercall",
	[EXIT_RDMSR] = "rdmsr",
	[EXIT_WRMSR] = "wrmsr",
	[EXIT_IO] = "io",
	[EXIT_STAGE2] = "stage2-fault",
	[EXIT_TRIPLE_FAULT] = "triple-fault",
	[EXIT_HLT] = "hlt",
	[EXIT_XSETBV] = "xsetbv",
	[EXIT_VIRT_INSN] = "virt-insn",
	[EXIT_EXTINT] = "extint",
	[EXIT_NMI] = "nmi",
	[EXIT_INIT] = "init",
	[EXIT_CR_ACCESS] = "cr",
	[EXIT_ENTRY_FAILED] = "entry-failed",
	[EXIT_UNHANDLED] = "unhandled",
};

void vcpu_skip(struct vcpu *vcpu, u32 len)
{
	vcpu->regs.rip += len ? len : vcpu->exit_len;
}

static void __attribute__((noreturn))
vcpu_stop(struct vcpu *vcpu, const char *why, const struct exit_info *ex)
{
	pr_err("[%s] vCPU %u stopped: %s (exit %s, raw 0x%lx, qual 0x%lx) at rip 0x%lx\n",
	       vcpu->vm->name, vcpu->id, why,
	       ex->reason < ARRAY_SIZE(exit_names) ? exit_names[ex->reason] :
						     "?",
	       ex->raw, ex->qual, vcpu->regs.rip);
	arch->dump(vcpu);
	vcpu_stop_vm(vcpu, why);
}

void vcpu_stop_vm(struct vcpu *vcpu, const char *why)
{
	struct vm *vm = vcpu->vm;

	vcpu->stopped = true;
	__atomic_store_n(&vm->state, DEVIRT_VM_STOPPED, __ATOMIC_SEQ_CST);
	devfile_vm_stopped(vm);
	pr_info("[%s] VM stopped (%s) after %lu exits; %s\n", vm->name, why,
		vcpu->exits,
		vm->role == VM_ROLE_GUEST ?
			"the hypervisor and the other VMs keep running" :
			"the hypervisor keeps running");
	/* This CPU belonged to the VM alone: park it. */
	cpu_halt_forever();
}

static void handle_xsetbv(struct vcpu *vcpu)
{
	u32 idx = (u32)vcpu->regs.rcx;
	u64 v = (vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax;
	/* SDM Vol. 2C XSETBV: only XCR0, x87 set, bits offered (cpuid.c). */
	if (idx != 0 || !(v & 1) || (v & ~vm_xcr0_allowed()) ||
	    ((v & 4) && !(v & 2))) {
		arch->inject_exception(vcpu, 13, true, 0);
		return;
	}
	asm volatile("xsetbv" : : "c"(idx), "a"((u32)v), "d"((u32)(v >> 32)));
	vcpu_skip(vcpu, 0);
}

/*
 * Called by the back end before each entry, and by loops that keep a vCPU
 * in the hypervisor: the stage-2 flush another CPU asked for. INVEPT and
 * the ASID flush act on the executing CPU only (SDM 29.4.3.1, APM
 * 15.16.1), so the vCPU's own CPU does it.
 */
void vcpu_flush_requested(struct vcpu *vcpu)
{
	u64 req = __atomic_load_n(&vcpu->flush_req, __ATOMIC_ACQUIRE);

	if (req != vcpu->flush_done) {
		arch->s2_flush(vcpu);
		__atomic_store_n(&vcpu->flush_done, req, __ATOMIC_RELEASE);
	}
}

#define KICK_RESEND_US 50
#define KICK_TIMEOUT_MS 1000

/*
 * Every vCPU of @vm drops what its TLB holds of the stage-2 entries this
 * CPU just removed, before this returns. A user guest takes interrupts
 * directly, so an NMI makes it exit (NMI exiting, SDM 25.6.1; the NMI
 * intercept, APM 15.13.2); the vCPU flushes before it enters again. An
 * NMI that finds it in the hypervisor instead is sent again until the
 * flush is seen. False after KICK_TIMEOUT_MS (a stuck CPU: logged).
 */
bool vm_flush_remote(struct vm *vm)
{
	u64 hz = boot_info->tsc_hz ? boot_info->tsc_hz : 1000000000ULL;
	bool ok = true;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		u64 req, t0 = rdtsc(), next = t0;

		req = __atomic_add_fetch(&v->flush_req, 1, __ATOMIC_SEQ_CST);
		while ((s64)(__atomic_load_n(&v->flush_done, __ATOMIC_ACQUIRE) -
			     req) < 0) {
			u64 now = rdtsc();

			/* A stopped vCPU never enters again. */
			if (__atomic_load_n(&v->stopped, __ATOMIC_ACQUIRE) ||
			    __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) ==
				    DEVIRT_VM_STOPPED)
				break;
			if (now - t0 > hz / 1000 * KICK_TIMEOUT_MS) {
				pr_err("[%s] vCPU %u did not flush its stage-2 TLB within %u ms\n",
				       vm->name, v->id, KICK_TIMEOUT_MS);
				ok = false;
				break;
			}
			if (now >= next) {
				apic_send_nmi(v->apic_id);
				next = now + hz / 1000000 * KICK_RESEND_US;
			}
			cpu_relax();
		}
	}
	return ok;
}

void vcpu_loop(struct vcpu *vcpu)
{
	struct exit_info ex;

	for (;;) {
		arch->run(vcpu, &ex);
		vcpu->exits++;
		console_poll();
		if (ex.reason < ARRAY_SIZE(vcpu->exit_count))
			vcpu->exit_count[ex.reason]++;
		vcpu->exit_len = ex.insn_len;
		if (log_level >= LOG_DEBUG && vcpu->exits <= 20000)
			pr_debug(
				"[%s] exit %s raw 0x%lx qual 0x%lx rip 0x%lx\n",
				vcpu->vm->name,
				ex.reason < ARRAY_SIZE(exit_names) ?
					exit_names[ex.reason] :
					"?",
				ex.raw, ex.qual, vcpu->regs.rip);
		switch (ex.reason) {
		case EXIT_CPUID:
			handle_cpuid(vcpu);
			vcpu_skip(vcpu, 0);
			break;
		case EXIT_HYPERCALL:
			handle_hypercall(vcpu);
			break;
		case EXIT_RDMSR:
		case EXIT_WRMSR:
			handle_msr(vcpu, ex.reason == EXIT_WRMSR);
			break;
		case EXIT_STAGE2:
			if (devfile_stage2_stall(vcpu, ex.s2.gpa))
				break;
			if (!apic_handle_fault(vcpu, &ex) &&
			    !ioapic_handle_fault(vcpu, &ex))
				handle_refused_access(vcpu, &ex);
			break;
		case EXIT_XSETBV:
			handle_xsetbv(vcpu);
			break;
		case EXIT_VIRT_INSN:
			/* No nested virtualization: #UD, as on a CPU without it. */
			arch->inject_exception(vcpu, 6, false, 0);
			break;
		case EXIT_EXTINT:
		case EXIT_NMI:
		case EXIT_CR_ACCESS:
		case EXIT_NONE:
			break;
		case EXIT_INIT:
			pr_info("[%s] INIT signal ignored\n", vcpu->vm->name);
			break;
		case EXIT_HLT:
			vcpu_skip(vcpu, 0);
			break;
		case EXIT_IO:
			handle_io(vcpu, &ex);
			break;
		case EXIT_TRIPLE_FAULT:
			vcpu_stop(vcpu, "triple fault (shutdown)", &ex);
		case EXIT_ENTRY_FAILED:
			vcpu_stop(vcpu, "VM entry failed", &ex);
		default:
			vcpu_stop(vcpu, "unhandled exit", &ex);
		}
	}
}
