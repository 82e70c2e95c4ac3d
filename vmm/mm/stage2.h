/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vendor-neutral builder for second-level (guest-physical to host-physical)
 * page tables. The entry format comes from the back end (EPT or NPT); the
 * walk, large-page selection and splitting live here, once.
 */
#ifndef DEVIRT_STAGE2_H
#define DEVIRT_STAGE2_H

#include <devirt/types.h>
#include "../arch/arch.h"

#define S2_LIMIT (1ULL << 48) /* what 4-level tables translate */

struct stage2 {
	const struct stage2_format *fmt;
	u64 *root; /* 4-level root table; its address is also its phys */
	void *(*alloc_page)(void); /* zeroed page, identity-mapped */
	void (*free_page)(void *page);
	u64 tables; /* table pages in use */
};

struct s2_lookup {
	u64 hpa;
	u32 perm;
	u32 memtype;
	u32 level; /* 1: 4K, 2: 2M, 3: 1G */
};

int s2_init(struct stage2 *s2, const struct stage2_format *fmt,
	    void *(*alloc_page)(void), void (*free_page)(void *));
/* Map [gpa, gpa+size) to [hpa, ...); 4 KiB aligned. 0 or -1 (no memory). */
int s2_map(struct stage2 *s2, u64 gpa, u64 hpa, u64 size, u32 perm,
	   u32 memtype);
int s2_unmap(struct stage2 *s2, u64 gpa, u64 size);
bool s2_translate(const struct stage2 *s2, u64 gpa, struct s2_lookup *out);
u64 s2_root_pa(const struct stage2 *s2);

#endif
