// SPDX-License-Identifier: GPL-2.0
/*
 * Application processors. The hypervisor, not the driver VM, starts every
 * CPU: the ones a VM does not own stay parked in the hypervisor, out of
 * any VM's reach. SDM Vol. 3A 8.4 "Multiple-Processor (MP) Initialization"
 * and 10.6.1 "Interrupt Command Register".
 */
#include "smp.h"
#include "lib.h"
#include "x86.h"
#include "acpi.h"
#include <devirt/boot_info.h>

extern struct boot_info *boot_info;
extern const u8 ap_tramp_start[], ap_tramp_end[], ap_tramp_params[];

struct tramp_params {
	u64 cr3, stack, entry, arg;
};

#define AP_STACK_SIZE 16384

struct pcpu pcpus[MAX_CPUS];
u32 nr_pcpus;
static u8 ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
static void (*ap_main_fn)(struct pcpu *cpu);
static bool probing; /* CPUs are guesses: drop those that do not start */

#define NO_ACPI_PROBE 4

void udelay(u64 us)
{
	u64 hz = boot_info->tsc_hz ? boot_info->tsc_hz : 3000000000ULL;
	u64 end = rdtsc() + us * (hz / 1000000);

	while (rdtsc() < end)
		cpu_relax();
}

static u32 boot_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(0xb, 0, &a, &b, &c, &d);
	if (b)
		return d;
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

/* NMIs taken in root mode (all CPUs), for the log. */
u64 host_nmis;

void host_nmi(void)
{
	u32 id = boot_apic_id();

	__atomic_add_fetch(&host_nmis, 1, __ATOMIC_RELAXED);
	/* CPUID does not exit in root mode: safe in an NMI handler. */
	for (u32 i = 0; i < nr_pcpus; i++) {
		if (pcpus[i].apic_id != id)
			continue;
		/* A kick: the vCPU flushes before it enters (vcpu.c). */
		if (pcpus[i].kick_only)
			pcpus[i].kicks++;
		else
			__atomic_store_n(&pcpus[i].nmi_pending, 1,
					 __ATOMIC_RELEASE);
	}
}

bool smp_take_nmi(u32 cpu)
{
	return cpu < MAX_CPUS && __atomic_exchange_n(&pcpus[cpu].nmi_pending, 0,
						     __ATOMIC_ACQ_REL);
}

static void add_cpu(u32 apic_id)
{
	for (u32 i = 0; i < nr_pcpus; i++)
		if (pcpus[i].apic_id == apic_id)
			return;
	if (nr_pcpus == MAX_CPUS)
		return;
	pcpus[nr_pcpus].index = nr_pcpus;
	pcpus[nr_pcpus].apic_id = apic_id;
	nr_pcpus++;
}

/* ACPI 6.5 5.2.12: enabled Processor Local APIC and x2APIC entries. */
static bool madt_cpus(u64 rsdp_pa)
{
	const u8 *madt = (const u8 *)acpi_find_table(rsdp_pa, "APIC");
	u32 len;

	if (!madt)
		return false;
	len = ((const struct sdt_hdr *)madt)->len;
	for (const u8 *p = madt + MADT_ENTRIES_OFFSET;
	     p + 2 <= madt + len && p[1] >= 2; p += p[1]) {
		if (p[0] == 0 && p[1] >= 8 && (*(const u32 *)(p + 4) & 1))
			add_cpu(p[3]);
		else if (p[0] == 9 && p[1] >= 16 && (*(const u32 *)(p + 8) & 1))
			add_cpu(*(const u32 *)(p + 4));
	}
	return true;
}

void smp_discover(u64 rsdp)
{
	const char *how = "ACPI MADT";

	nr_pcpus = 0;
	add_cpu(boot_apic_id()); /* index 0: the boot CPU */
	if (!madt_cpus(rsdp)) {
		/*
		 * No ACPI (OVMF under Bochs): CPUID only describes one
		 * package, so offer a few low APIC IDs to smp_start_aps,
		 * which keeps those that answer INIT-SIPI.
		 */
		for (u32 i = 0; i < NO_ACPI_PROBE; i++)
			add_cpu(i);
		probing = true;
		pr_info("no ACPI MADT: probing APIC IDs 0-%u for CPUs\n",
			NO_ACPI_PROBE - 1);
		return;
	}
	pr_info("%u CPU(s) found by %s\n", nr_pcpus, how);
}

