/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVIRT_ACPI_H
#define DEVIRT_ACPI_H

#include <devirt/types.h>

/* ACPI 6.5 5.2.6 System Description Table header. */
struct sdt_hdr {
	char sig[4];
	u32 len;
	u8 rev;
	u8 csum;
	char oem[6];
	char oem_table[8];
	u32 oem_rev;
	u32 creator;
	u32 creator_rev;
} __attribute__((packed));

/* MADT entries start after the header, the local APIC address and flags. */
#define MADT_ENTRIES_OFFSET (sizeof(struct sdt_hdr) + 8)

/* The table with signature @sig through the XSDT (or RSDT), or NULL. */
struct sdt_hdr *acpi_find_table(u64 rsdp_pa, const char *sig);

#endif
