// SPDX-License-Identifier: GPL-2.0
/*
 * User guests: static partitions. Each guest gets a physical CPU of its
 * own and one contiguous block of RAM that it sees from GPA 0, with its own
 * e820 map and ACPI tables. It touches no device: its console is an emulated
 * UART (uart.c) behind an emulated I/O APIC (ioapic.c), its clock is
 * kvmclock (kvmclock.c), its timer the CPU's own LAPIC timer (apic.c).
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include "../core/smp.h"
#include "../core/palloc.h"
#include <devirt/hypercall.h>

#define GUEST_MIN_MEM (32ULL << 20)
#define GUEST_ALIGN (2ULL << 20) /* 2 MiB second-level leaves */
#define GUEST_IOAPIC_ID 0xf0 /* above any CPU devirt starts */
#define GUEST_UART_IRQ 4 /* COM1 on the ISA bus */

/*
 * Take @size bytes, 2 MiB aligned, from RAM that the driver VM does not
 * own (MEM_NOT_OWNED in its map), and mark them as taken there.
 */
static u64 partition_take(struct vm *driver, u64 size)
{
	for (u32 i = 0; i < driver->nr_mem; i++) {
		struct mem_range *r = &driver->mem[i];
		u64 b = ALIGN_UP(r->base, GUEST_ALIGN);
		int n;

		if (r->type != MEM_NOT_OWNED || b < (1ULL << 20) ||
		    b + size > r->base + r->size)
			continue;
		n = map_carve(driver->mem, driver->nr_mem, VM_MAX_MEM, b, size,
			      MEM_GUEST);
		if (n < 0)
			return 0;
		driver->nr_mem = (u32)n;
		return b;
	}
	return 0;
}

static void guest_fail(struct vm *vm, const char *why)
{
	pr_err("[%s] not started: %s\n", vm->name, why);
	vm->state = DEVIRT_VM_STOPPED;
}

static void intercept_all_io(struct vcpu *vcpu)
{
	/* Every port exits: a user guest owns no device (io.c). */
	arch->io_intercept(vcpu, 0, 0x10000, true);
}

/* The guest's ACPI tables (layout.c), its RSDP at GUEST_ACPI_BASE. */
static int write_acpi_tables(struct vm *vm)
{
	u32 ids[VM_MAX_VCPUS];
	struct acpi_params p;

	for (u32 i = 0; i < vm->nr_vcpus; i++)
		ids[i] = vm->vcpus[i].apic_id;
	p.apic_ids = ids;
	p.nr_cpus = vm->nr_vcpus;
	p.ioapic_id = GUEST_IOAPIC_ID;
	p.ioapic_addr = (u32)IOAPIC_GPA;
	p.uart_port = COM1;
	p.uart_irq = GUEST_UART_IRQ;
	if (acpi_tables_build(gpa_to_hva(vm, GUEST_ACPI_BASE), GUEST_ACPI_SIZE,
			      GUEST_ACPI_BASE, &p) < 0) {
		pr_err("[%s] its ACPI tables do not fit\n", vm->name);
		return -1;
	}
	return 0;
}

/*
 * The reset vector, F000:FFF0 (SDM Vol. 3A 9.1.4). With hardware-reduced
 * ACPI and no EFI, Linux's emergency restart tries EFI, then jumps there
 * in real mode (reboot_type BOOT_EFI, then BOOT_BIOS), expecting firmware
 * that resets the machine. This stub asks for the reset through the
 * FADT's reset register, which stops the guest (io.c).
 */
#define GUEST_RESET_VECTOR 0xffff0ULL
static const u8 reset_stub[] = {
	0xba, 0xf9, 0x0c, /* mov $0xcf9, %dx */
	0xb0, 0x06, /* mov $0x06, %al: CPU reset, system reset */
	0xee, /* out %al, (%dx) */
	0xf4, /* 1: hlt */
	0xeb, 0xfd, /* jmp 1b */
};

