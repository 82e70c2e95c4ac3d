// SPDX-License-Identifier: GPL-2.0
/*
 * The generic second-level table builder (vmm/mm/stage2.c) with both entry
 * formats: EPT (vmm/arch/vmx/ept.c) and NPT (vmm/arch/svm/npt.c). Table
 * pages are host pages; their "physical address" is their host pointer.
 */
#include <stdlib.h>
#include "mm/stage2.h"
#include "unit.h"

/* --- page allocator: counts live pages, can be told to fail --- */

static long live_pages;
static long allocs_left = -1; /* -1: unlimited */

static void *test_alloc(void)
{
	void *p;

	if (allocs_left == 0)
		return NULL;
	if (allocs_left > 0)
		allocs_left--;
	p = aligned_alloc(4096, 4096);
	if (!p)
		return NULL;
	memset(p, 0, 4096);
	live_pages++;
	return p;
}

static void test_free(void *p)
{
	free(p);
	live_pages--;
}

/* Free what is left of a table tree (stage2 has no destroy of its own). */
static void free_tree(struct stage2 *s2, u64 *t, u32 level)
{
	const struct stage2_format *f = s2->fmt;

	for (u32 i = 0; level > 1 && i < 512; i++)
		if (f->present(t[i]) && !f->is_leaf(t[i], level))
			free_tree(s2, (u64 *)(uintptr_t)f->addr(t[i]),
				  level - 1);
	test_free(t);
	s2->tables--;
}

static void s2_teardown(struct stage2 *s2)
{
	free_tree(s2, s2->root, 4);
	CHECK_EQ(s2->tables, 0);
	CHECK_EQ(live_pages, 0);
}

static void setup(struct stage2 *s2, struct stage2_format *fmt, bool has_1g)
{
	fmt->has_1g = has_1g;
	live_pages = 0;
	allocs_left = -1;
	CHECK_EQ(s2_init(s2, fmt, test_alloc, test_free), 0);
	CHECK_EQ(s2->tables, 1);
	CHECK_EQ(live_pages, 1);
}

/* The raw entry that maps @gpa at @level, or NULL if the walk stops first. */
static u64 *raw_entry(const struct stage2 *s2, u64 gpa, u32 level)
{
	const struct stage2_format *f = s2->fmt;
	u64 *t = s2->root;

	for (u32 l = 4;; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (l == level)
			return e;
		if (!f->present(*e) || f->is_leaf(*e, l))
			return NULL;
		t = (u64 *)(uintptr_t)f->addr(*e);
	}
}

/* --- the expected raw encodings, written from the SDM and the APM --- */

#define ADDR_MASK 0x000ffffffffff000ULL
#define S2_PERM_RW (S2_PERM_R | S2_PERM_W)

static bool is_ept(const struct stage2 *s2)
{
	return s2->fmt == &ept_format_rw;
}

/*
 * EPT (SDM Vol. 3C 29.3.2, 29.3.7): bits 2:0 R/W/X, bits 5:3 memory type
 * (6 WB, 0 UC, 1 WC), bit 7 large page. NPT (APM Vol. 2 5.3, 15.25): P, RW,
 * US always set, PCD|PWT for UC, PWT for WC (host PAT index 1), PS on
 * large pages; no NX, so execute is always allowed.
 */
static u64 leaf_bits(const struct stage2 *s2, u32 perm, u32 mt, u32 level)
{
	u64 e = 0;

	if (is_ept(s2)) {
		e = perm & 7;
		e |= (u64)(mt == S2_MT_UC ? 0 : mt == S2_MT_WC ? 1 : 6) << 3;
		if (level > 1)
			e |= 1ULL << 7;
		return e;
	}
	e = 1ULL << 2; /* US */
	if (perm)
		e |= 1; /* P */
	if (perm & S2_PERM_W)
		e |= 2; /* RW */
	if (mt == S2_MT_UC)
		e |= (1ULL << 4) | (1ULL << 3);
	else if (mt == S2_MT_WC)
		e |= 1ULL << 3;
	if (level > 1)
		e |= 1ULL << 7;
	return e;
}

