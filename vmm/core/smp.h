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
	/* Work handed to a parked AP (smp_run_on); it never returns. */
	void (*volatile work)(void *arg);
	void *work_arg;
	/* An NMI that hit this CPU in root mode, for its VM (host_nmi). */
	volatile u32 nmi_pending;
	/* A user guest's CPU: its NMIs are devirt's kicks, never its own. */
	bool kick_only;
	u64 kicks; /* NMIs taken in root mode as kicks */
};

extern struct pcpu pcpus[MAX_CPUS];
extern u32 nr_pcpus;

/* Find the CPUs (ACPI MADT, else CPUID) before any filtering. */
void smp_discover(u64 rsdp);
/* Start every AP into ap_fn on its own stack; returns how many came up. */
u32 smp_start_aps(void (*ap_fn)(struct pcpu *cpu));
void udelay(u64 us);
/* Make the parked @cpu run @fn(@arg), forever. */
void smp_run_on(struct pcpu *cpu, void (*fn)(void *arg), void *arg);
/* Parked CPUs without work halt for good. */
void smp_release_idle(void);
/*
 * The NMI handler (core/traps.S): an NMI taken in root mode belongs to the
 * VM that owns this CPU; mark it pending for the next VM entry.
 */
void host_nmi(void);
/* Take this CPU's pending NMI, if any (clears it). */
bool smp_take_nmi(u32 cpu);
/* What a started AP does: wait for work from smp_run_on. */
void __attribute__((noreturn)) smp_ap_wait(struct pcpu *cpu);

#endif
