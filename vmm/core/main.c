// SPDX-License-Identifier: GPL-2.0
/* The hypervisor's C entry on the boot CPU, after ExitBootServices. */
#include "lib.h"
#include "x86.h"
#include "cpu.h"
#include "palloc.h"
#include "smp.h"
#include "../vm/vm.h"
#include <devirt/hypercall.h>

struct boot_info *boot_info;
const struct arch_ops *arch;
extern const u8 __image_start[], __image_end[];

/*
 * Past ExitBootServices there is no firmware to return to: report, wait
 * long enough to be read, and reset the machine (never a triple fault).
 */
static void __attribute__((noreturn)) fatal(const char *what)
{
	u64 hz = boot_info && boot_info->tsc_hz ? boot_info->tsc_hz :
						  2000000000ULL;
	u64 end = rdtsc() + 5 * hz;

	pr_err("FATAL: %s\n", what);
	pr_err("the machine resets in 5 seconds\n");
	while (rdtsc() < end)
		cpu_relax();
	outb(0xcf9, 0x02); /* reset control register: hard reset */
	outb(0xcf9, 0x06);
	outb(0x64, 0xfe); /* keyboard controller reset, the legacy way */
	cpu_halt_forever();
}

/* CPUs no VM owns yet wait here, interrupts off, for user guests. */
static void ap_park(struct pcpu *cpu)
{
	pr_info("CPU %u (APIC ID %u) started, parked for user guests\n",
		cpu->index, cpu->apic_id);
	smp_ap_wait(cpu);
}

void vmm_main(struct boot_info *bi)
{
	char feat[160];
	struct vm *driver;
	u64 limit;

	console_init();
	if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION)
		fatal("boot_info from the loader has the wrong magic or version");
	boot_info = bi;
	log_level = bi->cfg.log_level;
	palloc_init(bi->heap_base, bi->heap_size);

	limit = 1ULL << MIN(cpu_phys_bits(), 46u);
	if (!cpu_has_1g_pages() && limit > (64ULL << 30))
		limit = 64ULL << 30;
	if (cpu_host_init(limit))
		fatal("out of memory for the hypervisor's page tables");

	if (bi->backend == BACKEND_VMX)
		arch = &vmx_ops;
	else if (bi->backend == BACKEND_SVM)
		arch = &svm_ops;
	else
		fatal("the loader chose no virtualization back end");
	if (arch->cpu_init())
		fatal("cannot enable hardware virtualization");
	arch->features(feat, sizeof(feat));
	pr_info("devirt hypervisor, hypercall ABI %u.%u\n", DEVIRT_ABI_MAJOR,
		DEVIRT_ABI_MINOR);
	pr_info("backend=%s (%s) features: %s\n", arch->name, arch->s2_name,
		feat);
	pr_info("hypervisor memory: 0x%lx-0x%lx (%lu MiB), image %lu KiB\n",
		bi->hyp_base, bi->hyp_base + bi->hyp_size - 1,
		bi->hyp_size >> 20, bi->image_size >> 10);
	hypercall_init();
	devfile_init();
	smp_discover(bi->acpi_rsdp);
	if (nr_pcpus > 1)
		smp_start_aps(ap_park);

	apic_timer_calibrate();
	guest_console_init();
	if (vm_create_driver(&driver))
		fatal("cannot create the driver VM (see above)");
	guests_create();
	pr_info("resident: image %lu KiB + heap %lu KiB in use of %lu KiB reserved\n",
		(u64)(__image_end - __image_start) >> 10,
		palloc_used_pages() * 4, bi->hyp_size >> 10);
	pr_info("[%s] launching on CPU 0 (APIC ID %u)\n", driver->name,
		driver->vcpus[0].apic_id);
	vcpu_loop(&driver->vcpus[0]);
}
