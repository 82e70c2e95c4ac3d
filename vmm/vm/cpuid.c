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
/* Documentation/virt/kvm/x86/cpuid.rst */
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define KVM_HINTS_REALTIME (1u << 0) /* vCPUs are never preempted */

/*
 * Leaf 7 hides what a driver VM does not need and emulators get wrong:
 * with Bochs 2.7's tigerlake model the stock kernel hangs in early boot
 * unless UMIP, LA57, the Ice Lake vector extensions, FSRM and friends are
 * hidden (the same kernel hangs there without devirt, too).
 *
 * Extended state offered to VMs: x87, SSE and AVX only, in the standard
 * (non-compacted) XSAVE layout. Emulated CPUs disagree with the kernel
 * about the rest (Bochs tigerlake reports PKRU and AVX-512 offsets that
 * make Linux warn "misordered xstate" and later hang), and nothing a
 * driver VM needs depends on them. SDM Vol. 1 13.2 "Enumeration of CPU
 * Support for XSAVE Instructions and XSAVE-Supported Features".
 */
#define VM_XCR0_MASK 0x7ULL

u64 vm_xcr0_allowed(void)
{
	u32 a, b, c, d;

	cpuid(0xd, 0, &a, &b, &c, &d);
	return (((u64)d << 32) | a) & VM_XCR0_MASK;
}

static u64 xgetbv0(void)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

/* Bytes of a standard-format XSAVE area for the components in @xcr0. */
static u32 xsave_size(u64 xcr0)
{
	return 576 + ((xcr0 & 4) ? 256 : 0);
}

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
	bool guest = vcpu->vm->role == VM_ROLE_GUEST;

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
		case KVM_CPUID_BASE + 1:
			/* User guests get kvmclock: their only way to the TSC rate. */
			if (guest) {
				a = KVM_FEATURE_CLOCKSOURCE2 |
				    KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
				d = KVM_HINTS_REALTIME;
			}
			break;
		default:
			break; /* unknown hypervisor leaves read as zero */
		}
	} else {
		cpuid(leaf, sub, &a, &b, &c, &d);
		switch (leaf) {
		case 1:
			c |= 1u << 31; /* hypervisor present (SDM CPUID) */
			/* OSXSAVE mirrors the guest's CR4, not ours. */
			c &= ~(1u << 27);
			if (arch->guest_cr4(vcpu) & CR4_OSXSAVE)
				c |= 1u << 27;
			c &= ~(1u << 5); /* VMX: no nested virtualization */
			c &= ~(1u << 6); /* SMX */
			/* Initial APIC ID of the vCPU, not of the host CPU. */
			b = (b & 0x00ffffffu) | (vcpu->apic_id << 24);
			if (guest) {
				/* TSC-deadline: native or emulated (apic.c). */
				c |= 1u << 24;
				/* No machine check: the banks are shared. */
				d &= ~((1u << 7) | (1u << 14));
			}
			break;
		case 6:
			/*
			 * No APERF/MPERF: Bochs advertises them without the
			 * MSRs, and Linux reads them on every scheduler tick.
			 */
			c &= ~1u;
			/* ARAT: a guest's LAPIC timer never stops (no C-states). */
			if (guest)
				a |= 1u << 2;
			break;
		case 0x15:
		case 0x16:
			/*
			 * No TSC/crystal ratio or nominal frequency: emulators
			 * report nominal values that are not their TSC rate
			 * (Bochs tigerlake: 2400 MHz for a 200 MHz TSC), and
			 * Linux would trust them over measuring. The driver
			 * VM calibrates against the platform timers; user
			 * guests get the rate devirt measured (kvmclock).
			 */
			a = b = c = d = 0;
			break;
		case 0xa:
			/* No performance counters for user guests. */
			if (guest)
				a = b = c = d = 0;
			break;
		case 7:
			if (sub == 0) {
				/* AVX-512 (EBX 16,17,21,26-28,30,31), MPX (14), PT (25) */
				b &= ~0xde234000u;
				/* SHA (EBX 29) */
				b &= ~(1u << 29);
				/* AVX-512 (ECX 1,6,11,12,14), PKU/OSPKE (3,4), CET (7) */
				c &= ~0x000058dau;
				/*
				 * UMIP (2), WAITPKG (5), GFNI/VAES/VPCLMULQDQ (8-10),
				 * LA57 (16), RDPID (22), MOVDIRI/64B (27, 28).
				 */
				c &= ~0x18410724u;
				/* AVX-512 (EDX 2,3,8,23), CET-IBT (20), AMX (22,24,25) */
				d &= ~0x03d0010cu;
				/* FSRM (4), SERIALIZE (14), PCONFIG (18) */
				d &= ~0x00044010u;
			} else if (sub == 1) {
				a &= ~(1u << 5); /* AVX512_BF16 */
			}
			break;
		case 0xd:
			if (sub == 0) {
				a &= (u32)VM_XCR0_MASK;
				d = 0;
				b = xsave_size(xgetbv0() & vm_xcr0_allowed());
				c = xsave_size(vm_xcr0_allowed());
			} else if (sub == 1) {
				a &= 1u |
				     4u; /* XSAVEOPT, XGETBV(1); no XSAVEC/S */
				b = c = d = 0;
			} else if (sub >= 3 || !((VM_XCR0_MASK >> sub) & 1)) {
				a = b = c = d = 0;
			}
			break;
		case 0x80000001:
			c &= ~(1u << 2); /* SVM (APM CPUID Fn8000_0001_ECX) */
			if (guest)
				c &= ~(1u << 23); /* PerfCtrExtCore */
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
