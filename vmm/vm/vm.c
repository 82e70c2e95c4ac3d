// SPDX-License-Identifier: GPL-2.0
/* Creating VMs: memory map, second-level tables, Linux image, vCPU. */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include "../core/cpu.h"
#include "../core/palloc.h"
#include <devirt/hypercall.h>
#include <stdarg.h>

static struct vm vms[CFG_MAX_VMS];
static u32 nr_vms;

struct vm *vm_get(u32 id)
{
	return id < nr_vms ? &vms[id] : NULL;
}

u32 vm_count(void)
{
	return nr_vms;
}

/* The VM's memory as the hypervisor reaches it (identity-mapped host). */
void *gpa_to_hva(struct vm *vm, u64 gpa)
{
	return phys_to_virt(gpa + vm->hpa_offset);
}

#define LOG_BURST 64 /* lines a VM may log at once */
#define LOG_PER_SEC 16 /* lines a second after that */

void vm_refuse(struct vm *vm, u32 kind, const char *fmt, ...)
{
	u64 now = rdtsc(), hz = boot_info->tsc_hz ? boot_info->tsc_hz : 1;
	char buf[200];
	va_list ap;

	switch (kind) {
	case REFUSE_IO:
		vm->refused_io++;
		break;
	case REFUSE_MSR:
		vm->refused_msr++;
		break;
	case REFUSE_IPI:
		vm->refused_ipi++;
		break;
	default:
		vm->refused++;
	}
	/* Token bucket: a hostile guest must not flood the log or stall. */
	if (!vm->log_stamp) {
		vm->log_stamp = now;
		vm->log_tokens = LOG_BURST;
	}
	if (now - vm->log_stamp >= hz / LOG_PER_SEC) {
		u64 add = (now - vm->log_stamp) / (hz / LOG_PER_SEC);

		vm->log_tokens = MIN(vm->log_tokens + add, (u64)LOG_BURST);
		vm->log_stamp = now;
	}
	if (!vm->log_tokens) {
		vm->log_dropped++;
		return;
	}
	vm->log_tokens--;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (vm->log_dropped) {
		pr_info("[%s] (%lu refusals not logged: rate limit)\n",
			vm->name, vm->log_dropped);
		vm->log_dropped = 0;
	}
	pr_info("[%s] refused %s\n", vm->name, buf);
}

static const char *const mem_names[] = {
	[MEM_RAM] = "RAM",
	[MEM_RESERVED] = "reserved",
	[MEM_ACPI] = "ACPI",
	[MEM_NVS] = "ACPI NVS",
	[MEM_UNUSABLE] = "bad",
	[MEM_MMIO] = "MMIO",
	[MEM_HYPERVISOR] = "devirt (unmapped)",
	[MEM_NOT_OWNED] = "not this VM's (unmapped)",
	[MEM_GUEST] = "a user guest's (unmapped)",
};

static u32 this_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(0xb, 0, &a, &b, &c, &d);
	if (b)
		return d; /* x2APIC ID (SDM CPUID leaf 0BH) */
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

/*
 * The driver VM sees the machine 1:1: all of guest-physical space up to
 * the CPU's address width is mapped to the same host address (UC, so
 * MMIO and BARs work wherever the firmware put them), its RAM and ACPI
 * tables are WB, and the hypervisor and other VMs' RAM are left out.
 */
static int map_driver(struct vm *vm)
{
	u64 limit = 1ULL << MIN(cpu_phys_bits(), 46u);

	if (!arch->s2fmt->has_1g && limit > (512ULL << 30))
		limit = 512ULL << 30;
	if (s2_init(&vm->s2, arch->s2fmt, page_alloc, page_free) ||
	    s2_map(&vm->s2, 0, 0, limit, S2_PERM_RWX, S2_MT_UC))
		return -1;
	for (u32 i = 0; i < vm->nr_mem; i++) {
		struct mem_range *r = &vm->mem[i];
		int err = 0;

		switch (r->type) {
		case MEM_RAM:
		case MEM_ACPI:
		case MEM_NVS:
			err = s2_map(&vm->s2, r->base, r->base, r->size,
				     S2_PERM_RWX, S2_MT_WB);
			break;
		case MEM_HYPERVISOR:
		case MEM_NOT_OWNED:
			err = s2_unmap(&vm->s2, r->base, r->size);
			break;
		default:
			break;
		}
		if (err)
			return -1;
	}
	return 0;
}

