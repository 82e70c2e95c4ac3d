/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the vendor-neutral hypervisor and its back ends
 * (arch/vmx: Intel VT-x + EPT, arch/svm: AMD-V + NPT). Only files under
 * vmm/arch/ may know about VMCS, VMCB, EPT or NPT formats.
 */
#ifndef DEVIRT_ARCH_H
#define DEVIRT_ARCH_H

#include <devirt/types.h>

struct vcpu;
struct vm;
struct stage2;

/* Common exit reasons, decoded by the back end from its own exit codes. */
enum exit_reason {
	EXIT_NONE = 0,
	EXIT_CPUID,
	EXIT_HYPERCALL, /* VMCALL / VMMCALL */
	EXIT_RDMSR,
	EXIT_WRMSR,
	EXIT_IO, /* port I/O: io.port, io.size, io.in, io.string */
	EXIT_STAGE2, /* EPT violation / nested page fault: s2.gpa, s2.access */
	EXIT_TRIPLE_FAULT, /* shutdown */
	EXIT_HLT,
	EXIT_XSETBV,
	EXIT_VIRT_INSN, /* a VMX or SVM instruction executed by the guest */
	EXIT_EXTINT, /* a physical interrupt arrived: nothing to do */
	EXIT_NMI,
	EXIT_INIT,
	EXIT_CR_ACCESS, /* handled inside the back end; seen here for stats */
	EXIT_ENTRY_FAILED, /* VM entry refused: guest state invalid */
	EXIT_UNHANDLED, /* anything else: raw code in exit.raw */
};

#define S2_READ 1u
#define S2_WRITE 2u
#define S2_EXEC 4u

struct exit_info {
	u32 reason; /* enum exit_reason */
	u32 insn_len; /* length of the exiting instruction, 0 if unknown */
	u64 raw; /* back-end exit code, for logs */
	u64 qual; /* back-end qualification / exitinfo1, for logs */
	union {
		struct {
			u16 port;
			u8 size; /* 1, 2 or 4 */
			u8 in;
			u8 string;
			u8 rep;
		} io;
		struct {
			u64 gpa;
			u64 gla; /* 0 if unknown */
			u32 access; /* S2_* of the faulting access */
		} s2;
	};
};

/* Guest general-purpose registers; rsp and rip are synced by the back end. */
struct guest_regs {
	u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rip;
	u64 rflags;
};

/* The register state a 64-bit Linux entry needs (boot protocol 2.12+). */
struct entry_state {
	u64 rip;
	u64 rsi; /* boot_params */
	u64 cr3; /* identity page tables in guest memory */
	u64 gdt_base; /* GDT in guest memory: 0x10 = code64, 0x18 = data */
	u16 gdt_limit;
};

/* Page permissions and memory types for second-level mappings. */
#define S2_PERM_R 1u
#define S2_PERM_W 2u
#define S2_PERM_X 4u
#define S2_PERM_RWX 7u

enum s2_memtype {
	S2_MT_WB = 0, /* RAM */
	S2_MT_UC = 1, /* MMIO */
	S2_MT_WC = 2, /* framebuffers */
};

/*
 * Entry encoders for the generic second-level table builder (mm/stage2.c).
 * A level is 1 (4K PTE), 2 (2M), 3 (1G) or 4 (PML4).
 */
struct stage2_format {
	const char *name;
	u64 (*table)(u64 next_pa); /* non-leaf entry pointing at next_pa */
	u64 (*leaf)(u64 pa, u32 perm, u32 memtype, u32 level);
	bool (*present)(u64 entry);
	bool (*is_leaf)(u64 entry, u32 level);
	u64 (*addr)(u64 entry); /* physical address held by an entry */
	u32 (*perm)(u64 entry);
	u32 (*memtype)(u64 entry);
	bool has_1g; /* 1 GiB leaves supported */
};

/* Back-end operations, one instance per vendor. */
struct arch_ops {
	const char *name; /* "vmx" or "svm" */
	const char *s2_name; /* "EPT" or "NPT" */
	/* Detect and enable virtualization on this CPU; 0 or -1 with log. */
	int (*cpu_init)(void);
	/* Describe the features in use, for the banner. */
	void (*features)(char *buf, size_t len);
	struct stage2_format *s2fmt;
	int (*vcpu_init)(struct vcpu *vcpu, const struct entry_state *st);
	/* Enter the guest; returns at the next exit with @ex filled. */
	void (*run)(struct vcpu *vcpu, struct exit_info *ex);
	void (*inject_exception)(struct vcpu *vcpu, u8 vector, bool has_err,
				 u32 err);
	/* Make RDMSR/WRMSR of @msr exit (true) or pass through (false). */
	void (*msr_intercept)(struct vcpu *vcpu, u32 msr, bool read,
			      bool write);
	/* Make IN/OUT on ports [port, port+count) exit (true) or not. */
	void (*io_intercept)(struct vcpu *vcpu, u32 port, u32 count, bool on);
	/* Guest paging state, for guest page-table walks. */
	u64 (*guest_cr0)(struct vcpu *vcpu);
	u64 (*guest_cr3)(struct vcpu *vcpu);
	u64 (*guest_cr4)(struct vcpu *vcpu);
	u64 (*guest_efer)(struct vcpu *vcpu);
	u32 (*guest_cpl)(struct vcpu *vcpu);
	/* Invalidate cached second-level translations of @vcpu's VM. */
	void (*s2_flush)(struct vcpu *vcpu);
	/* Dump guest state to the log after a fatal guest event. */
	void (*dump)(struct vcpu *vcpu);
};

extern const struct arch_ops vmx_ops;
extern const struct arch_ops svm_ops;
extern struct stage2_format ept_format_rw; /* has_1g set at init */
extern struct stage2_format npt_format_rw;

#endif
