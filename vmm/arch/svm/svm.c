// SPDX-License-Identifier: GPL-2.0
/*
 * AMD-V back end: SVM with nested paging. AMD APM Vol. 2, chapter 15
 * "Secure Virtual Machine".
 */
#include "svm.h"
#include "../arch.h"
#include "../../vm/vm.h"
#include "../../vm/event.h"
#include "../../core/lib.h"
#include "../../core/x86.h"
#include "../../core/palloc.h"

struct svm_vcpu {
	struct vmcb *vmcb;
	u8 *msrpm; /* 2 pages (APM 15.11) */
	u8 *iopm; /* 3 pages (APM 15.10.1) */
	bool flush; /* flush this guest's TLB entries on the next VMRUN */
	/* EXITINTINFO's event and the core's exception (vm/event.h). */
	struct event_queue ev;
};

static struct {
	bool nrips; /* next-RIP save (CPUID Fn8000_000A EDX[3]) */
	bool flush_by_asid; /* EDX[6] */
} svm;

static struct svm_vcpu svm_vcpus[VM_MAX_VCPUS * CFG_MAX_VMS];
static u32 nr_svm_vcpus;

static inline struct svm_vcpu *to_svm(struct vcpu *vcpu)
{
	return vcpu->arch;
}

static int svm_cpu_init(void)
{
	u32 a, b, c, d;
	void *hsave;

	cpuid(0x80000001, 0, &a, &b, &c, &d);
	if (!(c & (1u << 2))) {
		pr_err("svm: CPUID Fn8000_0001 ECX.SVM is clear\n");
		return -1;
	}
	npt_format_rw.has_1g = d & (1u << 26); /* Page1GB */
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		pr_err("svm: disabled by the firmware (VM_CR.SVMDIS)\n");
		return -1;
	}
	cpuid(0x8000000a, 0, &a, &b, &c, &d);
	if (!(d & 1)) {
		pr_err("svm: no nested paging\n");
		return -1;
	}
	svm.nrips = d & (1u << 3);
	svm.flush_by_asid = d & (1u << 6);
	/* Called once on each CPU that runs a VM: its own host-save area. */
	hsave = page_alloc();
	if (!hsave)
		return -1;
	/* APM 15.4: EFER.SVME enables the SVM instructions. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	/* APM 15.30.4: where VMRUN saves host state. */
	wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(hsave));
	/*
	 * Host PAT entry 1 becomes WC so NPT leaves can ask for WC with PWT
	 * alone (npt.c); entry 0 stays WB, entry 3 UC (SDM 11.12.2 layout).
	 */
	wrmsr(MSR_IA32_PAT, (rdmsr(MSR_IA32_PAT) & ~0xff00ULL) | 0x0100ULL);
	return 0;
}

static void svm_features(char *buf, size_t len)
{
	snprintf(buf, len, "NPT%s ASID%s nrip-save:%s",
		 npt_format_rw.has_1g ? " 1G-pages" : "",
		 svm.flush_by_asid ? " flush-by-asid" : "",
		 svm.nrips ? "yes" : "no");
}

static void set_msr_bits(u8 *msrpm, u32 msr, bool read, bool write)
{
	u32 base, bit;

	/* APM 15.11: three 2 KiB vectors, 2 bits (read, write) per MSR. */
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800, msr -= 0xc0000000;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000, msr -= 0xc0010000;
	else
		return; /* outside the map: always intercepted */
	bit = msr * 2;
	msrpm[base + bit / 8] &= ~(3u << (bit % 8));
	msrpm[base + bit / 8] |= ((read ? 1u : 0u) | (write ? 2u : 0u))
				 << (bit % 8);
}

static void svm_msr_intercept(struct vcpu *vcpu, u32 msr, bool read, bool write)
{
	/* EFER keeps SVME (svm_internal); SVM's own MSRs stay hidden. */
	if (msr == MSR_EFER)
		write = true;
	if (msr == MSR_VM_CR || msr == MSR_VM_HSAVE_PA)
		read = write = true;
	set_msr_bits(to_svm(vcpu)->msrpm, msr, read, write);
}

static void svm_io_intercept(struct vcpu *vcpu, u32 port, u32 count, bool on)
{
	u8 *iopm = to_svm(vcpu)->iopm;

	/* APM 15.10.1: one bit per port; a multi-byte access checks all. */
	for (u32 p = port; p < port + count && p < 0x10000; p++) {
		if (on)
			iopm[p / 8] |= (u8)(1u << (p % 8));
		else
			iopm[p / 8] &= (u8) ~(1u << (p % 8));
	}
	/* The bits past port 0xffff catch accesses that wrap around. */
	if (on && port + count >= 0x10000)
		iopm[0x2000] = 0xff;
}

