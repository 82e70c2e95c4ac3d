/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host exception stubs. Any exception in the hypervisor is a devirt bug:
 * push a uniform frame and report it (core/cpu.c: host_trap).
 */
	.text
.macro TRAP vec, has_err
	.balign 16
trap_\vec:
	.if \has_err == 0
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

TRAP 0,0
TRAP 1,0
TRAP 3,0
TRAP 4,0
TRAP 5,0
TRAP 6,0
TRAP 7,0
TRAP 8,1
TRAP 9,0
TRAP 10,1
TRAP 11,1
TRAP 12,1
TRAP 13,1
TRAP 14,1
TRAP 15,0
TRAP 16,0
TRAP 17,1
TRAP 18,0
TRAP 19,0
TRAP 20,0
TRAP 21,1
TRAP 22,0
TRAP 23,0
TRAP 24,0
TRAP 25,0
TRAP 26,0
TRAP 27,0
TRAP 28,0
TRAP 29,1
TRAP 30,1
TRAP 31,0

/*
 * NMI while in the hypervisor. On a driver VM's CPU (VMX root: NMI exiting
 * is off so that the driver VM receives its NMIs directly, SDM 25.6.1)
 * host_nmi() marks it pending for the VM, which gets it on its next entry;
 * SVM holds NMIs pending while GIF is 0 (APM 15.17). On a user guest's CPU
 * it is a kick (vm_flush_remote): VMX takes one that arrives in root mode,
 * SVM the one an NMI intercept left pending (svm_run's STGI). The C ABI's
 * caller-saved registers are saved; DF is clear in root mode.
 */
	.balign 16
trap_2:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%rbp
	movq	%rsp, %rbp
	andq	$-16, %rsp
	cld
	call	host_nmi
	movq	%rbp, %rsp
	popq	%rbp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	iretq

trap_common:
	/* (%rsp): vector, error, rip, cs, rflags, rsp, ss */
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	host_trap
1:	hlt
	jmp	1b

	.section .data.rel.ro, "aw"
	.globl trap_table
	.balign 8
trap_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_\v
	.endr

	.section .note.GNU-stack, "", @progbits
