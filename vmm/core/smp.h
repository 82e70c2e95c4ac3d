/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVIRT_SMP_H
#define DEVIRT_SMP_H

#include <devirt/types.h>
#include "cpu.h"

struct pcpu {
	u32 index; /* 0 is the boot CPU */
	u32 apic_id;
	volatile u32 online; /* set by the CPU itself once it runs our code */
	const char *owner; /* the VM running here, or NULL: parked */
};

extern struct pcpu pcpus[MAX_CPUS];
extern u32 nr_pcpus;

/* Find the CPUs (ACPI MADT, else CPUID) before any filtering. */
void smp_discover(u64 rsdp);
/* Start every AP into ap_fn on its own stack; returns how many came up. */
u32 smp_start_aps(void (*ap_fn)(struct pcpu *cpu));
void udelay(u64 us);

#endif