static void seg(struct vmcb_seg *s, u16 sel, u16 attr, u32 limit)
{
	s->sel = sel;
	s->attr = attr;
	s->limit = limit;
	s->base = 0;
}

static int svm_vcpu_init(struct vcpu *vcpu, const struct entry_state *st)
{
	struct svm_vcpu *sv;
	struct vmcb *v;

	if (nr_svm_vcpus == ARRAY_SIZE(svm_vcpus))
		return -1;
	sv = &svm_vcpus[nr_svm_vcpus++];
	sv->vmcb = page_alloc();
	sv->msrpm = pages_alloc(2);
	sv->iopm = pages_alloc(3);
	if (!sv->vmcb || !sv->msrpm || !sv->iopm)
		return -1;
	vcpu->arch = sv;
	v = sv->vmcb;

	/* APM 15.9-15.13 and Table B-1; VMRUN must be intercepted (15.5.1). */
	v->ctl.intercept3 = INTERCEPT_CPUID | INTERCEPT_MSR | INTERCEPT_IOIO |
			    INTERCEPT_SHUTDOWN | INTERCEPT_INVLPGA;
	v->ctl.intercept4 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL |
			    INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
			    INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT;
	/*
	 * APM 15.13.2: a user guest's NMIs exit. Its only NMIs are devirt's
	 * kicks (vm_flush_remote); the driver VM takes the platform's
	 * directly.
	 */
	if (vcpu->vm->role == VM_ROLE_GUEST)
		v->ctl.intercept3 |= INTERCEPT_NMI;
	v->ctl.iopm_pa = virt_to_phys(sv->iopm); /* all zero: no port exits */
	v->ctl.msrpm_pa = virt_to_phys(sv->msrpm);
	/* Keep the guest's EFER.SVME on (15.5.1) and hide SVM's MSRs. */
	set_msr_bits(sv->msrpm, MSR_EFER, false, true);
	set_msr_bits(sv->msrpm, MSR_VM_CR, true, true);
	set_msr_bits(sv->msrpm, MSR_VM_HSAVE_PA, true, true);
	v->ctl.asid = 1 + vcpu->vm->id; /* ASID 0 is the host's (15.16) */
	/*
	 * V_INTR_MASKING (vintr bit 24) stays 0: the guest's RFLAGS.IF masks
	 * physical interrupts, which reach it directly (15.21.1). The driver
	 * VM owns the platform's interrupts.
	 */
	v->ctl.np_enable = 1; /* APM 15.25.3 */
	v->ctl.n_cr3 = s2_root_pa(&vcpu->vm->s2);
	sv->flush = true;

	/* 64-bit Linux entry state (boot.rst "64-bit BOOT PROTOCOL"). */
	seg(&v->save.cs, 0x10, 0xa9b, 0xffffffff); /* P, S, code, L, G */
	seg(&v->save.ds, 0x18, 0xc93, 0xffffffff); /* P, S, data, D/B, G */
	v->save.es = v->save.ds;
	v->save.ss = v->save.ds;
	v->save.fs = v->save.ds;
	v->save.gs = v->save.ds;
	seg(&v->save.tr, 0, 0x08b, 0x67); /* busy 64-bit TSS */
	seg(&v->save.ldtr, 0, 0x082, 0);
	v->save.gdtr.base = st->gdt_base;
	v->save.gdtr.limit = st->gdt_limit;
	v->save.idtr.limit = 0;
	v->save.cpl = 0;
	v->save.efer = EFER_LME | EFER_LMA | EFER_SVME;
	v->save.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	v->save.cr3 = st->cr3;
	v->save.cr4 = CR4_PAE;
	v->save.dr6 = 0xffff0ff0;
	v->save.dr7 = 0x400;
	v->save.rflags = 2;
	v->save.g_pat = 0x0007040600070406ULL; /* power-on PAT */
	vcpu->regs.rip = st->rip;
	vcpu->regs.rsi = st->rsi;
	vcpu->regs.rflags = 2;
	return 0;
}

static void svm_inject_exception(struct vcpu *vcpu, u8 vector, bool has_err,
				 u32 err)
{
	/* Merged with EXITINTINFO's event before the next VMRUN. */
	event_raise(&to_svm(vcpu)->ev, vector, has_err, err);
}