/* Runs on the guest's own CPU: VMX needs the VMCS loaded there. */
static void __attribute__((noreturn)) guest_start(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct entry_state st;

	if (arch->cpu_init()) {
		guest_fail(vm, "cannot enable virtualization on its CPU");
		cpu_halt_forever();
	}
	/* Nothing of the firmware's or a previous owner's may leak in. */
	memset(gpa_to_hva(vm, 0), 0, vm->ram_bytes);
	memcpy(gpa_to_hva(vm, GUEST_RESET_VECTOR), reset_stub,
	       sizeof(reset_stub));
	if (write_acpi_tables(vm) || load_linux(vm, &st)) {
		guest_fail(vm, "cannot load its kernel (see above)");
		cpu_halt_forever();
	}
	if (arch->vcpu_init(vcpu, &st)) {
		guest_fail(vm, "cannot set up its vCPU");
		cpu_halt_forever();
	}
	intercept_all_io(vcpu);
	msr_guest_policy(vcpu);
	for (u32 i = 0; i < ARRAY_SIZE(vm->ioapic.rte); i++)
		vm->ioapic.rte[i] = 1ULL << 16; /* masked, as after reset */
	vm->boot_tsc = rdtsc();
	vm->state = DEVIRT_VM_RUNNING;
	pr_info("[%s] launching on CPU %u (APIC ID %u): %lu MiB at host 0x%lx\n",
		vm->name, vcpu->pcpu, vcpu->apic_id, vm->ram_bytes >> 20,
		vm->hpa_offset);
	vcpu_loop(vcpu);
}

static int guest_create(struct vm *driver, struct vm *vm, u32 id,
			struct pcpu **cpu_out, u32 *next_cpu)
{
	struct vm_config *cfg = &boot_info->cfg.vms[id];
	u64 size = ALIGN_UP(cfg->memory, GUEST_ALIGN), base;
	struct vcpu *vcpu;
	int n;

	vm->id = id;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	vm->role = cfg->role;
	vm->state = DEVIRT_VM_NOT_STARTED;
	if (cfg->cpus != 1) {
		guest_fail(
			vm,
			"a user guest runs on exactly one CPU in this version (cpus = 1)");
		return -1;
	}
	while (*next_cpu < nr_pcpus && !pcpus[*next_cpu].online)
		(*next_cpu)++;
	if (*next_cpu >= nr_pcpus) {
		guest_fail(vm,
			   "no free CPU left (each VM needs one of its own)");
		return -1;
	}
	if (size < GUEST_MIN_MEM) {
		guest_fail(vm, "memory must be at least 32M");
		return -1;
	}
	base = partition_take(driver, size);
	if (!base) {
		pr_err("[%s] no free block of %lu MiB (RAM not given to the driver VM or the hypervisor)\n",
		       vm->name, size >> 20);
		guest_fail(vm, "not enough free RAM");
		return -1;
	}
	n = guest_map_build(size, vm->mem, VM_MAX_MEM);
	if (n < 0) {
		guest_fail(vm, "cannot build its memory map");
		return -1;
	}
	vm->nr_mem = (u32)n;
	vm->ram_bytes = size;
	vm->hpa_offset = base;
	vm->ram_lo = base;
	vm->ram_hi = base + size;
	/*
	 * One WB mapping of the whole partition from GPA 0; everything else
	 * (APIC, I/O APIC, other VMs, devices) stays unmapped and faults.
	 */
	if (s2_init(&vm->s2, arch->s2fmt, page_alloc, page_free) ||
	    s2_map(&vm->s2, 0, base, size, S2_PERM_RWX, S2_MT_WB)) {
		guest_fail(vm, "out of hypervisor memory for its tables");
		return -1;
	}
	*cpu_out = &pcpus[(*next_cpu)++];
	vm->nr_vcpus = 1;
	vcpu = &vm->vcpus[0];
	vcpu->vm = vm;
	vcpu->id = 0;
	vcpu->pcpu = (*cpu_out)->index;
	vcpu->apic_id = (*cpu_out)->apic_id;
	(*cpu_out)->owner = vm->name;
	(*cpu_out)->kick_only = true;
	pr_info("[%s] user guest: %lu MiB at host 0x%lx-0x%lx, CPU %u (APIC ID %u), %s %lu table pages\n",
		vm->name, size >> 20, base, base + size - 1, vcpu->pcpu,
		vcpu->apic_id, arch->s2_name, vm->s2.tables);
	return 0;
}

void guests_create(void)
{
	struct vm *driver = vm_get(0);
	u32 next_cpu = 1;

	for (u32 id = 1; id < vm_count(); id++) {
		struct vm *vm = vm_get(id);
		struct pcpu *cpu;

		if (guest_create(driver, vm, id, &cpu, &next_cpu))
			continue;
		smp_run_on(cpu, guest_start, &vm->vcpus[0]);
	}
	/* CPUs no VM owns halt for good. */
	smp_release_idle();
}
