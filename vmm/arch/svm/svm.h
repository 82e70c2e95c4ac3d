/* SPDX-License-Identifier: GPL-2.0 */
/* VMCB layout, AMD APM Vol. 2 Appendix B "Layout of VMCB". */
#ifndef DEVIRT_SVM_H
#define DEVIRT_SVM_H

#include <devirt/types.h>

struct vmcb_seg {
	u16 sel;
	u16 attr; /* descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
	u32 limit;
	u64 base;
} __attribute__((packed));

struct vmcb_control {
	u32 cr_intercepts; /* 000h */
	u32 dr_intercepts; /* 004h */
	u32 exc_intercepts; /* 008h */
	u32 intercept3; /* 00Ch */
	u32 intercept4; /* 010h */
	u32 intercept5; /* 014h */
	u8 rsvd1[0x3c - 0x18];
	u16 pause_thresh; /* 03Ch */
	u16 pause_count; /* 03Eh */
	u64 iopm_pa; /* 040h */
	u64 msrpm_pa; /* 048h */
	u64 tsc_offset; /* 050h */
	u32 asid; /* 058h */
	u8 tlb_control; /* 05Ch */
	u8 rsvd2[3];
	u64 vintr; /* 060h */
	u64 int_shadow; /* 068h */
	u64 exit_code; /* 070h */
	u64 exit_info1; /* 078h */
	u64 exit_info2; /* 080h */
	u64 exit_int_info; /* 088h */
	u64 np_enable; /* 090h */
	u64 avic_apic_bar; /* 098h */
	u64 ghcb_pa; /* 0A0h */
	u64 event_inj; /* 0A8h */
	u64 n_cr3; /* 0B0h */
	u64 lbr_virt; /* 0B8h */
	u32 clean; /* 0C0h */
	u32 rsvd3;
	u64 next_rip; /* 0C8h */
	u8 insn_len; /* 0D0h */
	u8 insn_bytes[15];
	u8 rsvd4[0x400 - 0xe0];
} __attribute__((packed));

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 400h */
	u8 rsvd1[0x4cb - 0x4a0];
	u8 cpl; /* 4CBh */
	u32 rsvd2;
	u64 efer; /* 4D0h */
	u8 rsvd3[0x548 - 0x4d8];
	u64 cr4; /* 548h */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip; /* 578h */
	u8 rsvd4[0x5d8 - 0x580];
	u64 rsp; /* 5D8h */
	u8 rsvd5[0x5f8 - 0x5e0];
	u64 rax; /* 5F8h */
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2; /* 640h */
	u8 rsvd6[0x668 - 0x648];
	u64 g_pat; /* 668h */
	u64 dbgctl;
} __attribute__((packed));

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
	u8 rsvd[4096 - 0x400 - sizeof(struct vmcb_save)];
} __attribute__((packed));

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "EFER");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr4) == 0x548, "CR4");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "RIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rsp) == 0x5d8, "RSP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "CR2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "PAT");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB size");

/* Intercept vector 3 (00Ch), APM Table B-1. */
#define INTERCEPT_NMI (1u << 1)
#define INTERCEPT_INIT (1u << 3)
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_INVLPGA (1u << 26)
#define INTERCEPT_IOIO (1u << 27)
#define INTERCEPT_MSR (1u << 28)
#define INTERCEPT_SHUTDOWN (1u << 31)
/* Intercept vector 4 (010h). */
#define INTERCEPT_VMRUN (1u << 0)
#define INTERCEPT_VMMCALL (1u << 1)
#define INTERCEPT_VMLOAD (1u << 2)
#define INTERCEPT_VMSAVE (1u << 3)
#define INTERCEPT_STGI (1u << 4)
#define INTERCEPT_CLGI (1u << 5)
#define INTERCEPT_SKINIT (1u << 6)

/* Exit codes, APM Appendix C "SVM Intercept Exit Codes". */
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((u64)-1)

#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117
#define VM_CR_LOCK (1u << 3)
#define VM_CR_SVMDIS (1u << 4)

void svm_vmrun(u64 vmcb_pa, void *regs);

#endif