/* SVM-internal exits, handled without the generic loop. */
static bool svm_internal(struct vcpu *vcpu, struct vmcb *v)
{
	u32 msr = (u32)vcpu->regs.rcx;

	if (v->ctl.exit_code != SVM_EXIT_MSR)
		return false;
	if (msr == MSR_EFER && v->ctl.exit_info1 == 1) {
		/* Guest EFER.SVME must stay set for VMRUN (APM 15.5.1). */
		v->save.efer = ((vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax) |
			       EFER_SVME;
	} else if (msr == MSR_VM_CR || msr == MSR_VM_HSAVE_PA) {
		/* Look like SVM locked off by firmware; writes ignored. */
		if (v->ctl.exit_info1 == 0) {
			u64 val = msr == MSR_VM_CR ? VM_CR_LOCK | VM_CR_SVMDIS :
						     0;

			vcpu->regs.rax = (u32)val;
			vcpu->regs.rdx = val >> 32;
		}
	} else {
		return false;
	}
	vcpu->regs.rip += 2; /* RDMSR/WRMSR are 2 bytes */
	return true;
}

static void svm_decode(struct vcpu *vcpu, struct vmcb *v, struct exit_info *ex)
{
	u64 code = v->ctl.exit_code, i1 = v->ctl.exit_info1;

	memset(ex, 0, sizeof(*ex));
	ex->raw = code;
	ex->qual = i1;
	/* Without next-RIP save, lengths of the exiting instructions are fixed. */
	switch (code) {
	case SVM_EXIT_CPUID:
		ex->reason = EXIT_CPUID;
		ex->insn_len = 2;
		break;
	case SVM_EXIT_VMMCALL:
		ex->reason = EXIT_HYPERCALL;
		ex->insn_len = 3;
		break;
	case SVM_EXIT_MSR:
		ex->reason = i1 ? EXIT_WRMSR : EXIT_RDMSR;
		ex->insn_len = 2;
		break;
	case SVM_EXIT_IOIO:
		/* APM 15.10.2: EXITINFO1 layout; EXITINFO2 = next RIP. */
		ex->reason = EXIT_IO;
		ex->io.in = i1 & 1;
		ex->io.string = (i1 >> 2) & 1;
		ex->io.rep = (i1 >> 3) & 1;
		ex->io.size = (i1 & 0x10) ? 1 : (i1 & 0x20) ? 2 : 4;
		ex->io.port = (u16)(i1 >> 16);
		ex->insn_len = (u32)(v->ctl.exit_info2 - v->save.rip);
		break;
	case SVM_EXIT_NPF:
		/* APM 15.25.6: EXITINFO1 is a #PF error code, EXITINFO2 the GPA. */
		ex->reason = EXIT_STAGE2;
		ex->s2.gpa = v->ctl.exit_info2;
		ex->s2.access = (i1 & 2)    ? S2_WRITE :
				(i1 & 0x10) ? S2_EXEC :
					      S2_READ;
		break;
	case SVM_EXIT_SHUTDOWN:
		ex->reason = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_HLT:
		ex->reason = EXIT_HLT;
		ex->insn_len = 1;
		break;
	case SVM_EXIT_XSETBV:
		ex->reason = EXIT_XSETBV;
		ex->insn_len = 3;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		ex->reason = EXIT_VIRT_INSN;
		ex->insn_len = 3;
		break;
	case SVM_EXIT_INTR:
		ex->reason = EXIT_EXTINT;
		break;
	case SVM_EXIT_NMI:
		ex->reason = EXIT_NMI;
		break;
	case SVM_EXIT_INIT:
		ex->reason = EXIT_INIT;
		break;
	case SVM_EXIT_INVALID:
		ex->reason = EXIT_ENTRY_FAILED;
		break;
	default:
		ex->reason = EXIT_UNHANDLED;
	}
	if (svm.nrips && v->ctl.next_rip > v->save.rip &&
	    v->ctl.next_rip - v->save.rip <= 15 && ex->reason != EXIT_STAGE2)
		ex->insn_len = (u32)(v->ctl.next_rip - v->save.rip);
}

static void svm_run(struct vcpu *vcpu, struct exit_info *ex)
{
	struct svm_vcpu *sv = to_svm(vcpu);
	struct vmcb *v = sv->vmcb;

	for (;;) {
		u32 info, err, len;

		/*
		 * EVENTINJ, APM 15.20: vector 7:0, type 10:8 (3 = exception),
		 * EV 11, V 31, error code 63:32. A fault while delivering #DF
		 * is a shutdown (APM 8.2.9).
		 */
		if (!event_next(&sv->ev, &info, &err, &len)) {
			memset(ex, 0, sizeof(*ex));
			ex->reason = EXIT_TRIPLE_FAULT;
			return;
		}
		v->ctl.event_inj = info | ((u64)err << 32);
		v->save.rip = vcpu->regs.rip;
		v->save.rsp = vcpu->regs.rsp;
		v->save.rax = vcpu->regs.rax;
		v->save.rflags = vcpu->regs.rflags;
		vcpu_flush_requested(vcpu);
		/* APM 15.16.1 TLB_CONTROL: 1 flushes the whole TLB. */
		v->ctl.tlb_control = sv->flush ? 1 : 0;
		sv->flush = false;
		v->ctl.clean = 0; /* nothing cached across VMRUN (15.15) */

		svm_vmrun(virt_to_phys(v), &vcpu->regs);
		/*
		 * APM 15.6: #VMEXIT stores the guest's state. Finding our own
		 * CR3 there means the exit was lost and the guest's state with
		 * it (seen under multi-threaded QEMU TCG, docs/devfile.md):
		 * stop the VM with a clear reason rather than run our state.
		 */
		if (v->save.cr3 == read_cr3())
			vcpu_stop_vm(vcpu,
				     "#VMEXIT stored the host's state: "
				     "the exit was lost (emulator fault)");

		vcpu->regs.rip = v->save.rip;
		vcpu->regs.rsp = v->save.rsp;
		vcpu->regs.rax = v->save.rax;
		vcpu->regs.rflags = v->save.rflags;
		/*
		 * An intercepted NMI stays pending while GIF is 0 (APM 15.13.2,
		 * 15.17): take it now, in our handler (with RFLAGS.IF clear,
		 * nothing else gets in), or the next VMRUN would exit again.
		 */
		if (v->ctl.exit_code == SVM_EXIT_NMI)
			asm volatile("stgi\n\tclgi" ::: "memory");
		/*
		 * APM 15.7.2: an event whose delivery the exit interrupted is
		 * in EXITINTINFO; it goes in again on the next VMRUN, after
		 * an exception the handler raises (which used to overwrite it).
		 */
		event_exit(&sv->ev, (u32)v->ctl.exit_int_info,
			   (u32)(v->ctl.exit_int_info >> 32), 0);
		if (!svm_internal(vcpu, v))
			break;
	}
	svm_decode(vcpu, v, ex);
}

static u64 svm_guest_cr0(struct vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr0;
}

static u64 svm_guest_cr3(struct vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr3;
}

static u64 svm_guest_cr4(struct vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr4;
}

static u64 svm_guest_efer(struct vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.efer;
}

static u32 svm_guest_cpl(struct vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl;
}

static void svm_s2_flush(struct vcpu *vcpu)
{
	to_svm(vcpu)->flush = true;
}

static void svm_dump(struct vcpu *vcpu)
{
	struct vmcb *v = to_svm(vcpu)->vmcb;

	pr_err("svm: rip 0x%lx rsp 0x%lx rflags 0x%lx cpl %u\n", v->save.rip,
	       v->save.rsp, v->save.rflags, v->save.cpl);
	pr_err("svm: cr0 0x%lx cr2 0x%lx cr3 0x%lx cr4 0x%lx efer 0x%lx\n",
	       v->save.cr0, v->save.cr2, v->save.cr3, v->save.cr4,
	       v->save.efer);
	pr_err("svm: cs %x/%x ss %x/%x exit 0x%lx info1 0x%lx info2 0x%lx intinfo 0x%lx\n",
	       v->save.cs.sel, v->save.cs.attr, v->save.ss.sel, v->save.ss.attr,
	       v->ctl.exit_code, v->ctl.exit_info1, v->ctl.exit_info2,
	       v->ctl.exit_int_info);
}

const struct arch_ops svm_ops = {
	.name = "svm",
	.s2_name = "NPT",
	.cpu_init = svm_cpu_init,
	.features = svm_features,
	.s2fmt = &npt_format_rw,
	.vcpu_init = svm_vcpu_init,
	.run = svm_run,
	.inject_exception = svm_inject_exception,
	.msr_intercept = svm_msr_intercept,
	.io_intercept = svm_io_intercept,
	.guest_cr0 = svm_guest_cr0,
	.guest_cr3 = svm_guest_cr3,
	.guest_cr4 = svm_guest_cr4,
	.guest_efer = svm_guest_efer,
	.guest_cpl = svm_guest_cpl,
	.s2_flush = svm_s2_flush,
	.dump = svm_dump,
};
