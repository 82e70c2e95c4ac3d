// SPDX-License-Identifier: GPL-2.0
/* Finding ACPI tables: RSDP -> XSDT/RSDT -> table (ACPI 6.5 5.2.5-5.2.8). */
#include "acpi.h"
#include "lib.h"
#include "x86.h"

struct sdt_hdr *acpi_find_table(u64 rsdp_pa, const char *sig)
{
	const u8 *rsdp = phys_to_virt(rsdp_pa);
	const struct sdt_hdr *root;
	u32 step;

	if (!rsdp_pa || memcmp(rsdp, "RSD PTR ", 8))
		return NULL;
	if (rsdp[15] >= 2 && *(const u64 *)(rsdp + 24)) {
		root = phys_to_virt(*(const u64 *)(rsdp + 24)); /* XSDT */
		step = 8;
	} else {
		root = phys_to_virt(*(const u32 *)(rsdp + 16)); /* RSDT */
		step = 4;
	}
	for (u32 off = sizeof(*root); off + step <= root->len; off += step) {
		const u8 *e = (const u8 *)root + off;
		u64 pa = step == 8 ? *(const u64 *)e : *(const u32 *)e;
		struct sdt_hdr *t = phys_to_virt(pa);

		if (pa && !memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}
