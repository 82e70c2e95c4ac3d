/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Application-processor start-up code. smp.c copies it to a page below
 * 1 MiB that the loader reserved, fills the parameter block at its end
 * and sends INIT-SIPI-SIPI (SDM Vol. 3A 8.4.4.1). The AP starts in real
 * mode at that page, enables protected mode, PAE and long mode with the
 * hypervisor's own page tables (SDM 9.8.5 "Initializing IA-32e Mode"),
 * and jumps to the C entry with its own stack. Position-independent: all
 * addresses are computed from the page's base in %ebx.
 */
#define OFF(x) ((x) - ap_tramp_start)

	.section .rodata, "a"
	.code16
	.globl ap_tramp_start, ap_tramp_end, ap_tramp_params
ap_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	xorl	%ebx, %ebx
	movw	%cs, %bx
	shll	$4, %ebx
	leal	OFF(tr_gdt)(%ebx), %eax
	movl	%eax, OFF(tr_gdtr) + 2
	lgdtl	OFF(tr_gdtr)
	leal	OFF(tr_pm32)(%ebx), %eax
	movl	%eax, OFF(tr_far32)
	movl	%cr0, %eax
	orl	$1, %eax			/* CR0.PE */
	movl	%eax, %cr0
	ljmpl	*OFF(tr_far32)

	.code32
tr_pm32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$0x20, %eax			/* CR4.PAE */
	movl	%eax, %cr4
	movl	OFF(tr_cr3)(%ebx), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx		/* IA32_EFER.LME */
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000000, %eax		/* CR0.PG: now in IA-32e mode */
	movl	%eax, %cr0
	leal	OFF(tr_lm64)(%ebx), %eax
	movl	%eax, OFF(tr_far64)(%ebx)
	ljmpl	*OFF(tr_far64)(%ebx)

	.code64
tr_lm64:
	movq	OFF(tr_stack)(%rbx), %rsp
	movq	OFF(tr_arg)(%rbx), %rdi
	movq	OFF(tr_entry)(%rbx), %rax
	xorl	%ebp, %ebp
	jmpq	*%rax

	.balign 8
tr_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff		/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff		/* 0x10: data */
	.quad	0x00af9a000000ffff		/* 0x18: 64-bit code */
tr_gdtr:
	.word	31
	.long	0
tr_far32:
	.long	0
	.word	0x08
tr_far64:
	.long	0
	.word	0x18
	.balign 8
ap_tramp_params:
tr_cr3:
	.quad	0
tr_stack:
	.quad	0
tr_entry:
	.quad	0
tr_arg:
	.quad	0
ap_tramp_end:

	.section .note.GNU-stack, "", @progbits