/* The permission s2_translate reports for a mapping made with @perm. */
static u32 read_perm(const struct stage2 *s2, u32 perm)
{
	if (is_ept(s2))
		return perm;
	return S2_PERM_R | S2_PERM_X | (perm & S2_PERM_W);
}

/* Both formats give the same non-leaf entry: address | 7. */
static u64 table_bits(void)
{
	return 7;
}

/* Check that @gpa translates to @hpa with the given attributes. */
static int check_xlate(const struct stage2 *s2, u64 gpa, u64 hpa, u32 level,
		       u32 perm, u32 mt)
{
	struct s2_lookup l;
	int ok;

	memset(&l, 0xa5, sizeof(l));
	ok = CHECK(s2_translate(s2, gpa, &l));
	if (!ok) {
		fprintf(stderr, "\t(%s gpa 0x%llx)\n", s2->fmt->name,
			(unsigned long long)gpa);
		return 0;
	}
	ok &= CHECK_EQ(l.hpa, hpa);
	ok &= CHECK_EQ(l.level, level);
	ok &= CHECK_EQ(l.perm, read_perm(s2, perm));
	ok &= CHECK_EQ(l.memtype, mt);
	if (!ok)
		fprintf(stderr, "\t(%s gpa 0x%llx)\n", s2->fmt->name,
			(unsigned long long)gpa);
	return ok;
}

static int check_unmapped(const struct stage2 *s2, u64 gpa)
{
	struct s2_lookup l;

	if (CHECK(!s2_translate(s2, gpa, &l)))
		return 1;
	fprintf(stderr, "\t(%s gpa 0x%llx still maps to 0x%llx)\n",
		s2->fmt->name, (unsigned long long)gpa,
		(unsigned long long)l.hpa);
	return 0;
}

static struct stage2_format *const formats[] = { &ept_format_rw,
						 &npt_format_rw };

/* --- tests --- */

static void test_init(struct stage2_format *fmt)
{
	struct stage2 s2;
	struct s2_lookup l;

	setup(&s2, fmt, true);
	CHECK(s2.root != NULL);
	CHECK_EQ(s2_root_pa(&s2), (uintptr_t)s2.root);
	CHECK(!s2_translate(&s2, 0, &l));
	CHECK(!s2_translate(&s2, 0x7ffff000, &l));
	s2_teardown(&s2);

	/* No memory for the root. */
	fmt->has_1g = true;
	live_pages = 0;
	allocs_left = 0;
	CHECK_EQ(s2_init(&s2, fmt, test_alloc, test_free), -1);
	CHECK_EQ(s2.tables, 0);
	CHECK_EQ(live_pages, 0);
	allocs_left = -1;
}

