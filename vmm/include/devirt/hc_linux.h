/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For Linux modules that make hypercalls (the test modules, the devfile
 * shim and stub): the hypercall wrapper and the local APIC IPI helper. Include it from exactly one .c file per module;
 * it holds the module's hypercall state.
 *
 * A hypercall instruction that faults (#UD: no hypervisor, or the wrong
 * one for this vendor) is caught through the exception table and returns
 * DEVIRT_HC_FAULTED instead of oopsing, so a module is safe to load
 * anywhere.
 */
#ifndef DEVIRT_TESTS_HC_H
#define DEVIRT_TESTS_HC_H

#include <linux/types.h>
#include <linux/string.h>
#include <linux/io.h>
#include <asm/asm.h>
#include <asm/processor.h>
#include <asm/msr.h>

#include <devirt/hypercall.h>

/* rax after a hypercall instruction that raised an exception. */
#define DEVIRT_HC_FAULTED (-4095)

/* A fault on the hypercall instruction (#UD) resumes at 2: with rax set. */
/* clang-format off */
#define DEVIRT_HC_ASM(insn)						\
	"1: " insn "\n"							\
	"2:\n"								\
	_ASM_EXTABLE_TYPE_REG(1b, 2b,					\
			      EX_TYPE_IMM_REG |				\
			      EX_DATA_IMM(DEVIRT_HC_FAULTED),		\
			      %%rax)
/* clang-format on */

/* VMMCALL (AMD) or VMCALL (Intel and the rest); set by devirt_hc_setup(). */
static bool devirt_hc_vmmcall;

/*
 * Reads the CPU vendor string (12 characters and a NUL) into @vendor and
 * picks the hypercall instruction from it.
 */
static inline void devirt_hc_setup(char vendor[13])
{
	unsigned int eax, ebx, ecx, edx;

	cpuid(0, &eax, &ebx, &ecx, &edx);
	memcpy(vendor + 0, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = '\0';
	devirt_hc_vmmcall = !strcmp(vendor, "AuthenticAMD");
}

/* The signature at CPUID 0x40000000 (12 characters and a NUL). */
static inline void devirt_hc_signature(char sig[13])
{
	unsigned int eax, ebx, ecx, edx;

	cpuid(DEVIRT_CPUID_LEAF, &eax, &ebx, &ecx, &edx);
	memcpy(sig + 0, &ebx, 4);
	memcpy(sig + 4, &ecx, 4);
	memcpy(sig + 8, &edx, 4);
	sig[12] = '\0';
}

static inline long devirt_hypercall(unsigned long nr, unsigned long a0,
				    unsigned long a1, unsigned long a2)
{
	long ret;

	if (devirt_hc_vmmcall)
		asm volatile(DEVIRT_HC_ASM("vmmcall")
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			     : "memory");
	else
		asm volatile(DEVIRT_HC_ASM("vmcall")
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			     : "memory");
	return ret;
}

/* DEVIRT_HC_HV_INFO into @info (zeroed first); DEVIRT_EOK on success. */
static inline long devirt_hv_info(struct devirt_hv_info *info)
{
	memset(info, 0, sizeof(*info));
	return devirt_hypercall(DEVIRT_HC_HV_INFO, (unsigned long)info,
				sizeof(*info), 0);
}

/* --- local APIC interrupt command register ------------------------------ */

/*
 * A user guest's PCI configuration space (mechanism #1, vmm/vm/legacy.c):
 * devirt's host bridge at 00:00.0 (device << 16 | vendor), nothing else.
 */
#define DEVIRT_PCI_HOSTBRIDGE_ID 0x00081b36u

#define DEVIRT_MSR_X2APIC_ICR 0x830
#define DEVIRT_XAPIC_ICR_LO 0x300
#define DEVIRT_XAPIC_ICR_HI 0x310
#define DEVIRT_ICR_FIXED 0x4000 /* delivery mode 0, level assert, | vector */
#define DEVIRT_ICR_NMI 0x4400 /* delivery mode 4 */
#define DEVIRT_ICR_INIT_ASSERT 0x4500 /* delivery mode 5, level assert */
#define DEVIRT_ICR_SIPI 0x4600 /* delivery mode 6, | vector */

/*
 * Sends one IPI to physical APIC ID @dest: through the xAPIC ICR in the
 * APIC page mapped at @xapic, or the x2APIC ICR MSR when @xapic is NULL.
 * Returns 0, or -EIO when the WRMSR raised #GP.
 */
static inline int devirt_send_ipi(void __iomem *xapic, u32 dest, u32 icr_lo)
{
	if (xapic) {
		writel(dest << 24, xapic + DEVIRT_XAPIC_ICR_HI);
		writel(icr_lo, xapic + DEVIRT_XAPIC_ICR_LO); /* sends */
		return 0;
	}
	return native_write_msr_safe(DEVIRT_MSR_X2APIC_ICR, icr_lo, dest);
}

#endif
