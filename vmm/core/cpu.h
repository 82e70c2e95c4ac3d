/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVIRT_CPU_H
#define DEVIRT_CPU_H

#include <devirt/types.h>

#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TSS 0x18

#define MAX_CPUS 16

/* Load our GDT, TSS and IDT, and identity page tables for @phys_limit. */
int cpu_host_init(u64 phys_limit);
/* Load the descriptor tables of CPU @cpu (APs, after the trampoline). */
void cpu_host_load(u32 cpu);
extern u64 host_cr3;
u32 cpu_phys_bits(void);
bool cpu_has_1g_pages(void);

#endif