/* A 1 GiB-aligned range: one 1G leaf per GiB, or 512 2M leaves. */
static void test_1g_range(struct stage2_format *fmt, bool has_1g)
{
	const u64 gpa = 1 * SZ_1G, hpa = 5 * SZ_1G;
	struct stage2 s2;
	u64 *e;

	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, gpa, hpa, 2 * SZ_1G, S2_PERM_RWX, S2_MT_WB), 0);
	if (has_1g) {
		/* root + PDPT */
		CHECK_EQ(s2.tables, 2);
		e = raw_entry(&s2, gpa, 3);
		CHECK(e != NULL);
		if (e)
			CHECK_EQ(*e, hpa | leaf_bits(&s2, S2_PERM_RWX, S2_MT_WB,
						     3));
		e = raw_entry(&s2, gpa + SZ_1G, 3);
		CHECK(e != NULL);
		if (e)
			CHECK_EQ(*e, (hpa + SZ_1G) | leaf_bits(&s2, S2_PERM_RWX,
							       S2_MT_WB, 3));
		/* The PML4 entry is a table entry. */
		CHECK_EQ(s2.root[0],
			 (u64)(uintptr_t)raw_entry(&s2, 0, 3) | table_bits());
		check_xlate(&s2, gpa, hpa, 3, S2_PERM_RWX, S2_MT_WB);
		check_xlate(&s2, gpa + 0x12345678, hpa + 0x12345678, 3,
			    S2_PERM_RWX, S2_MT_WB);
		check_xlate(&s2, gpa + 2 * SZ_1G - 1, hpa + 2 * SZ_1G - 1, 3,
			    S2_PERM_RWX, S2_MT_WB);
	} else {
		/* root + PDPT + 2 PDs */
		CHECK_EQ(s2.tables, 4);
		e = raw_entry(&s2, gpa, 3);
		CHECK(e && (*e & 0xfff) == table_bits());
		for (u64 off = 0; off < 2 * SZ_1G; off += 511 * SZ_2M) {
			e = raw_entry(&s2, gpa + off, 2);
			CHECK(e != NULL);
			if (e)
				CHECK_EQ(*e, (hpa + off) |
						     leaf_bits(&s2, S2_PERM_RWX,
							       S2_MT_WB, 2));
		}
		check_xlate(&s2, gpa, hpa, 2, S2_PERM_RWX, S2_MT_WB);
		check_xlate(&s2, gpa + 0x12345678, hpa + 0x12345678, 2,
			    S2_PERM_RWX, S2_MT_WB);
		check_xlate(&s2, gpa + 2 * SZ_1G - 1, hpa + 2 * SZ_1G - 1, 2,
			    S2_PERM_RWX, S2_MT_WB);
	}
	check_unmapped(&s2, gpa - 1);
	check_unmapped(&s2, gpa + 2 * SZ_1G);
	CHECK_EQ(s2.tables, live_pages);
	s2_teardown(&s2);

	/* gpa 1G-aligned but hpa only 2M-aligned: no 1G leaf possible. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, gpa, hpa + SZ_2M, SZ_1G, S2_PERM_RWX, S2_MT_WB),
		 0);
	CHECK_EQ(s2.tables, 3);
	check_xlate(&s2, gpa + 0x300000, hpa + SZ_2M + 0x300000, 2, S2_PERM_RWX,
		    S2_MT_WB);
	s2_teardown(&s2);

	/* gpa and hpa only 4K-aligned relative to each other: 4K pages. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, gpa, hpa + 0x1000, SZ_2M, S2_PERM_RWX, S2_MT_WB),
		 0);
	CHECK_EQ(s2.tables, 4);
	check_xlate(&s2, gpa + 0x1fffff, hpa + 0x1000 + 0x1fffff, 1,
		    S2_PERM_RWX, S2_MT_WB);
	s2_teardown(&s2);
}

/* Unaligned ranges: 4K pages at the edges, the largest leaves inside. */
static void test_edges(struct stage2_format *fmt, bool has_1g)
{
	struct stage2 s2;
	u64 gpa, size;

	/* [2M-4K, 4M+4K): 4K, one 2M leaf, 4K. */
	setup(&s2, fmt, has_1g);
	gpa = SZ_2M - SZ_4K;
	size = SZ_2M + 2 * SZ_4K;
	CHECK_EQ(s2_map(&s2, gpa, gpa + SZ_1G, size, S2_PERM_RW, S2_MT_WB), 0);
	check_xlate(&s2, gpa, gpa + SZ_1G, 1, S2_PERM_RW, S2_MT_WB);
	check_xlate(&s2, SZ_2M, SZ_2M + SZ_1G, 2, S2_PERM_RW, S2_MT_WB);
	check_xlate(&s2, 2 * SZ_2M - 1, 2 * SZ_2M - 1 + SZ_1G, 2, S2_PERM_RW,
		    S2_MT_WB);
	check_xlate(&s2, 2 * SZ_2M + 0xfff, 2 * SZ_2M + 0xfff + SZ_1G, 1,
		    S2_PERM_RW, S2_MT_WB);
	check_unmapped(&s2, gpa - SZ_4K);
	check_unmapped(&s2, 0);
	check_unmapped(&s2, 2 * SZ_2M + SZ_4K);
	/* root, PDPT, PD, and one PT for each edge */
	CHECK_EQ(s2.tables, 5);
	s2_teardown(&s2);

	/* [1G-4K, 2G+4K): 4K, 1G (or 512 x 2M), 4K. */
	setup(&s2, fmt, has_1g);
	gpa = SZ_1G - SZ_4K;
	size = SZ_1G + 2 * SZ_4K;
	CHECK_EQ(s2_map(&s2, gpa, gpa, size, S2_PERM_RWX, S2_MT_WB), 0);
	check_xlate(&s2, gpa, gpa, 1, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, SZ_1G, SZ_1G, has_1g ? 3 : 2, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, 2 * SZ_1G - 8, 2 * SZ_1G - 8, has_1g ? 3 : 2,
		    S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, 2 * SZ_1G, 2 * SZ_1G, 1, S2_PERM_RWX, S2_MT_WB);
	check_unmapped(&s2, gpa - SZ_4K);
	check_unmapped(&s2, 2 * SZ_1G + SZ_4K);
	CHECK_EQ(s2.tables, has_1g ? 6 : 7);
	s2_teardown(&s2);

	/* Entirely inside one 2M page: 4K pages only. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, 0x1234000, 0x1234000, 0x3000, S2_PERM_R, S2_MT_UC),
		 0);
	for (u64 a = 0x1234000; a < 0x1237000; a += 0x800)
		check_xlate(&s2, a, a, 1, S2_PERM_R, S2_MT_UC);
	check_unmapped(&s2, 0x1233fff);
	check_unmapped(&s2, 0x1237000);
	CHECK_EQ(s2.tables, 4);
	s2_teardown(&s2);

	/* Size 0 maps nothing. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, 0, 0, 0, S2_PERM_RWX, S2_MT_WB), 0);
	CHECK_EQ(s2.tables, 1);
	check_unmapped(&s2, 0);
	s2_teardown(&s2);
}

/* Every permission and memory type, on 4K, 2M and 1G leaves. */
static void test_attrs(struct stage2_format *fmt)
{
	static const u32 perms[] = {
		S2_PERM_R,
		S2_PERM_R | S2_PERM_W,
		S2_PERM_RWX,
		S2_PERM_X, /* EPT execute-only */
		S2_PERM_R | S2_PERM_X,
	};
	static const u32 mts[] = { S2_MT_WB, S2_MT_UC, S2_MT_WC };
	struct stage2 s2;

	setup(&s2, fmt, true);
	for (u32 i = 0; i < ARRAY_SIZE(perms); i++) {
		for (u32 j = 0; j < ARRAY_SIZE(mts); j++) {
			/* one 1G slot per combination, all three sizes */
			u64 base =
				(u64)(i * ARRAY_SIZE(mts) + j + 1) * 4 * SZ_1G;
			u64 g4k = base + 0x5000, g2m = base + 3 * SZ_2M;
			u64 g1g = base + 2 * SZ_1G;
			u64 *e;

			CHECK_EQ(s2_map(&s2, g4k, g4k + 0x100000000, SZ_4K,
					perms[i], mts[j]),
				 0);
			CHECK_EQ(s2_map(&s2, g2m, g2m, SZ_2M, perms[i], mts[j]),
				 0);
			CHECK_EQ(s2_map(&s2, g1g, g1g + SZ_1G, SZ_1G, perms[i],
					mts[j]),
				 0);
			e = raw_entry(&s2, g4k, 1);
			CHECK(e && *e == ((g4k + 0x100000000) |
					  leaf_bits(&s2, perms[i], mts[j], 1)));
			e = raw_entry(&s2, g2m, 2);
			CHECK(e && *e == (g2m |
					  leaf_bits(&s2, perms[i], mts[j], 2)));
			e = raw_entry(&s2, g1g, 3);
			CHECK(e && *e == ((g1g + SZ_1G) |
					  leaf_bits(&s2, perms[i], mts[j], 3)));
			check_xlate(&s2, g4k + 0x10, g4k + 0x100000000 + 0x10,
				    1, perms[i], mts[j]);
			check_xlate(&s2, g2m + 0x1ffff0, g2m + 0x1ffff0, 2,
				    perms[i], mts[j]);
			check_xlate(&s2, g1g + 0x3ffffff0,
				    g1g + SZ_1G + 0x3ffffff0, 3, perms[i],
				    mts[j]);
		}
	}
	CHECK_EQ(s2.tables, live_pages);
	s2_teardown(&s2);

	/* A few encodings spelled out, as the manuals give them. */
	setup(&s2, fmt, true);
	CHECK_EQ(s2_map(&s2, 0x1000, 0x1000, SZ_4K, S2_PERM_RWX, S2_MT_WB), 0);
	CHECK_EQ(s2_map(&s2, 0x2000, 0x2000, SZ_4K, S2_PERM_R, S2_MT_UC), 0);
	CHECK_EQ(s2_map(&s2, 0x3000, 0x3000, SZ_4K, S2_PERM_RW, S2_MT_WC), 0);
	CHECK_EQ(s2_map(&s2, 0x4000, 0x4000, SZ_4K, S2_PERM_X, S2_MT_WB), 0);
	CHECK_EQ(s2_map(&s2, SZ_2M, SZ_2M, SZ_2M, S2_PERM_RWX, S2_MT_WB), 0);
	CHECK_EQ(s2_map(&s2, SZ_1G, SZ_1G, SZ_1G, S2_PERM_RW, S2_MT_UC), 0);
	if (is_ept(&s2)) {
		CHECK_EQ(*raw_entry(&s2, 0x1000, 1), 0x1000 | 0x37);
		CHECK_EQ(*raw_entry(&s2, 0x2000, 1), 0x2000 | 0x01);
		CHECK_EQ(*raw_entry(&s2, 0x3000, 1), 0x3000 | 0x0b);
		CHECK_EQ(*raw_entry(&s2, 0x4000, 1), 0x4000 | 0x34);
		CHECK_EQ(*raw_entry(&s2, SZ_2M, 2), SZ_2M | 0xb7);
		CHECK_EQ(*raw_entry(&s2, SZ_1G, 3), SZ_1G | 0x83);
	} else {
		CHECK_EQ(*raw_entry(&s2, 0x1000, 1), 0x1000 | 0x07);
		CHECK_EQ(*raw_entry(&s2, 0x2000, 1), 0x2000 | 0x1d);
		CHECK_EQ(*raw_entry(&s2, 0x3000, 1), 0x3000 | 0x0f);
		CHECK_EQ(*raw_entry(&s2, 0x4000, 1), 0x4000 | 0x05);
		CHECK_EQ(*raw_entry(&s2, SZ_2M, 2), SZ_2M | 0x87);
		CHECK_EQ(*raw_entry(&s2, SZ_1G, 3), SZ_1G | 0x9f);
	}
	/* No NX bit, no ignored-PAT bit, nothing above the address. */
	CHECK_EQ(*raw_entry(&s2, 0x1000, 1) & ~0xfffULL & ~ADDR_MASK, 0);
	s2_teardown(&s2);
}

/*
 * Changing 4 KiB in the middle of a large leaf splits it; every other
 * address keeps its translation and attributes.
 */
static void test_split(struct stage2_format *fmt, bool has_1g, bool unmap)
{
	const u64 off = 8 * SZ_1G; /* hpa = gpa + off */
	const u64 page = SZ_1G + 512 * 0x100000 + 0x5000;
	const u32 big = has_1g ? 3 : 2;
	static const u64 others[] = {
		0,
		SZ_1G - 1,
		SZ_1G,
		SZ_1G + 0x1234,
		SZ_1G + 512 * 0x100000 - SZ_4K,
		SZ_1G + 512 * 0x100000 + 0x4fff,
		SZ_1G + 512 * 0x100000 + 0x6000,
		SZ_1G + 512 * 0x100000 + SZ_2M,
		SZ_1G + 512 * 0x100000 + SZ_2M - 1,
		2 * SZ_1G - 1,
		2 * SZ_1G,
		3 * SZ_1G + 0xabcdef,
		4 * SZ_1G - 1,
	};
	struct stage2 s2;
	u64 tables;

	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, 0, off, 4 * SZ_1G, S2_PERM_RW, S2_MT_WC), 0);
	tables = s2.tables;
	CHECK_EQ(tables, has_1g ? 2 : 6);
	check_xlate(&s2, page, page + off, big, S2_PERM_RW, S2_MT_WC);

	if (unmap) {
		CHECK_EQ(s2_unmap(&s2, page, SZ_4K), 0);
		check_unmapped(&s2, page);
		check_unmapped(&s2, page + 0xfff);
	} else {
		CHECK_EQ(s2_map(&s2, page, 0x123456000, SZ_4K, S2_PERM_R,
				S2_MT_UC),
			 0);
		check_xlate(&s2, page + 0x10, 0x123456010, 1, S2_PERM_R,
			    S2_MT_UC);
	}
	/* A PT, and for a 1G leaf also a PD, were added. */
	CHECK_EQ(s2.tables, tables + (has_1g ? 2 : 1));
	CHECK_EQ(s2.tables, live_pages);

	for (u32 i = 0; i < ARRAY_SIZE(others); i++) {
		u64 a = others[i], level = big;

		if (a >> 21 == page >> 21)
			level = 1; /* in the split 2M */
		else if (a >> 30 == page >> 30)
			level = 2; /* in the split 1G */
		check_xlate(&s2, a, a + off, level, S2_PERM_RW, S2_MT_WC);
	}
	/* The siblings are leaves with the original attributes. */
	CHECK_EQ(*raw_entry(&s2, page + SZ_4K, 1),
		 (page + SZ_4K + off) |
			 leaf_bits(&s2, S2_PERM_RW, S2_MT_WC, 1));
	CHECK_EQ(*raw_entry(&s2, page - SZ_4K, 1),
		 (page - SZ_4K + off) |
			 leaf_bits(&s2, S2_PERM_RW, S2_MT_WC, 1));
	if (has_1g)
		CHECK_EQ(*raw_entry(&s2, page + SZ_2M, 2),
			 ALIGN_DOWN(page + SZ_2M + off, SZ_2M) |
				 leaf_bits(&s2, S2_PERM_RW, S2_MT_WC, 2));

	/* Putting the page back as it was keeps the split tables. */
	CHECK_EQ(s2_map(&s2, page, page + off, SZ_4K, S2_PERM_RW, S2_MT_WC), 0);
	check_xlate(&s2, page, page + off, 1, S2_PERM_RW, S2_MT_WC);
	/* Remapping the whole GiB (or 2M) frees them again. */
	if (has_1g)
		CHECK_EQ(s2_map(&s2, SZ_1G, SZ_1G + off, SZ_1G, S2_PERM_RW,
				S2_MT_WC),
			 0);
	else
		CHECK_EQ(s2_map(&s2, ALIGN_DOWN(page, SZ_2M),
				ALIGN_DOWN(page, SZ_2M) + off, SZ_2M,
				S2_PERM_RW, S2_MT_WC),
			 0);
	CHECK_EQ(s2.tables, tables);
	CHECK_EQ(s2.tables, live_pages);
	check_xlate(&s2, page, page + off, big, S2_PERM_RW, S2_MT_WC);
	s2_teardown(&s2);
}