int load_linux(struct vm *vm, struct entry_state *st)
{
	struct bi_vm *img = &boot_info->vm[vm->id];
	struct vm_config *cfg = &boot_info->cfg.vms[vm->id];
	const u8 *k = phys_to_virt(img->kernel.addr);
	struct linux_info li;
	struct linux_layout lay;
	struct linux_entry le;
	char err[96];

	if (linux_parse(k, img->kernel.size, &li, err, sizeof(err))) {
		pr_err("[%s] kernel %s: %s\n", vm->name, cfg->kernel, err);
		return -1;
	}
	if (linux_place(&li, img->initrd.size, vm->mem, vm->nr_mem, &lay)) {
		pr_err("[%s] no room below 4 GiB for the kernel (%u bytes) and initrd (%lu bytes)\n",
		       vm->name, li.init_size, img->initrd.size);
		return -1;
	}
	/* Ranges are contiguous in host memory: identity or one offset. */
	memcpy(gpa_to_hva(vm, lay.kernel), k + li.setup_size, li.kernel_size);
	if (img->initrd.size)
		memcpy(gpa_to_hva(vm, lay.initrd),
		       phys_to_virt(img->initrd.addr), img->initrd.size);
	/*
	 * Only the driver VM sees the firmware's ACPI and framebuffer; a
	 * user guest gets its own tables (guest.c), found through
	 * boot_params.acpi_rsdp_addr (boot protocol 2.14+).
	 */
	if (vm->role != VM_ROLE_DRIVER && li.version < 0x020e)
		pr_info("[%s] boot protocol %u.%u is older than 2.14: the kernel may not find its ACPI tables\n",
			vm->name, li.version >> 8, li.version & 0xff);
	if (linux_build_boot(
		    gpa_to_hva(vm, lay.boot_area), k, &li, &lay,
		    img->initrd.size, cfg->cmdline, vm->mem, vm->nr_mem,
		    vm->role == VM_ROLE_DRIVER ? boot_info->acpi_rsdp :
						 GUEST_ACPI_BASE,
		    vm->role == VM_ROLE_DRIVER ? &boot_info->fb : NULL, &le)) {
		pr_err("[%s] memory map has too many entries for e820\n",
		       vm->name);
		return -1;
	}
	pr_info("[%s] Linux boot protocol %u.%u: kernel at 0x%lx, initrd at 0x%lx (%lu KiB), cmdline \"%s\"\n",
		vm->name, li.version >> 8, li.version & 0xff, lay.kernel,
		lay.initrd, img->initrd.size >> 10, cfg->cmdline);
	st->rip = le.rip;
	st->rsi = le.rsi;
	st->cr3 = le.cr3;
	st->gdt_base = le.gdt_base;
	st->gdt_limit = le.gdt_limit;
	return 0;
}

int vm_create_driver(struct vm **out)
{
	struct vm *vm = &vms[0];
	struct vm_config *cfg = &boot_info->cfg.vms[0];
	struct entry_state st;
	struct vcpu *vcpu;
	u64 given;
	int n;

	nr_vms = boot_info->cfg.nr_vms;
	vm->id = 0;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	vm->role = cfg->role;
	n = driver_map_build(boot_info->mem, boot_info->nr_mem,
			     boot_info->hyp_base, boot_info->hyp_size,
			     cfg->memory, vm->mem, VM_MAX_MEM, &given);
	if (n < 0) {
		pr_err("[%s] memory map too fragmented\n", vm->name);
		return -1;
	}
	/* The AP start-up page is devirt's, wherever the firmware put it. */
	if (boot_info->trampoline)
		n = map_carve(vm->mem, (u32)n, VM_MAX_MEM,
			      boot_info->trampoline, PAGE_SIZE, MEM_HYPERVISOR);
	if (n < 0) {
		pr_err("[%s] memory map too fragmented\n", vm->name);
		return -1;
	}
	vm->nr_mem = (u32)n;
	vm->ram_bytes = given;
	for (u32 i = 0; i < vm->nr_mem; i++) {
		if (vm->mem[i].type != MEM_RAM)
			continue;
		if (!vm->ram_hi)
			vm->ram_lo = vm->mem[i].base;
		vm->ram_hi = vm->mem[i].base + vm->mem[i].size;
	}
	if (given < cfg->memory) {
		pr_err("[%s] only %lu MiB of RAM left for it, %lu MiB configured\n",
		       vm->name, given >> 20, cfg->memory >> 20);
		return -1;
	}
	pr_info("[%s] memory map (guest-physical = host-physical):\n",
		vm->name);
	for (u32 i = 0; i < vm->nr_mem; i++)
		pr_info("  [0x%012lx-0x%012lx] %s\n", vm->mem[i].base,
			vm->mem[i].base + vm->mem[i].size - 1,
			vm->mem[i].type < ARRAY_SIZE(mem_names) &&
					mem_names[vm->mem[i].type] ?
				mem_names[vm->mem[i].type] :
				"?");
	if (map_driver(vm)) {
		pr_err("[%s] out of hypervisor memory for %s tables\n",
		       vm->name, arch->s2_name);
		return -1;
	}
	if (apic_trap_init(vm)) {
		pr_err("[%s] out of memory for %s tables\n", vm->name,
		       arch->s2_name);
		return -1;
	}
	pr_info("[%s] %s: %lu table pages\n", vm->name, arch->s2_name,
		vm->s2.tables);
	if (cfg->cpus > 1)
		pr_info("[%s] %u CPUs configured; this version runs the driver VM on the boot CPU only\n",
			vm->name, cfg->cpus);

	vm->nr_vcpus = 1;
	vcpu = &vm->vcpus[0];
	vcpu->vm = vm;
	vcpu->id = 0;
	vcpu->apic_id = this_apic_id();
	madt_keep_only(boot_info->acpi_rsdp, vcpu->apic_id);
	if (load_linux(vm, &st))
		return -1;
	if (arch->vcpu_init(vcpu, &st)) {
		pr_err("[%s] cannot set up the vCPU\n", vm->name);
		return -1;
	}
	/* SDM 10.12: writes that could leave x2APIC mode or IPI others. */
	arch->msr_intercept(vcpu, MSR_IA32_APIC_BASE, false, true);
	arch->msr_intercept(vcpu, MSR_X2APIC_ICR, false, true);
	/*
	 * I/O bitmap / IOPM bits (SDM Vol. 3C 25.6.4, APM Vol. 2 15.10.1).
	 * COM2 carries the guests' consoles: not the driver VM's (io.c).
	 */
	if (guest_console_on_com2())
		arch->io_intercept(vcpu, COM2, 8, true);
	/* COM1's data port only: its lines and devirt's must not mix. */
	arch->io_intercept(vcpu, COM1, 1, true);
	vm->state = DEVIRT_VM_RUNNING;
	*out = vm;
	return 0;
}
