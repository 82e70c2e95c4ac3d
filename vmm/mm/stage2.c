// SPDX-License-Identifier: GPL-2.0
#include "stage2.h"

#define ENTRIES 512

static u64 level_size(u32 level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

static u64 *entry_table(const struct stage2 *s2, u64 e)
{
	return (u64 *)(uintptr_t)s2->fmt->addr(e);
}

static bool leaf_allowed(const struct stage2 *s2, u32 level)
{
	return level == 1 || level == 2 || (level == 3 && s2->fmt->has_1g);
}

int s2_init(struct stage2 *s2, const struct stage2_format *fmt,
	    void *(*alloc_page)(void), void (*free_page)(void *))
{
	s2->fmt = fmt;
	s2->alloc_page = alloc_page;
	s2->free_page = free_page;
	s2->root = alloc_page();
	s2->tables = s2->root ? 1 : 0;
	return s2->root ? 0 : -1;
}

u64 s2_root_pa(const struct stage2 *s2)
{
	return (u64)(uintptr_t)s2->root;
}

static void free_subtree(struct stage2 *s2, u64 *table, u32 level)
{
	for (u32 i = 0; level > 1 && i < ENTRIES; i++)
		if (s2->fmt->present(table[i]) &&
		    !s2->fmt->is_leaf(table[i], level))
			free_subtree(s2, entry_table(s2, table[i]), level - 1);
	if (s2->free_page)
		s2->free_page(table);
	s2->tables--;
}

/*
 * Replace a large leaf by a table of 512 smaller leaves with the same
 * attributes, so that part of it can be changed.
 */
static u64 *split(struct stage2 *s2, u64 *e, u32 level)
{
	const struct stage2_format *f = s2->fmt;
	u64 *t = s2->alloc_page();
	u64 base = f->addr(*e), sub = level_size(level - 1);

	if (!t)
		return NULL;
	s2->tables++;
	for (u32 i = 0; i < ENTRIES; i++)
		t[i] = f->leaf(base + i * sub, f->perm(*e), f->memtype(*e),
			       level - 1);
	*e = f->table((u64)(uintptr_t)t);
	return t;
}

/* @hpa is ignored and @perm 0 means unmap. */
static int update(struct stage2 *s2, u64 *table, u32 level, u64 gpa, u64 hpa,
		  u64 size, u32 perm, u32 mt)
{
	const struct stage2_format *f = s2->fmt;
	u64 esz = level_size(level);

	while (size) {
		u64 *e = &table[(gpa >> (12 + 9 * (level - 1))) % ENTRIES];
		u64 chunk = esz - (gpa & (esz - 1));
		u64 *next;

		if (chunk > size)
			chunk = size;
		if (chunk == esz && leaf_allowed(s2, level) &&
		    (!perm || IS_ALIGNED(hpa, esz))) {
			if (f->present(*e) && !f->is_leaf(*e, level))
				free_subtree(s2, entry_table(s2, *e),
					     level - 1);
			*e = perm ? f->leaf(hpa, perm, mt, level) : 0;
		} else {
			if (!f->present(*e)) {
				if (!perm)
					goto next;
				next = s2->alloc_page();
				if (!next)
					return -1;
				s2->tables++;
				*e = f->table((u64)(uintptr_t)next);
			} else if (f->is_leaf(*e, level)) {
				next = split(s2, e, level);
				if (!next)
					return -1;
			} else {
				next = entry_table(s2, *e);
			}
			if (update(s2, next, level - 1, gpa, hpa, chunk, perm,
				   mt))
				return -1;
		}
next:
		gpa += chunk;
		hpa += chunk;
		size -= chunk;
	}
	return 0;
}

int s2_map(struct stage2 *s2, u64 gpa, u64 hpa, u64 size, u32 perm, u32 memtype)
{
	/*
	 * 4-level tables cover 48 bits; write without read is an EPT
	 * misconfiguration (SDM 29.3.3.1) and meaningless for NPT.
	 */
	if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || !perm ||
	    gpa + size > S2_LIMIT || gpa + size < gpa ||
	    ((perm & S2_PERM_W) && !(perm & S2_PERM_R)))
		return -1;
	return update(s2, s2->root, 4, gpa, hpa, size, perm, memtype);
}

int s2_unmap(struct stage2 *s2, u64 gpa, u64 size)
{
	if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || gpa + size > S2_LIMIT ||
	    gpa + size < gpa)
		return -1;
	return update(s2, s2->root, 4, gpa, 0, size, 0, 0);
}

bool s2_translate(const struct stage2 *s2, u64 gpa, struct s2_lookup *out)
{
	const struct stage2_format *f = s2->fmt;
	u64 *table = s2->root;

	if (gpa >= S2_LIMIT)
		return false;
	for (u32 level = 4; level >= 1; level--) {
		u64 e = table[(gpa >> (12 + 9 * (level - 1))) % ENTRIES];

		if (!f->present(e))
			return false;
		if (level == 1 || f->is_leaf(e, level)) {
			u64 esz = level_size(level);

			out->hpa = f->addr(e) + (gpa & (esz - 1));
			out->perm = f->perm(e);
			out->memtype = f->memtype(e);
			out->level = level;
			return true;
		}
		table = entry_table(s2, e);
	}
	return false;
}
