// SPDX-License-Identifier: GPL-2.0
#include "palloc.h"
#include "lib.h"
#include "spinlock.h"

static u64 heap_next, heap_end, heap_base;
static u64 free_list; /* freed single pages, linked through their first word */
static u64 used;
static spinlock_t lock;

void palloc_init(u64 base, u64 size)
{
	heap_base = ALIGN_UP(base, PAGE_SIZE);
	heap_next = heap_base;
	heap_end = ALIGN_DOWN(base + size, PAGE_SIZE);
	spin_init(&lock);
}

void *pages_alloc(u64 count)
{
	u64 pa = 0;

	spin_lock(&lock);
	if (count == 1 && free_list) {
		pa = free_list;
		free_list = *(u64 *)(uintptr_t)pa;
	} else if (count && heap_end - heap_next >= count * PAGE_SIZE) {
		pa = heap_next;
		heap_next += count * PAGE_SIZE;
	}
	if (pa)
		used += count;
	spin_unlock(&lock);
	if (!pa)
		return NULL;
	memset((void *)(uintptr_t)pa, 0, count * PAGE_SIZE);
	return (void *)(uintptr_t)pa;
}

void *page_alloc(void)
{
	return pages_alloc(1);
}

void page_free(void *page)
{
	spin_lock(&lock);
	*(u64 *)page = free_list;
	free_list = (u64)(uintptr_t)page;
	used--;
	spin_unlock(&lock);
}

u64 palloc_used_pages(void)
{
	return used;
}

u64 palloc_total_pages(void)
{
	return (heap_end - heap_base) / PAGE_SIZE;
}