/* Unmapping whole ranges frees the tables under them. */
static void test_unmap_frees(struct stage2_format *fmt, bool has_1g)
{
	struct stage2 s2;
	u64 before;

	/* 1 GiB of 4K pages (hpa off by 4K): 512 PTs + PD + PDPT + root. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, 0, SZ_4K, SZ_1G, S2_PERM_RWX, S2_MT_WB), 0);
	CHECK_EQ(s2.tables, 515);
	CHECK_EQ(live_pages, 515);
	check_xlate(&s2, 0x3ffff123, 0x40000123, 1, S2_PERM_RWX, S2_MT_WB);

	/* One 2M of it: its PT goes. */
	CHECK_EQ(s2_unmap(&s2, 7 * SZ_2M, SZ_2M), 0);
	CHECK_EQ(s2.tables, 514);
	CHECK_EQ(live_pages, 514);
	check_unmapped(&s2, 7 * SZ_2M);
	check_unmapped(&s2, 8 * SZ_2M - 1);
	check_xlate(&s2, 8 * SZ_2M, 8 * SZ_2M + SZ_4K, 1, S2_PERM_RWX,
		    S2_MT_WB);
	check_xlate(&s2, 7 * SZ_2M - 1, 7 * SZ_2M - 1 + SZ_4K, 1, S2_PERM_RWX,
		    S2_MT_WB);

	/* All of it: with 1G leaves the PD goes too. */
	CHECK_EQ(s2_unmap(&s2, 0, SZ_1G), 0);
	CHECK_EQ(s2.tables, has_1g ? 2 : 3);
	CHECK_EQ(live_pages, (long)s2.tables);
	for (u64 a = 0; a < SZ_1G; a += 0x3ff000)
		check_unmapped(&s2, a);

	/* Unmapping what is not mapped is fine and allocates nothing. */
	before = s2.tables;
	CHECK_EQ(s2_unmap(&s2, 100 * SZ_1G, 3 * SZ_1G + 0x5000), 0);
	CHECK_EQ(s2_unmap(&s2, 0x5000, SZ_4K), 0);
	CHECK_EQ(s2.tables, before);
	CHECK_EQ(live_pages, (long)before);
	s2_teardown(&s2);

	/* A large leaf over a region of 4K pages frees their tables. */
	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, SZ_1G, SZ_1G + SZ_4K, SZ_1G, S2_PERM_RW, S2_MT_UC),
		 0);
	CHECK_EQ(s2.tables, 515);
	CHECK_EQ(s2_map(&s2, SZ_1G, 0, SZ_1G, S2_PERM_RWX, S2_MT_WB), 0);
	CHECK_EQ(s2.tables, has_1g ? 2 : 3);
	CHECK_EQ(live_pages, (long)s2.tables);
	check_xlate(&s2, SZ_1G + 0x1234567, 0x1234567, has_1g ? 3 : 2,
		    S2_PERM_RWX, S2_MT_WB);
	s2_teardown(&s2);
}

