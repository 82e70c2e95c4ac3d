// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID a VM sees: the real CPU, plus the hypervisor bit and devirt's
 * leaves, minus the virtualization extensions (no nesting).
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include <devirt/hypercall.h>

#define KVM_CPUID_BASE 0x40000100u

static void sig(const char *s, u32 *b, u32 *c, u32 *d)
{
	memcpy(b, s, 4);
	memcpy(c, s + 4, 4);
	memcpy(d, s + 8, 4);
}

void handle_cpuid(struct vcpu *vcpu)
{
	u32 leaf = (u32)vcpu->regs.rax, sub = (u32)vcpu->regs.rcx;
	u32 a = 0, b = 0, c = 0, d = 0;

	if (leaf >= 0x40000000u && leaf < 0x40010000u) {
		switch (leaf) {
		case DEVIRT_CPUID_LEAF:
			a = DEVIRT_CPUID_LEAF + 1;
			sig(DEVIRT_CPUID_SIGNATURE, &b, &c, &d);
			break;
		case DEVIRT_CPUID_LEAF + 1:
			a = (DEVIRT_ABI_MAJOR << 16) | DEVIRT_ABI_MINOR;
			b = vcpu->vm->id;
			break;
		case KVM_CPUID_BASE:
			/*
			 * A KVM-compatible leaf with no paravirt features: it
			 * tells Linux that x2APIC without interrupt remapping
			 * is fine here (arch/x86/kernel/kvm.c, x2apic_available).
			 */
			a = KVM_CPUID_BASE + 1;
			sig("KVMKVMKVM\0\0\0", &b, &c, &d);
			break;
		default:
			break; /* unknown hypervisor leaves read as zero */
		}
	} else {
		cpuid(leaf, sub, &a, &b, &c, &d);
		switch (leaf) {
		case 1:
			c |= 1u << 31; /* hypervisor present (SDM CPUID) */
			c &= ~(1u << 5); /* VMX: no nested virtualization */
			c &= ~(1u << 6); /* SMX */
			/* Initial APIC ID of the vCPU, not of the host CPU. */
			b = (b & 0x00ffffffu) | (vcpu->apic_id << 24);
			break;
		case 0x80000001:
			c &= ~(1u << 2); /* SVM (APM CPUID Fn8000_0001_ECX) */
			break;
		case 0x8000000a:
			a = b = c = d = 0; /* SVM features */
			break;
		default:
			break;
		}
	}
	vcpu->regs.rax = a;
	vcpu->regs.rbx = b;
	vcpu->regs.rcx = c;
	vcpu->regs.rdx = d;
}
