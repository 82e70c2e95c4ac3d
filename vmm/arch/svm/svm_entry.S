/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svm_vmrun(vmcb_pa, regs): world switch into the guest and back.
 * VMRUN saves/loads RAX, RSP, RIP, RFLAGS and segment state through the
 * VMCB (APM 15.5); the other GPRs are ours to swap. VMLOAD/VMSAVE move
 * the state VMRUN leaves alone: FS, GS, TR, LDTR, KernelGSBase and the
 * SYSCALL/SYSENTER MSRs (APM 15.5.2). The host uses none of them.
 * struct guest_regs offsets: rax 0, rcx 8, rdx 16, rbx 24, rsp 32,
 * rbp 40, rsi 48, rdi 56, r8..r15 64..120.
 */
	.text
	.globl svm_vmrun
svm_vmrun:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rsi		/* regs */
	movq	%rdi, %rax	/* VMCB physical address */

	movq	8(%rsi), %rcx
	movq	16(%rsi), %rdx
	movq	24(%rsi), %rbx
	movq	40(%rsi), %rbp
	movq	56(%rsi), %rdi
	movq	64(%rsi), %r8
	movq	72(%rsi), %r9
	movq	80(%rsi), %r10
	movq	88(%rsi), %r11
	movq	96(%rsi), %r12
	movq	104(%rsi), %r13
	movq	112(%rsi), %r14
	movq	120(%rsi), %r15
	movq	48(%rsi), %rsi

	vmload	%rax
	vmrun	%rax
	vmsave	%rax

	/* RAX is the host's again (the VMCB address); RSP is ours. */
	pushq	%rsi
	movq	8(%rsp), %rsi	/* regs */
	movq	%rcx, 8(%rsi)
	movq	%rdx, 16(%rsi)
	movq	%rbx, 24(%rsi)
	movq	%rbp, 40(%rsi)
	movq	%rdi, 56(%rsi)
	movq	%r8, 64(%rsi)
	movq	%r9, 72(%rsi)
	movq	%r10, 80(%rsi)
	movq	%r11, 88(%rsi)
	movq	%r12, 96(%rsi)
	movq	%r13, 104(%rsi)
	movq	%r14, 112(%rsi)
	movq	%r15, 120(%rsi)
	popq	%rax		/* guest rsi */
	movq	%rax, 48(%rsi)

	popq	%rsi
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.section .note.GNU-stack, "", @progbits
