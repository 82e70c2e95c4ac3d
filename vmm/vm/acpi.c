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
	u8 *p = (u8 *)madt + sizeof(*madt) + 8, *end = (u8 *)madt + madt->len;
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
	const u8 *rsdp = phys_to_virt(rsdp_pa);
	u64 tables[64];
	u32 n = 0, step;
	struct sdt_hdr *root;

	if (!rsdp_pa || memcmp(rsdp, "RSD PTR ", 8)) {
		pr_info("no ACPI RSDP: no MADT to filter\n");
		return;
	}
	if (rsdp[15] >= 2 && *(const u64 *)(rsdp + 24)) {
		root = phys_to_virt(*(const u64 *)(rsdp + 24)); /* XSDT */
		step = 8;
	} else {
		root = phys_to_virt(*(const u32 *)(rsdp + 16)); /* RSDT */
		step = 4;
	}
	for (u32 off = sizeof(*root); off + step <= root->len && n < 64;
	     off += step) {
		const u8 *e = (const u8 *)root + off;

		tables[n++] = step == 8 ? *(const u64 *)e : *(const u32 *)e;
	}
	for (u32 i = 0; i < n; i++) {
		struct sdt_hdr *h = phys_to_virt(tables[i]);

		if (!memcmp(h->sig, "APIC", 4))
			filter_madt(h, apic_id);
	}
}