/* Send an IPI with the hypervisor's own APIC (x2APIC or xAPIC). */
static void send_ipi(u32 apic_id, u32 icr_lo)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);

	if (base & APIC_BASE_EXTD) {
		wrmsr(MSR_X2APIC_ICR, ((u64)apic_id << 32) | icr_lo);
	} else {
		volatile u32 *apic = phys_to_virt(base & ~0xfffULL);

		apic[0x310 / 4] = apic_id << 24;
		apic[0x300 / 4] = icr_lo;
		for (u32 i = 0; i < 100000 && (apic[0x300 / 4] & (1u << 12));
		     i++)
			cpu_relax(); /* delivery status: send pending */
	}
}

void __attribute__((noreturn)) ap_entry(u64 index)
{
	struct pcpu *cpu = &pcpus[index];

	cpu_host_load(cpu->index);
	__atomic_store_n(&cpu->online, 1, __ATOMIC_RELEASE);
	ap_main_fn(cpu);
	cpu_halt_forever();
}

u32 smp_start_aps(void (*ap_fn)(struct pcpu *cpu))
{
	u64 tp = boot_info->trampoline;
	struct tramp_params *params;
	u32 up = 0;

	if (!tp) {
		pr_info("no start-up page below 1 MiB: APs stay stopped\n");
		return 0;
	}
	ap_main_fn = ap_fn;
	memcpy(phys_to_virt(tp), ap_tramp_start, ap_tramp_end - ap_tramp_start);
	params = phys_to_virt(tp + (ap_tramp_params - ap_tramp_start));
	for (u32 i = 1; i < nr_pcpus; i++) {
		struct pcpu *cpu = &pcpus[i];

		params->cr3 = host_cr3;
		params->stack = (u64)(uintptr_t)&ap_stacks[i][AP_STACK_SIZE];
		params->entry = (u64)(uintptr_t)ap_entry;
		params->arg = i;
		/* INIT, 10 ms, SIPI, 200 us, SIPI (SDM 8.4.4.1). */
		send_ipi(cpu->apic_id, 0x4500);
		udelay(10000);
		for (u32 s = 0; s < 2 && !cpu->online; s++) {
			send_ipi(cpu->apic_id, 0x4600 | (u32)(tp >> 12));
			udelay(200);
		}
		for (u32 t = 0; t < 1000 && !cpu->online; t++)
			udelay(100);
		if (cpu->online)
			up++;
		else if (!probing)
			pr_err("CPU %u (APIC ID %u) did not start\n", i,
			       cpu->apic_id);
	}
	if (probing)
		pr_info("%u other CPU(s) answered the probe\n", up);
	else
		pr_info("%u of %u other CPU(s) started\n", up, nr_pcpus - 1);
	return up;
}

static void idle_halt(void *arg)
{
	(void)arg;
	cpu_halt_forever();
}

void smp_run_on(struct pcpu *cpu, void (*fn)(void *arg), void *arg)
{
	cpu->work_arg = arg;
	__atomic_store_n(&cpu->work, fn, __ATOMIC_RELEASE);
}

void smp_release_idle(void)
{
	for (u32 i = 1; i < nr_pcpus; i++)
		if (pcpus[i].online && !pcpus[i].work)
			smp_run_on(&pcpus[i], idle_halt, NULL);
}

void smp_ap_wait(struct pcpu *cpu)
{
	void (*fn)(void *arg);

	/* Interrupts stay off: nothing but the boot CPU talks to us. */
	while (!(fn = __atomic_load_n(&cpu->work, __ATOMIC_ACQUIRE)))
		cpu_relax();
	fn(cpu->work_arg);
	cpu_halt_forever();
}
