/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM entry and exit for the VMX back end.
 *
 * int vmx_enter(struct guest_regs *regs, u64 launched)
 *
 * Saves the host's callee-saved registers, points HOST_RSP at the current
 * stack, loads the guest GPRs from *regs and executes VMLAUNCH (launched
 * == 0) or VMRESUME. A VM exit lands on vmx_exit_stub (HOST_RIP), which
 * stores the guest GPRs back into *regs and returns 0 from vmx_enter. If
 * the VMX instruction itself fails, vmx_enter returns 1 (VMfailInvalid,
 * CF=1) or 2 (VMfailValid, ZF=1), SDM 31.2 "Conventions".
 *
 * RSP, RIP and RFLAGS live in the VMCS, not here (27.3.1, 28.5.3). The
 * offsets below follow struct guest_regs in arch/arch.h; vmx.c checks
 * them with static assertions.
 */

#define GR_RAX 0x00
#define GR_RCX 0x08
#define GR_RDX 0x10
#define GR_RBX 0x18
#define GR_RBP 0x28
#define GR_RSI 0x30
#define GR_RDI 0x38
#define GR_R8 0x40
#define GR_R9 0x48
#define GR_R10 0x50
#define GR_R11 0x58
#define GR_R12 0x60
#define GR_R13 0x68
#define GR_R14 0x70
#define GR_R15 0x78

#define VMCS_HOST_RSP 0x6c14

	.text
	.globl	vmx_enter
	.type	vmx_enter, @function
vmx_enter:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	/* The exit stub finds the register block at the top of the stack. */
	push	%rdi

	/* VM exit loads RSP from HOST_RSP (28.5.3): this very frame. */
	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jbe	.Lfail

	/* Flags for the launch/resume choice; the MOVs below keep them. */
	cmp	$0, %rsi

	mov	GR_RAX(%rdi), %rax
	mov	GR_RCX(%rdi), %rcx
	mov	GR_RDX(%rdi), %rdx
	mov	GR_RBX(%rdi), %rbx
	mov	GR_RBP(%rdi), %rbp
	mov	GR_RSI(%rdi), %rsi
	mov	GR_R8(%rdi), %r8
	mov	GR_R9(%rdi), %r9
	mov	GR_R10(%rdi), %r10
	mov	GR_R11(%rdi), %r11
	mov	GR_R12(%rdi), %r12
	mov	GR_R13(%rdi), %r13
	mov	GR_R14(%rdi), %r14
	mov	GR_R15(%rdi), %r15
	mov	GR_RDI(%rdi), %rdi

	jne	1f
	vmlaunch
	jmp	.Lfail
1:	vmresume

	/* Only reached when VMLAUNCH/VMRESUME failed: CF or ZF is set. */
.Lfail:
	mov	$2, %eax
	jnc	2f
	mov	$1, %eax
2:	add	$8, %rsp
	jmp	.Lout

	.globl	vmx_exit_stub
	.type	vmx_exit_stub, @function
vmx_exit_stub:
	/* RSP is HOST_RSP: the register block pointer is on top. */
	push	%rdi
	mov	8(%rsp), %rdi
	mov	%rax, GR_RAX(%rdi)
	mov	%rcx, GR_RCX(%rdi)
	mov	%rdx, GR_RDX(%rdi)
	mov	%rbx, GR_RBX(%rdi)
	mov	%rbp, GR_RBP(%rdi)
	mov	%rsi, GR_RSI(%rdi)
	mov	%r8, GR_R8(%rdi)
	mov	%r9, GR_R9(%rdi)
	mov	%r10, GR_R10(%rdi)
	mov	%r11, GR_R11(%rdi)
	mov	%r12, GR_R12(%rdi)
	mov	%r13, GR_R13(%rdi)
	mov	%r14, GR_R14(%rdi)
	mov	%r15, GR_R15(%rdi)
	pop	%rax
	mov	%rax, GR_RDI(%rdi)
	add	$8, %rsp
	xor	%eax, %eax

.Lout:
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size	vmx_enter, . - vmx_enter

	.section .note.GNU-stack, "", @progbits
