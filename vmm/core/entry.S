/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hypervisor entry from the UEFI loader: System V call with %rdi = struct
 * boot_info *, interrupts off, firmware page tables and stack. Move to our
 * own stack at once; the firmware's is in memory the driver VM will own.
 */
	.section .text.entry, "ax"
	.globl vmm_start
vmm_start:
	cli
	cld
	leaq	boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	vmm_main
1:	hlt
	jmp	1b

	.bss
	.balign 4096
boot_stack:
	.skip	65536
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
