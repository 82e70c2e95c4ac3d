// SPDX-License-Identifier: GPL-2.0
/*
 * MADT filtering (ACPI 6.5, 5.2.12): the driver VM is shown only its own
 * CPUs, so its kernel does not try to start the ones kept for user
 * guests. This is courtesy, not protection: the ICR intercept (msr.c)
 * refuses INIT/SIPI/IPIs to foreign CPUs whatever the tables say.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include "../core/acpi.h"

static void fix_checksum(struct sdt_hdr *h)
{
	u8 sum = 0, *p = (u8 *)h;

	h->csum = 0;
	for (u32 i = 0; i < h->len; i++)
		sum += p[i];
	h->csum = (u8)-sum;
}

static void filter_madt(struct sdt_hdr *madt, u32 keep_apic)
{
	u8 *p = (u8 *)madt + MADT_ENTRIES_OFFSET, *end = (u8 *)madt + madt->len;
	u32 hidden = 0;

	for (; p + 2 <= end && p[1] >= 2; p += p[1]) {
		u32 id, *flags;

		if (p[0] == 0 && p[1] >= 8) { /* Processor Local APIC */
			id = p[3];
			flags = (u32 *)(p + 4);
		} else if (p[0] == 9 && p[1] >= 16) { /* Local x2APIC */
			id = *(u32 *)(p + 4);
			flags = (u32 *)(p + 8);
		} else {
			continue;
		}
		if (id != keep_apic && (*flags & 3)) {
			*flags &= ~3u; /* neither Enabled nor Online Capable */
			hidden++;
		}
	}
	fix_checksum(madt);
	pr_info("MADT: %u CPU(s) hidden from the driver VM, APIC ID %u kept\n",
		hidden, keep_apic);
}

void madt_keep_only(u64 rsdp_pa, u32 apic_id)
{
	struct sdt_hdr *madt = acpi_find_table(rsdp_pa, "APIC");

	if (!madt) {
		pr_info("no ACPI MADT found: no MADT to filter\n");
		return;
	}
	filter_madt(madt, apic_id);
}