/* Misaligned or empty-permission requests change nothing. */
static void test_rejects(struct stage2_format *fmt)
{
	struct stage2 s2;
	u64 e;

	setup(&s2, fmt, true);
	CHECK_EQ(s2_map(&s2, 0, 0, SZ_1G, S2_PERM_RWX, S2_MT_WB), 0);
	e = *raw_entry(&s2, 0, 3);
	CHECK_EQ(s2_map(&s2, 0x800, 0x1000, SZ_4K, S2_PERM_RWX, S2_MT_WB), -1);
	CHECK_EQ(s2_map(&s2, 0x1000, 0x1800, SZ_4K, S2_PERM_RWX, S2_MT_WB), -1);
	CHECK_EQ(s2_map(&s2, 0x1000, 0x1000, 0x800, S2_PERM_RWX, S2_MT_WB), -1);
	CHECK_EQ(s2_map(&s2, 0x1000, 0x1000, SZ_4K + 1, S2_PERM_RWX, S2_MT_WB),
		 -1);
	CHECK_EQ(s2_map(&s2, 0x1000, 0x9000, SZ_4K, 0, S2_MT_WB), -1);
	CHECK_EQ(s2_unmap(&s2, 0x1001, SZ_4K), -1);
	CHECK_EQ(s2_unmap(&s2, 0x1000, 0xfff), -1);
	CHECK_EQ(s2.tables, 2);
	CHECK_EQ(*raw_entry(&s2, 0, 3), e);
	check_xlate(&s2, 0x1000, 0x1000, 3, S2_PERM_RWX, S2_MT_WB);
	s2_teardown(&s2);
}

