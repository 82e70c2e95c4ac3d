/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure builders for a VM's physical map, its e820 table and the Linux
 * boot_params (Documentation/arch/x86/boot.rst and zero-page.rst). No
 * hardware access: unit-tested natively in tests/unit.
 */
#ifndef DEVIRT_LAYOUT_H
#define DEVIRT_LAYOUT_H

#include <devirt/boot_info.h>

#define MEM_HYPERVISOR 16 /* devirt's reservation: never mapped */
#define MEM_NOT_OWNED 17 /* RAM of another VM or unassigned: never mapped */
#define MEM_GUEST 18 /* a user guest's partition (in the driver's map) */

/*
 * The driver VM's guest-physical map: the firmware map with the hypervisor
 * carved out and RAM given, lowest first, up to @ram_budget bytes. Returns
 * the number of ranges, or -1 if @max is too small.
 */
int driver_map_build(const struct mem_range *fw, u32 nfw, u64 hyp_base,
		     u64 hyp_size, u64 ram_budget, struct mem_range *out,
		     u32 max, u64 *ram_given);

/*
 * Give [base, base+size) the type @type in a sorted map of @n ranges,
 * splitting what it overlaps. Returns the new count, or -1 if @max is
 * too small. Ranges outside the map are not added.
 */
int map_carve(struct mem_range *m, u32 n, u32 max, u64 base, u64 size,
	      u32 type);

/* e820 types, as Linux reads them from boot_params.e820_table. */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_UNUSABLE 5
u32 mem_to_e820(u32 mem_type);

struct linux_info {
	u16 version; /* boot protocol */
	u32 setup_size; /* bytes before the protected-mode kernel */
	u64 kernel_size; /* protected-mode part */
	u32 init_size; /* bytes the kernel needs in place to decompress */
	u32 align;
	u32 cmdline_max;
	bool above_4g; /* XLF_CAN_BE_LOADED_ABOVE_4G */
};

#define BOOT_AREA_PAGES 9 /* page tables, GDT, boot_params, command line */

struct linux_layout {
	u64 kernel; /* load address (GPA); 64-bit entry is +0x200 */
	u64 initrd;
	u64 boot_area; /* BOOT_AREA_PAGES pages */
};

int linux_parse(const u8 *img, u64 size, struct linux_info *li, char *err,
		size_t errlen);
/* Place kernel, initrd and boot area in RAM ranges of @map. */
int linux_place(const struct linux_info *li, u64 initrd_size,
		const struct mem_range *map, u32 n, struct linux_layout *lay);

/*
 * Fill the boot area (BOOT_AREA_PAGES pages at @area, guest address
 * lay->boot_area): identity page tables for 0-4 GiB, a GDT, boot_params
 * and the command line. Returns the GPAs an entry state needs.
 */
struct linux_entry {
	u64 rip, rsi, cr3, gdt_base;
	u16 gdt_limit;
};
int linux_build_boot(u8 *area, const u8 *img, const struct linux_info *li,
		     const struct linux_layout *lay, u64 initrd_size,
		     const char *cmdline, const struct mem_range *map, u32 n,
		     u64 rsdp, const struct bi_framebuffer *fb,
		     struct linux_entry *entry);

/*
 * kvmclock's scale for a TSC of @tsc_hz (pvclock_vcpu_time_info): ns =
 * ((delta << shift) * mul) >> 32, a negative shift shifting right.
 */
void pvclock_scale(u64 tsc_hz, u32 *mul, s8 *shift);

/*
 * A user guest's low memory: its ACPI tables have the page below the
 * legacy BIOS hole (640K-1M), marked ACPI in its e820 map.
 */
#define GUEST_ACPI_BASE 0x9f000ULL
#define GUEST_ACPI_SIZE 0x1000ULL

/*
 * Minimal ACPI 6.5 tables for a user guest, the RSDP first, at @gpa:
 * RSDP -> XSDT -> FADT (hardware-reduced; no 8042, VGA or CMOS clock;
 * reset through port 0xcf9) -> DSDT (COM1 at @uart_port, ISA IRQ
 * @uart_irq), and a MADT with one local APIC per APIC ID (the first is
 * the boot CPU) and one I/O APIC with GSIs from 0. Fills @buf (guest
 * address @gpa, 16-byte aligned) and returns the bytes used, or -1 if
 * @size is too small or there is no CPU.
 */
struct acpi_params {
	const u32 *apic_ids;
	u32 nr_cpus;
	u32 ioapic_id;
	u32 ioapic_addr;
	u32 uart_port;
	u32 uart_irq;
};
int acpi_tables_build(u8 *buf, u32 size, u64 gpa, const struct acpi_params *p);

/* The guest-physical map of a user guest of @bytes: RAM from 0 with the
 * ACPI tables' page marked ACPI and the legacy BIOS hole reserved.
 * Returns the count. */
int guest_map_build(u64 bytes, struct mem_range *out, u32 max);

#endif
