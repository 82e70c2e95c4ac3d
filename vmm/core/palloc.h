/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hypervisor's only allocator: whole 4 KiB pages from the heap that the
 * loader reserved. No hidden allocation anywhere else.
 */
#ifndef DEVIRT_PALLOC_H
#define DEVIRT_PALLOC_H

#include <devirt/types.h>

void palloc_init(u64 base, u64 size);
/* Zeroed, physically contiguous, page-aligned; NULL when exhausted. */
void *page_alloc(void);
void *pages_alloc(u64 count);
void page_free(void *page);
u64 palloc_used_pages(void);
u64 palloc_total_pages(void);

#endif