/* Out of memory: -1, and every page allocated is still accounted for. */
static void test_oom(struct stage2_format *fmt)
{
	struct stage2 s2;

	for (long n = 0; n < 4; n++) {
		setup(&s2, fmt, true);
		allocs_left = n;
		/* needs PDPT, PD, PT: fails unless 3 allocations remain */
		CHECK_EQ(s2_map(&s2, 0x5000, 0x5000, SZ_4K, S2_PERM_RW,
				S2_MT_WB),
			 n < 3 ? -1 : 0);
		CHECK_EQ(s2.tables, 1 + n);
		CHECK_EQ(live_pages, 1 + n);
		allocs_left = -1;
		s2_teardown(&s2);
	}
	/* Splitting a 1G leaf without memory fails too. */
	setup(&s2, fmt, true);
	CHECK_EQ(s2_map(&s2, 0, 0, SZ_1G, S2_PERM_RW, S2_MT_WB), 0);
	allocs_left = 0;
	CHECK_EQ(s2_unmap(&s2, 0x5000, SZ_4K), -1);
	allocs_left = -1;
	CHECK_EQ(s2.tables, live_pages);
	s2_teardown(&s2);
}

/*
 * The driver VM's map: 0..64 GiB identity (UC), RAM ranges WB, then the
 * hypervisor's reservation carved out. Exactly the hole stops translating.
 */
static void test_identity_hole(struct stage2_format *fmt, bool has_1g)
{
	const u64 hb = 0x76d6d000, hs = 0x5200000, he = hb + hs;
	const u64 top = 64 * SZ_1G;
	struct stage2 s2;
	u64 tables;

	setup(&s2, fmt, has_1g);
	CHECK_EQ(s2_map(&s2, 0, 0, top, S2_PERM_RWX, S2_MT_UC), 0);
	CHECK_EQ(s2.tables, has_1g ? 2 : 2 + 64);
	CHECK_EQ(s2_map(&s2, 0x100000, 0x100000, 0x7eea4000 - 0x100000,
			S2_PERM_RWX, S2_MT_WB),
		 0);
	tables = s2.tables;
	CHECK_EQ(s2_unmap(&s2, hb, hs), 0);
	CHECK(s2.tables >= tables);
	CHECK_EQ(s2.tables, live_pages);

	/* Every page of the hole, and nothing around it. */
	for (u64 a = hb; a < he; a += SZ_4K)
		if (!check_unmapped(&s2, a + ((a >> 12) & 0xff) * 16))
			break;
	check_unmapped(&s2, he - 1);
	for (u64 a = ALIGN_DOWN(hb, SZ_2M) - SZ_2M; a < hb; a += SZ_4K)
		if (!check_xlate(&s2, a, a, 1 + (a < ALIGN_DOWN(hb, SZ_2M)),
				 S2_PERM_RWX, S2_MT_WB))
			break;
	for (u64 a = he; a < ALIGN_UP(he, SZ_2M) + SZ_2M; a += SZ_4K)
		if (!check_xlate(&s2, a, a, 1 + (a >= ALIGN_UP(he, SZ_2M)),
				 S2_PERM_RWX, S2_MT_WB))
			break;
	check_xlate(&s2, hb - 1, hb - 1, 1, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, he, he, 1, S2_PERM_RWX, S2_MT_WB);
	/* The first 2M holds UC and WB pages: 4K. */
	check_xlate(&s2, 0, 0, 1, S2_PERM_RWX, S2_MT_UC);
	check_xlate(&s2, 0xfffff, 0xfffff, 1, S2_PERM_RWX, S2_MT_UC);
	check_xlate(&s2, 0x100000, 0x100000, 1, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, SZ_2M, SZ_2M, 2, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, 0x7eea3fff, 0x7eea3fff, 1, S2_PERM_RWX, S2_MT_WB);
	check_xlate(&s2, 0x7eea4000, 0x7eea4000, 1, S2_PERM_RWX, S2_MT_UC);
	check_xlate(&s2, 0xfee00000, 0xfee00000, has_1g ? 3 : 2, S2_PERM_RWX,
		    S2_MT_UC);
	/* Across the whole 64 GiB, at odd offsets. */
	for (u64 a = 0x80000000 + 0x1234; a < top; a += 0x3f0000ff0)
		if (!check_xlate(&s2, a, a, has_1g ? 3 : 2, S2_PERM_RWX,
				 S2_MT_UC))
			break;
	check_xlate(&s2, top - 1, top - 1, has_1g ? 3 : 2, S2_PERM_RWX,
		    S2_MT_UC);
	check_unmapped(&s2, top);
	check_unmapped(&s2, 1ULL << 47);
	s2_teardown(&s2);
}

int main(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(formats); i++) {
		struct stage2_format *fmt = formats[i];

		test_init(fmt);
		test_attrs(fmt);
		test_rejects(fmt);
		test_oom(fmt);
		for (int h = 0; h < 2; h++) {
			test_1g_range(fmt, h);
			test_edges(fmt, h);
			test_split(fmt, h, true);
			test_split(fmt, h, false);
			test_unmap_frees(fmt, h);
			test_identity_hole(fmt, h);
		}
		fmt->has_1g = true;
	}
	return unit_done();
}
