// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's physical map, its e820 table and the Linux boot area
 * (vmm/vm/layout.c). The bzImage is a fake: only its setup header.
 */
#include <stdlib.h>
#include "vm/layout.h"
#include "unit.h"

#define R(b, last, t)                                                   \
	{                                                               \
		.base = (b), .size = (u64)(last) - (b) + 1, .type = (t) \
	}

/* The firmware map QEMU + OVMF show with 2 GiB. */
static const struct mem_range ovmf[] = {
	R(0x0, 0x9ffff, MEM_RAM),
	R(0x100000, 0x7fffff, MEM_RAM),
	R(0x800000, 0x807fff, MEM_NVS),
	R(0x808000, 0x80afff, MEM_RAM),
	R(0x80b000, 0x80bfff, MEM_NVS),
	R(0x80c000, 0x80ffff, MEM_RAM),
	R(0x810000, 0x8fffff, MEM_NVS),
	R(0x900000, 0x7eea3fff, MEM_RAM),
	R(0x7eea4000, 0x7ef64fff, MEM_RESERVED),
	R(0x7ef65000, 0x7f8ecfff, MEM_RAM),
	R(0x7f8ed000, 0x7fb6cfff, MEM_RESERVED),
	R(0x7fb6d000, 0x7fb7efff, MEM_ACPI),
	R(0x7fb7f000, 0x7fbfefff, MEM_NVS),
	R(0x7fbff000, 0x7ff4ffff, MEM_RAM),
	R(0x7ff50000, 0x7ff6ffff, MEM_RESERVED),
	R(0x7ff70000, 0x7fffffff, MEM_NVS),
	R(0xb0000000, 0xbfffffff, MEM_RESERVED),
	R(0xffe00000, 0xffffffff, MEM_MMIO),
};

#define HYP_BASE 0x76d6d000ULL
#define HYP_SIZE 0x5200000ULL

/* --- a checker for driver_map_build's output --- */

#define NONE 0xffffffffu

static u32 type_at(const struct mem_range *m, u32 n, u64 a)
{
	for (u32 i = 0; i < n; i++)
		if (a >= m[i].base && a - m[i].base < m[i].size)
			return m[i].type;
	return NONE;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 ram_outside(const struct mem_range *fw, u32 nfw, u64 hb, u64 hs)
{
	u64 total = 0;

	for (u32 i = 0; i < nfw; i++) {
		u64 b = fw[i].base, e = b + fw[i].size;
		u64 lo = MAX(b, hb), hi = MIN(e, hb + hs);

		if (fw[i].type != MEM_RAM)
			continue;
		total += fw[i].size - (hi > lo ? hi - lo : 0);
	}
	return total;
}

/*
 * Sorted, non-overlapping, no empty or mergeable neighbours; covering
 * exactly the firmware ranges plus the reservation; the reservation is
 * MEM_HYPERVISOR, other types are kept except that RAM past the budget is
 * MEM_NOT_OWNED, and the RAM given is the lowest.
 */
static int check_map(const struct mem_range *fw, u32 nfw, u64 hb, u64 hs,
		     u64 budget, const struct mem_range *out, int n, u64 given)
{
	u64 *pts = malloc(sizeof(u64) * 2 * (nfw + (u32)n + 1));
	u32 np = 0;
	u64 ram = 0, expect_given;
	bool seen_not_owned = false;
	int ok = 1;

	ok &= CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		ok &= CHECK(out[i].size > 0);
		ok &= CHECK_EQ(out[i].pad, 0);
		if (i) {
			ok &= CHECK(out[i - 1].base + out[i - 1].size <=
				    out[i].base);
			ok &= CHECK(!(out[i - 1].type == out[i].type &&
				      out[i - 1].base + out[i - 1].size ==
					      out[i].base));
		}
		if (out[i].type == MEM_RAM)
			ram += out[i].size;
		pts[np++] = out[i].base;
		pts[np++] = out[i].base + out[i].size;
	}
	for (u32 i = 0; i < nfw; i++) {
		pts[np++] = fw[i].base;
		pts[np++] = fw[i].base + fw[i].size;
	}
	pts[np++] = hb;
	pts[np++] = hb + hs;
	qsort(pts, np, sizeof(u64), cmp_u64);

	/* Every elementary interval between two boundaries. */
	for (u32 i = 0; i + 1 < np; i++) {
		u64 a = pts[i];
		u32 in, got;

		if (pts[i + 1] == a)
			continue;
		in = type_at(fw, nfw, a);
		got = type_at(out, (u32)n, a);
		if (a >= hb && a < hb + hs)
			ok &= CHECK_EQ(got, MEM_HYPERVISOR);
		else if (in == MEM_RAM)
			ok &= CHECK(got == MEM_RAM || got == MEM_NOT_OWNED);
		else
			ok &= CHECK_EQ(got, in);
		if (got == MEM_NOT_OWNED)
			seen_not_owned = true;
		/* RAM is given lowest first: none after the first refusal. */
		if (got == MEM_RAM)
			ok &= CHECK(!seen_not_owned);
		if (!ok) {
			fprintf(stderr, "\t(at 0x%llx)\n",
				(unsigned long long)a);
			break;
		}
	}
	expect_given = MIN(budget, ram_outside(fw, nfw, hb, hs));
	ok &= CHECK_EQ(given, expect_given);
	ok &= CHECK_EQ(ram, given);
	free(pts);
	return ok;
}

static void dump_map(const struct mem_range *m, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(stderr, "\t%2d: 0x%llx-0x%llx type %u\n", i,
			(unsigned long long)m[i].base,
			(unsigned long long)(m[i].base + m[i].size - 1),
			m[i].type);
}

static int build(const struct mem_range *fw, u32 nfw, u64 hb, u64 hs,
		 u64 budget, struct mem_range *out, u32 max, u64 *given)
{
	int n;

	memset(out, 0xa5, sizeof(*out) * max);
	*given = 0xdead;
	n = driver_map_build(fw, nfw, hb, hs, budget, out, max, given);
	if (n > 0 && !check_map(fw, nfw, hb, hs, budget, out, n, *given))
		dump_map(out, n);
	return n;
}

#define CHECK_RANGE(r, b, last, t)                         \
	do {                                               \
		CHECK_EQ((r).base, (b));                   \
		CHECK_EQ((r).base + (r).size - 1, (last)); \
		CHECK_EQ((r).type, (t));                   \
	} while (0)

/* --- driver_map_build --- */

static void test_driver_map_ovmf(void)
{
	struct mem_range out[64];
	u64 given;
	int n;

	/* 1 GiB for the driver: everything up to 0x40159000 is its RAM. */
	n = build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE, 1ULL << 30, out,
		  ARRAY_SIZE(out), &given);
	CHECK_EQ(n, 21);
	CHECK_EQ(given, 1ULL << 30);
	if (n == 21) {
		CHECK_RANGE(out[0], 0x0, 0x9ffff, MEM_RAM);
		CHECK_RANGE(out[1], 0x100000, 0x7fffff, MEM_RAM);
		CHECK_RANGE(out[2], 0x800000, 0x807fff, MEM_NVS);
		CHECK_RANGE(out[6], 0x810000, 0x8fffff, MEM_NVS);
		CHECK_RANGE(out[7], 0x900000, 0x40158fff, MEM_RAM);
		CHECK_RANGE(out[8], 0x40159000, HYP_BASE - 1, MEM_NOT_OWNED);
		CHECK_RANGE(out[9], HYP_BASE, HYP_BASE + HYP_SIZE - 1,
			    MEM_HYPERVISOR);
		CHECK_RANGE(out[10], HYP_BASE + HYP_SIZE, 0x7eea3fff,
			    MEM_NOT_OWNED);
		CHECK_RANGE(out[11], 0x7eea4000, 0x7ef64fff, MEM_RESERVED);
		CHECK_RANGE(out[12], 0x7ef65000, 0x7f8ecfff, MEM_NOT_OWNED);
		CHECK_RANGE(out[16], 0x7fbff000, 0x7ff4ffff, MEM_NOT_OWNED);
		CHECK_RANGE(out[19], 0xb0000000, 0xbfffffff, MEM_RESERVED);
		CHECK_RANGE(out[20], 0xffe00000, 0xffffffff, MEM_MMIO);
	}

	/* Everything: all RAM but the reservation. */
	n = build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK_EQ(n, 20);
	CHECK_EQ(given, 0x7fa24000ULL - HYP_SIZE);
	if (n == 20) {
		CHECK_RANGE(out[7], 0x900000, HYP_BASE - 1, MEM_RAM);
		CHECK_RANGE(out[8], HYP_BASE, HYP_BASE + HYP_SIZE - 1,
			    MEM_HYPERVISOR);
		CHECK_RANGE(out[9], HYP_BASE + HYP_SIZE, 0x7eea3fff, MEM_RAM);
		CHECK_RANGE(out[11], 0x7ef65000, 0x7f8ecfff, MEM_RAM);
	}

	/* The budget runs out exactly at the reservation. */
	n = build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE,
		  0x7a7000 + HYP_BASE - 0x900000, out, ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(type_at(out, (u32)n, HYP_BASE - 1), MEM_RAM);
	CHECK_EQ(type_at(out, (u32)n, HYP_BASE + HYP_SIZE), MEM_NOT_OWNED);

	/* Nothing: all RAM is someone else's. */
	n = build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE, 0, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(given, 0);
	CHECK_EQ(type_at(out, (u32)n, 0), MEM_NOT_OWNED);

	/* A budget that ends inside a small range, and one 4K short. */
	n = build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE, 0xa0000 + 0x1000,
		  out, ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(given, 0xa1000);
	CHECK_EQ(type_at(out, (u32)n, 0x100fff), MEM_RAM);
	CHECK_EQ(type_at(out, (u32)n, 0x101000), MEM_NOT_OWNED);
}

static void test_driver_map_placements(void)
{
	/* OVMF's map with 4 GiB: RAM above 4G that ends the map. */
	struct mem_range fw[ARRAY_SIZE(ovmf) + 1];
	struct mem_range out[64];
	u64 given;
	int n;

	memcpy(fw, ovmf, sizeof(ovmf));
	fw[ARRAY_SIZE(ovmf)] =
		(struct mem_range)R(0x100000000, 0x17fffffff, MEM_RAM);

	/* Spanning the end of one range and the start of the next. */
	n = build(fw, ARRAY_SIZE(fw), 0x7ff00000, 0x60000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(type_at(out, (u32)n, 0x7fefffff), MEM_RAM);
	CHECK_EQ(type_at(out, (u32)n, 0x7ff00000), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x7ff5ffff), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x7ff60000), MEM_RESERVED);

	/* Across RAM, a reserved range and into the next RAM range. */
	n = build(fw, ARRAY_SIZE(fw), 0x7ee00000, 0x400000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(type_at(out, (u32)n, 0x7edfffff), MEM_RAM);
	CHECK_EQ(type_at(out, (u32)n, 0x7ef00000), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x7f1fffff), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x7f200000), MEM_RAM);

	/* At the very end of the last range. */
	n = build(fw, ARRAY_SIZE(fw), 0x17c000000, 0x4000000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	if (n > 1) {
		CHECK_RANGE(out[n - 1], 0x17c000000, 0x17fffffff,
			    MEM_HYPERVISOR);
		CHECK_RANGE(out[n - 2], 0x100000000, 0x17bffffff, MEM_RAM);
	}

	/* Past every range. */
	n = build(ovmf, ARRAY_SIZE(ovmf), 0x100000000, 0x4000000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK_EQ(n, 19);
	if (n == 19)
		CHECK_RANGE(out[18], 0x100000000, 0x103ffffff, MEM_HYPERVISOR);

	/* In a gap between two ranges. */
	n = build(ovmf, ARRAY_SIZE(ovmf), 0xc0000000, 0x1000000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK_EQ(n, 19);
	if (n == 19) {
		CHECK_RANGE(out[16], 0xb0000000, 0xbfffffff, MEM_RESERVED);
		CHECK_RANGE(out[17], 0xc0000000, 0xc0ffffff, MEM_HYPERVISOR);
		CHECK_RANGE(out[18], 0xffe00000, 0xffffffff, MEM_MMIO);
	}

	/* At the very start, taking a whole range and part of the next. */
	n = build(ovmf, ARRAY_SIZE(ovmf), 0, 0x200000, 0x100000, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_RANGE(out[0], 0, 0x1fffff, MEM_HYPERVISOR);
	CHECK_RANGE(out[1], 0x200000, 0x2fffff, MEM_RAM);
	CHECK_RANGE(out[2], 0x300000, 0x7fffff, MEM_NOT_OWNED);

	/* Exactly one RAM range. */
	n = build(ovmf, ARRAY_SIZE(ovmf), 0x808000, 0x3000, ~0ULL, out,
		  ARRAY_SIZE(out), &given);
	CHECK(n > 0);
	CHECK_EQ(type_at(out, (u32)n, 0x808000), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x80afff), MEM_HYPERVISOR);
	CHECK_EQ(type_at(out, (u32)n, 0x80b000), MEM_NVS);

	/* A map with alike neighbours (as an unmerged firmware map has). */
	{
		const struct mem_range m[] = {
			R(0x0, 0xfffff, MEM_RAM),
			R(0x100000, 0x1fffff, MEM_RAM),
			R(0x200000, 0x2fffff, MEM_RAM),
			R(0x300000, 0x3fffff, MEM_RAM),
			R(0x400000, 0x4fffff, MEM_RESERVED),
			R(0x500000, 0x5fffff, MEM_RESERVED),
		};

		n = build(m, ARRAY_SIZE(m), 0x600000, 0x100000, 0x180000, out,
			  ARRAY_SIZE(out), &given);
		CHECK_EQ(n, 4);
		CHECK_RANGE(out[0], 0x0, 0x17ffff, MEM_RAM);
		CHECK_RANGE(out[1], 0x180000, 0x3fffff, MEM_NOT_OWNED);
		CHECK_RANGE(out[2], 0x400000, 0x5fffff, MEM_RESERVED);
		CHECK_RANGE(out[3], 0x600000, 0x6fffff, MEM_HYPERVISOR);
	}

	/* Nothing but the reservation. */
	n = build(ovmf, 0, 0x1000000, 0x1000000, ~0ULL, out, ARRAY_SIZE(out),
		  &given);
	CHECK_EQ(n, 1);
	CHECK_RANGE(out[0], 0x1000000, 0x1ffffff, MEM_HYPERVISOR);
	CHECK_EQ(given, 0);
}

static void test_driver_map_full(void)
{
	struct mem_range out[64];
	u64 given;
	int n;

	/* 21 ranges fit in 21 slots, not in 20; no write past @max. */
	for (u32 max = 0; max <= 21; max++) {
		struct mem_range *o = malloc(sizeof(*o) * (max ? max : 1));

		n = driver_map_build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE,
				     1ULL << 30, o, max, &given);
		CHECK_EQ(n, max == 21 ? 21 : -1);
		free(o);
	}
	n = driver_map_build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE,
			     1ULL << 30, out, ARRAY_SIZE(out), &given);
	CHECK_EQ(n, 21);
}

static void test_mem_to_e820(void)
{
	CHECK_EQ(mem_to_e820(MEM_RAM), E820_RAM);
	CHECK_EQ(mem_to_e820(MEM_RESERVED), E820_RESERVED);
	CHECK_EQ(mem_to_e820(MEM_ACPI), E820_ACPI);
	CHECK_EQ(mem_to_e820(MEM_NVS), E820_NVS);
	CHECK_EQ(mem_to_e820(MEM_UNUSABLE), E820_UNUSABLE);
	CHECK_EQ(mem_to_e820(MEM_MMIO), E820_RESERVED);
	CHECK_EQ(mem_to_e820(MEM_HYPERVISOR), E820_RESERVED);
	CHECK_EQ(mem_to_e820(MEM_NOT_OWNED), E820_RESERVED);
	CHECK_EQ(mem_to_e820(0), E820_RESERVED);
	CHECK_EQ(mem_to_e820(99), E820_RESERVED);
	/* The e820 numbers themselves (Linux asm/e820/types.h). */
	CHECK_EQ(E820_RAM, 1);
	CHECK_EQ(E820_RESERVED, 2);
	CHECK_EQ(E820_ACPI, 3);
	CHECK_EQ(E820_NVS, 4);
	CHECK_EQ(E820_UNUSABLE, 5);
}

/* --- the fake bzImage --- */

static void put16(u8 *p, u32 off, u16 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 off, u32 v)
{
	put16(p, off, (u16)v);
	put16(p, off + 2, (u16)(v >> 16));
}

static u16 get16(const u8 *p, u32 off)
{
	return (u16)(p[off] | p[off + 1] << 8);
}

static u32 get32(const u8 *p, u32 off)
{
	return get16(p, off) | (u32)get16(p, off + 2) << 16;
}

static u64 get64(const u8 *p, u32 off)
{
	return get32(p, off) | (u64)get32(p, off + 4) << 32;
}

#define IMG_SIZE 0x40000 /* setup 0x3e00 (30 sectors + boot sector) */
#define IMG_INIT 0x1000000 /* 16 MiB */

/* A heap copy of exactly @size bytes: ASan catches any read past it. */
static u8 *bzimage(u64 size)
{
	u8 *img = calloc(1, size);

	img[0x1f1] = 30; /* setup_sects */
	put16(img, 0x1fe, 0xaa55); /* boot_flag */
	img[0x200] = 0xeb; /* jump */
	img[0x201] = 0x66; /* header ends at 0x202 + 0x66 = 0x268 */
	put32(img, 0x202, 0x53726448); /* "HdrS" */
	put16(img, 0x206, 0x020f); /* version 2.15 */
	put32(img, 0x230, 0x200000); /* kernel_alignment */
	img[0x234] = 1; /* relocatable_kernel */
	img[0x235] = 21; /* min_alignment */
	put16(img, 0x236, 0x1 | 0x2 | 0x8); /* XLF_KERNEL_64 | ABOVE_4G | .. */
	put32(img, 0x238, 2047); /* cmdline_size */
	put32(img, 0x260, IMG_INIT); /* init_size */
	/* Recognisable bytes in the header, and one just after it. */
	put32(img, 0x24c, 0x11223344);
	img[0x267] = 0x77;
	img[0x268] = 0xee;
	return img;
}

static int parse_img(const u8 *img, u64 size, struct linux_info *li, char *err,
		     size_t errlen)
{
	memset(li, 0xa5, sizeof(*li));
	memset(err, 'x', errlen);
	return linux_parse(img, size, li, err, errlen);
}

static void test_linux_parse(void)
{
	struct linux_info li;
	char err[96];
	u8 *img = bzimage(IMG_SIZE);

	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.version, 0x020f);
	CHECK_EQ(li.setup_size, 31 * 512);
	CHECK_EQ(li.kernel_size, IMG_SIZE - 31 * 512);
	CHECK_EQ(li.init_size, IMG_INIT);
	CHECK_EQ(li.align, 0x200000);
	CHECK_EQ(li.cmdline_max, 2047);
	CHECK_EQ(li.above_4g, true);

	/* setup_sects 0 means 4; no ABOVE_4G. */
	img[0x1f1] = 0;
	put16(img, 0x236, 0x1);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.setup_size, 5 * 512);
	CHECK_EQ(li.kernel_size, IMG_SIZE - 5 * 512);
	CHECK_EQ(li.above_4g, false);

	/* kernel_alignment: a larger power of two is kept, others not. */
	put32(img, 0x230, 0x1000000);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.align, 0x1000000);
	put32(img, 0x230, 0x300000);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.align, 0x200000);
	put32(img, 0x230, 0x1000);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.align, 0x200000);
	put32(img, 0x230, 0);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.align, 0x200000);

	/* The oldest protocol with a 64-bit entry: 2.12. */
	put16(img, 0x206, 0x020c);
	CHECK_EQ(parse_img(img, IMG_SIZE, &li, err, sizeof(err)), 0);
	CHECK_EQ(li.version, 0x020c);
	free(img);
}

static void reject_img(u8 *img, u64 size, const char *msg, int line)
{
	struct linux_info li;
	char err[96], small[8];
	int ok = 1;

	ok &= CHECK_EQ(parse_img(img, size, &li, err, sizeof(err)), -1);
	ok &= CHECK(memchr(err, 0, sizeof(err)) != NULL);
	err[sizeof(err) - 1] = 0;
	ok &= CHECK_HAS(err, msg);
	ok &= CHECK_EQ(parse_img(img, size, &li, small, sizeof(small)), -1);
	ok &= CHECK(memchr(small, 0, sizeof(small)) != NULL);
	small[sizeof(small) - 1] = 0;
	ok &= CHECK_EQ(strlen(small), 7);
	ok &= CHECK(!strncmp(small, err, 7));
	ok &= CHECK_EQ(linux_parse(img, size, &li, NULL, 0), -1);
	if (!ok)
		fprintf(stderr, "\t(rejection at line %d)\n", line);
	free(img);
}

static void test_linux_parse_rejects(void)
{
	u8 *img;

	img = bzimage(IMG_SIZE);
	put16(img, 0x1fe, 0x55aa);
	reject_img(img, IMG_SIZE, "not a Linux bzImage", __LINE__);

	img = bzimage(IMG_SIZE);
	img[0x202] = 'h';
	reject_img(img, IMG_SIZE, "not a Linux bzImage", __LINE__);

	/* Too short to hold a setup header at all. */
	img = bzimage(IMG_SIZE);
	reject_img(img, 0x268, "not a Linux bzImage", __LINE__);
	img = bzimage(IMG_SIZE);
	reject_img(img, 0xfff, "not a Linux bzImage", __LINE__);

	img = bzimage(IMG_SIZE);
	put16(img, 0x206, 0x020b);
	reject_img(img, IMG_SIZE, "boot protocol older than 2.12", __LINE__);
	img = bzimage(IMG_SIZE);
	put16(img, 0x206, 0x0204);
	reject_img(img, IMG_SIZE, "boot protocol older than 2.12", __LINE__);

	img = bzimage(IMG_SIZE);
	put16(img, 0x236, 0x2);
	reject_img(img, IMG_SIZE, "kernel has no 64-bit entry point", __LINE__);

	img = bzimage(IMG_SIZE);
	img[0x234] = 0;
	reject_img(img, IMG_SIZE, "kernel is not relocatable", __LINE__);

	/* The setup code alone is longer than the file. */
	img = bzimage(0x3000);
	reject_img(img, 0x3000, "truncated bzImage", __LINE__);
	img = bzimage(31 * 512);
	reject_img(img, 31 * 512, "truncated bzImage", __LINE__);

	img = bzimage(IMG_SIZE);
	put32(img, 0x260, IMG_SIZE - 31 * 512 - 1);
	reject_img(img, IMG_SIZE, "init_size is smaller than the kernel",
		   __LINE__);
}

/* --- linux_place --- */

static struct linux_info info(u32 init_size, u32 align)
{
	struct linux_info li = {
		.version = 0x020f,
		.setup_size = 31 * 512,
		.kernel_size = init_size / 2,
		.init_size = init_size,
		.align = align,
		.cmdline_max = 2047,
		.above_4g = true,
	};

	return li;
}

static bool in_one_ram_range(const struct mem_range *m, u32 n, u64 b, u64 e)
{
	for (u32 i = 0; i < n; i++)
		if (m[i].type == MEM_RAM && b >= m[i].base &&
		    e <= m[i].base + m[i].size)
			return true;
	return false;
}

static void check_layout(const struct linux_info *li, u64 initrd_size,
			 const struct mem_range *m, u32 n,
			 const struct linux_layout *lay)
{
	u64 end = lay->boot_area + BOOT_AREA_PAGES * PAGE_SIZE;

	CHECK(IS_ALIGNED(lay->kernel, li->align));
	CHECK(lay->kernel >= 16ULL << 20);
	CHECK(lay->initrd >= lay->kernel + li->init_size);
	CHECK(IS_ALIGNED(lay->initrd, PAGE_SIZE));
	CHECK(lay->boot_area >= lay->initrd + initrd_size);
	CHECK(IS_ALIGNED(lay->boot_area, PAGE_SIZE));
	CHECK(end <= 1ULL << 32);
	CHECK(in_one_ram_range(m, n, lay->kernel, end));
}

static void test_linux_place(void)
{
	struct mem_range map[64];
	struct linux_info li = info(IMG_INIT, 0x200000);
	struct linux_layout lay;
	u64 given;
	int n;

	/* The driver map of the OVMF machine. */
	n = driver_map_build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE,
			     1ULL << 30, map, ARRAY_SIZE(map), &given);
	CHECK_EQ(n, 21);
	CHECK_EQ(linux_place(&li, 0x123456, map, (u32)n, &lay), 0);
	CHECK_EQ(lay.kernel, 16ULL << 20);
	CHECK_EQ(lay.initrd, (16ULL << 20) + IMG_INIT);
	CHECK_EQ(lay.boot_area, (16ULL << 20) + IMG_INIT + 0x124000);
	check_layout(&li, 0x123456, map, (u32)n, &lay);

	/* No initrd: the boot area follows the kernel directly. */
	CHECK_EQ(linux_place(&li, 0, map, (u32)n, &lay), 0);
	CHECK_EQ(lay.boot_area, lay.initrd);
	check_layout(&li, 0, map, (u32)n, &lay);

	/* init_size not a page multiple: the initrd is page-aligned. */
	li = info(IMG_INIT + 0x123, 0x200000);
	CHECK_EQ(linux_place(&li, 0x1000, map, (u32)n, &lay), 0);
	CHECK_EQ(lay.initrd, (16ULL << 20) + IMG_INIT + 0x1000);
	check_layout(&li, 0x1000, map, (u32)n, &lay);

	/* The first range too small, an unaligned second range. */
	{
		const struct mem_range m[] = {
			R(0x0, 0x9ffff, MEM_RAM),
			R(0x100000, 0x13fffff, MEM_RAM), /* to 20 MiB */
			R(0x1400000, 0xfffffff, MEM_RESERVED),
			R(0x10001000, 0x1fffffff, MEM_RAM),
		};

		li = info(IMG_INIT, 0x200000);
		CHECK_EQ(linux_place(&li, 0x100000, m, ARRAY_SIZE(m), &lay), 0);
		CHECK_EQ(lay.kernel, 0x10200000);
		check_layout(&li, 0x100000, m, ARRAY_SIZE(m), &lay);

		/* A 16 MiB alignment. */
		li = info(IMG_INIT, 0x1000000);
		CHECK_EQ(linux_place(&li, 0x100000, m, ARRAY_SIZE(m), &lay), 0);
		CHECK_EQ(lay.kernel, 0x11000000);
		check_layout(&li, 0x100000, m, ARRAY_SIZE(m), &lay);

		/* Exactly fits: boot area ends at the end of the range. */
		li = info(IMG_INIT, 0x200000);
		CHECK_EQ(linux_place(&li,
				     0x20000000 - 0x10200000 - IMG_INIT -
					     BOOT_AREA_PAGES * PAGE_SIZE,
				     m, ARRAY_SIZE(m), &lay),
			 0);
		CHECK_EQ(lay.boot_area + BOOT_AREA_PAGES * PAGE_SIZE,
			 0x20000000);
		/* One page more does not fit anywhere. */
		memset(&lay, 0x5a, sizeof(lay));
		CHECK_EQ(linux_place(&li,
				     0x20000000 - 0x10200000 - IMG_INIT -
					     BOOT_AREA_PAGES * PAGE_SIZE + 1,
				     m, ARRAY_SIZE(m), &lay),
			 -1);
		/* ...and leaves the layout alone. */
		CHECK_EQ(lay.kernel, 0x5a5a5a5a5a5a5a5aULL);
		CHECK_EQ(lay.boot_area, 0x5a5a5a5a5a5a5a5aULL);
	}

	/* Only MEM_RAM counts; nothing at or above 4 GiB. */
	{
		const struct mem_range m[] = {
			R(0x0, 0x9ffff, MEM_RAM),
			R(0x1000000, 0x7fffffff, MEM_NOT_OWNED),
			R(0x80000000, 0x8fffffff, MEM_HYPERVISOR),
			R(0x90000000, 0x9fffffff, MEM_ACPI),
			R(0xa0000000, 0xafffffff, MEM_NVS),
			R(0xfe000000, 0x13fffffff, MEM_RAM),
			R(0x140000000, 0x4ffffffff, MEM_RAM),
		};

		li = info(IMG_INIT, 0x200000);
		/* 0xfe000000 + 16M + 16M would reach 4 GiB + 36K. */
		memset(&lay, 0x5a, sizeof(lay));
		CHECK_EQ(linux_place(&li, 0x1000000, m, ARRAY_SIZE(m), &lay),
			 -1);
		CHECK_EQ(lay.kernel, 0x5a5a5a5a5a5a5a5aULL);
		CHECK_EQ(linux_place(&li, 0x1000000 - 0x9000 - 0x1000, m,
				     ARRAY_SIZE(m), &lay),
			 0);
		CHECK_EQ(lay.kernel, 0xfe000000);
		check_layout(&li, 0x1000000 - 0xa000, m, ARRAY_SIZE(m), &lay);
	}

	/* Empty map. */
	CHECK_EQ(linux_place(&li, 0, map, 0, &lay), -1);
}

/* --- linux_build_boot --- */

struct e820 {
	u64 base, size;
	u32 type;
};

/* What Linux must see on the OVMF machine with 1 GiB for the driver. */
static const struct e820 ovmf_e820[] = {
	{ 0x0, 0xa0000, 1 },
	{ 0x100000, 0x700000, 1 },
	{ 0x800000, 0x8000, 4 },
	{ 0x808000, 0x3000, 1 },
	{ 0x80b000, 0x1000, 4 },
	{ 0x80c000, 0x4000, 1 },
	{ 0x810000, 0xf0000, 4 },
	{ 0x900000, 0x3f859000, 1 },
	/* not owned, the hypervisor, reserved: all reserved to Linux */
	{ 0x40159000, 0x7fb6d000 - 0x40159000, 2 },
	{ 0x7fb6d000, 0x12000, 3 },
	{ 0x7fb7f000, 0x80000, 4 },
	{ 0x7fbff000, 0x371000, 2 },
	{ 0x7ff70000, 0x90000, 4 },
	{ 0xb0000000, 0x10000000, 2 },
	{ 0xffe00000, 0x200000, 2 },
};

#define AREA_SIZE (BOOT_AREA_PAGES * PAGE_SIZE)

struct boot {
	u8 *area, *bp, *img;
	u64 *pml4, *pdpt, *gdt;
	struct mem_range map[64];
	int n;
	struct linux_info li;
	struct linux_layout lay;
	struct linux_entry entry;
};

static void boot_setup(struct boot *b)
{
	u64 given;
	char err[64];

	memset(b, 0, sizeof(*b));
	b->area = aligned_alloc(4096, AREA_SIZE);
	memset(b->area, 0xcc, AREA_SIZE);
	b->pml4 = (u64 *)b->area;
	b->pdpt = (u64 *)(b->area + PAGE_SIZE);
	b->gdt = (u64 *)(b->area + 6 * PAGE_SIZE);
	b->bp = b->area + 7 * PAGE_SIZE;
	b->img = bzimage(IMG_SIZE);
	b->n = driver_map_build(ovmf, ARRAY_SIZE(ovmf), HYP_BASE, HYP_SIZE,
				1ULL << 30, b->map, ARRAY_SIZE(b->map), &given);
	CHECK_EQ(linux_parse(b->img, IMG_SIZE, &b->li, err, sizeof(err)), 0);
	CHECK_EQ(linux_place(&b->li, 0x300000, b->map, (u32)b->n, &b->lay), 0);
}

static void boot_free(struct boot *b)
{
	free(b->area);
	free(b->img);
}

static void test_build_boot(void)
{
	static const char cmdline[] = "console=ttyS0 quiet devirt.x=1";
	const u64 rsdp = 0x7fb7e014;
	struct boot b;
	u64 ga;
	u8 *bp;
	u32 ne;

	boot_setup(&b);
	bp = b.bp;
	ga = b.lay.boot_area;
	memset(&b.entry, 0xa5, sizeof(b.entry));
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0x300000,
				  cmdline, b.map, (u32)b.n, rsdp, NULL,
				  &b.entry),
		 0);

	/* Entry state. */
	CHECK_EQ(b.entry.rip, b.lay.kernel + 0x200);
	CHECK_EQ(b.entry.rsi, ga + 7 * PAGE_SIZE);
	CHECK_EQ(b.entry.cr3, ga);
	CHECK_EQ(b.entry.gdt_base, ga + 6 * PAGE_SIZE);
	CHECK_EQ(b.entry.gdt_limit, 31);

	/* Identity page tables: PML4[0] -> PDPT -> 4 PDs of 2M pages. */
	CHECK_EQ(b.pml4[0], (ga + PAGE_SIZE) | 3);
	for (u32 i = 1; i < 512; i++)
		if (!CHECK_EQ(b.pml4[i], 0))
			break;
	for (u32 i = 0; i < 4; i++)
		CHECK_EQ(b.pdpt[i], (ga + (2 + i) * PAGE_SIZE) | 3);
	for (u32 i = 4; i < 512; i++)
		if (!CHECK_EQ(b.pdpt[i], 0))
			break;
	for (u32 i = 0; i < 4; i++) {
		const u64 *pd = (const u64 *)(b.area + (2 + i) * PAGE_SIZE);

		for (u32 j = 0; j < 512; j++)
			if (!CHECK_EQ(pd[j],
				      ((u64)i << 30) + ((u64)j << 21) + 0x83))
				break;
	}
	/* So 0xfee00000 and the last byte below 4 GiB map to themselves. */
	CHECK_EQ(((const u64 *)(b.area +
				5 * PAGE_SIZE))[(0xfee00000 >> 21) & 511] &
			 ~0xfffULL,
		 0xfee00000);

	/* GDT: null, unused, 0x10 64-bit code, 0x18 flat data. */
	CHECK_EQ(b.gdt[0], 0);
	CHECK_EQ(b.gdt[1], 0);
	CHECK_EQ(b.gdt[2], 0x00af9a000000ffffULL);
	CHECK_EQ(b.gdt[3], 0x00cf92000000ffffULL);
	CHECK_EQ((b.gdt[2] >> 53) & 3, 1); /* L=1, D=0 */
	CHECK_EQ((b.gdt[2] >> 40) & 0xff, 0x9a); /* P, DPL 0, code r/x */
	CHECK_EQ((b.gdt[3] >> 40) & 0xff, 0x92); /* P, DPL 0, data r/w */
	CHECK_EQ(b.gdt[4], 0);

	/* boot_params: the setup header copied, then our fields. */
	for (u32 off = 0x1f1; off < 0x268; off++) {
		if (off == 0x210 || off == 0x211 ||
		    (off >= 0x218 && off < 0x220) ||
		    (off >= 0x228 && off < 0x22c))
			continue;
		if (!CHECK_EQ(bp[off], b.img[off])) {
			fprintf(stderr, "\t(setup header byte 0x%x)\n", off);
			break;
		}
	}
	CHECK_EQ(get32(bp, 0x24c), 0x11223344);
	CHECK_EQ(bp[0x267], 0x77);
	CHECK_EQ(bp[0x268], 0); /* past the header: not copied */
	CHECK_EQ(get32(bp, 0x202), 0x53726448);
	CHECK_EQ(bp[0x210], 0xff); /* type_of_loader */
	CHECK_EQ(bp[0x211] & 1, 1); /* LOADED_HIGH */
	CHECK_EQ(get32(bp, 0x218), b.lay.initrd); /* ramdisk_image */
	CHECK_EQ(get32(bp, 0x21c), 0x300000); /* ramdisk_size */
	CHECK_EQ(get32(bp, 0x228), ga + 8 * PAGE_SIZE); /* cmd_line_ptr */
	CHECK_EQ(get32(bp, 0x0c0), 0); /* ext_ramdisk_image */
	CHECK_EQ(get32(bp, 0x0c4), 0); /* ext_ramdisk_size */
	CHECK_EQ(get32(bp, 0x0c8), 0); /* ext_cmd_line_ptr */
	CHECK_EQ(get64(bp, 0x070), rsdp); /* acpi_rsdp_addr */
	CHECK_STR((const char *)b.area + 8 * PAGE_SIZE, cmdline);
	/* No framebuffer: screen_info stays zero. */
	for (u32 off = 0; off < 0x40; off++)
		if (!CHECK_EQ(bp[off], 0))
			break;

	/* e820: adjacent ranges Linux sees alike are one entry. */
	ne = bp[0x1e8];
	CHECK_EQ(ne, ARRAY_SIZE(ovmf_e820));
	for (u32 i = 0; i < ne && i < ARRAY_SIZE(ovmf_e820); i++) {
		const u8 *e = bp + 0x2d0 + i * 20;
		int ok = 1;

		ok &= CHECK_EQ(get64(e, 0), ovmf_e820[i].base);
		ok &= CHECK_EQ(get64(e, 8), ovmf_e820[i].size);
		ok &= CHECK_EQ(get32(e, 16), ovmf_e820[i].type);
		if (!ok)
			fprintf(stderr, "\t(e820 entry %u)\n", i);
	}
	/* The entry after the last is zero. */
	CHECK_EQ(get64(bp + 0x2d0 + ne * 20, 0), 0);
	/* Whatever was in the boot area before is gone. */
	CHECK_EQ(b.area[7 * PAGE_SIZE + 0xfff], 0);
	CHECK_EQ(b.area[6 * PAGE_SIZE + 0x20], 0);
	boot_free(&b);
}

static void test_build_boot_variants(void)
{
	char cmdline[5000];
	struct boot b;
	struct mem_range many[200];
	const char *cl;

	/* No initrd: ramdisk_image and _size are zero. */
	boot_setup(&b);
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", b.map,
				  (u32)b.n, 0, NULL, &b.entry),
		 0);
	CHECK_EQ(get32(b.bp, 0x218), 0);
	CHECK_EQ(get32(b.bp, 0x21c), 0);
	CHECK_EQ(b.area[8 * PAGE_SIZE], 0);
	CHECK_EQ(get64(b.bp, 0x070), 0);

	/* The command line is cut at cmdline_size. */
	memset(cmdline, 'a', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = 0;
	b.li.cmdline_max = 100;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, cmdline,
				  b.map, (u32)b.n, 0, NULL, &b.entry),
		 0);
	cl = (const char *)b.area + 8 * PAGE_SIZE;
	CHECK_EQ(strlen(cl), 100);
	/* ...and at a page without one. */
	b.li.cmdline_max = 0;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, cmdline,
				  b.map, (u32)b.n, 0, NULL, &b.entry),
		 0);
	CHECK_EQ(strlen(cl), PAGE_SIZE - 1);

	/* A jump byte that claims a huge header copies at most 0x290. */
	b.img[0x201] = 0xff;
	b.img[0x28f] = 0x42;
	b.img[0x290] = 0x43;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", b.map,
				  (u32)b.n, 0, NULL, &b.entry),
		 0);
	CHECK_EQ(b.bp[0x28f], 0x42);
	CHECK_EQ(b.bp[0x290], 0);

	/* 128 e820 entries fit; 129 do not. */
	for (u32 i = 0; i < ARRAY_SIZE(many); i++) {
		many[i].base = (u64)i * 0x200000;
		many[i].size = 0x100000;
		many[i].type = MEM_RAM;
		many[i].pad = 0;
	}
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", many,
				  128, 0, NULL, &b.entry),
		 0);
	CHECK_EQ(b.bp[0x1e8], 128);
	CHECK_EQ(get64(b.bp + 0x2d0 + 127 * 20, 0), 127 * 0x200000ULL);
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", many,
				  129, 0, NULL, &b.entry),
		 -1);
	/* ...unless they merge. */
	for (u32 i = 0; i < ARRAY_SIZE(many); i++) {
		many[i].base = (u64)i * 0x100000;
		many[i].type = i & 1 ? MEM_RESERVED : MEM_MMIO;
	}
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", many,
				  ARRAY_SIZE(many), 0, NULL, &b.entry),
		 0);
	CHECK_EQ(b.bp[0x1e8], 1);
	CHECK_EQ(get64(b.bp + 0x2d0, 8), ARRAY_SIZE(many) * 0x100000ULL);
	CHECK_EQ(get32(b.bp + 0x2d0, 16), E820_RESERVED);
	boot_free(&b);
}

static void test_build_boot_fb(void)
{
	struct bi_framebuffer fb = {
		.base = 0x80000000,
		.size = 1280 * 800 * 4,
		.width = 1280,
		.height = 800,
		.stride = 1280 + 64,
		.format = 2, /* BGRX */
	};
	struct boot b;
	u8 *si;

	boot_setup(&b);
	si = b.bp;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", b.map,
				  (u32)b.n, 0, &fb, &b.entry),
		 0);
	CHECK_EQ(si[0x0f], 0x70); /* orig_video_isVGA: VIDEO_TYPE_EFI */
	CHECK_EQ(get16(si, 0x12), 1280); /* lfb_width */
	CHECK_EQ(get16(si, 0x14), 800); /* lfb_height */
	CHECK_EQ(get16(si, 0x16), 32); /* lfb_depth */
	CHECK_EQ(get32(si, 0x18), 0x80000000); /* lfb_base */
	CHECK_EQ(get32(si, 0x1c), 1280 * 800 * 4); /* lfb_size */
	CHECK_EQ(get16(si, 0x24), (1280 + 64) * 4); /* lfb_linelength */
	CHECK_EQ(si[0x26], 8); /* red */
	CHECK_EQ(si[0x27], 16);
	CHECK_EQ(si[0x28], 8); /* green */
	CHECK_EQ(si[0x29], 8);
	CHECK_EQ(si[0x2a], 8); /* blue */
	CHECK_EQ(si[0x2b], 0);
	CHECK_EQ(si[0x2c], 8); /* reserved */
	CHECK_EQ(si[0x2d], 24);
	CHECK_EQ(get32(si, 0x36), 0); /* capabilities */
	CHECK_EQ(get32(si, 0x3a), 0); /* ext_lfb_base */

	/* RGBX above 4 GiB. */
	fb.base = 0x4000000000ULL;
	fb.format = 1;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", b.map,
				  (u32)b.n, 0, &fb, &b.entry),
		 0);
	CHECK_EQ(si[0x27], 0);
	CHECK_EQ(si[0x2b], 16);
	CHECK_EQ(get32(si, 0x18), 0);
	CHECK_EQ(get32(si, 0x36), 2); /* VIDEO_CAPABILITY_64BIT_BASE */
	CHECK_EQ(get32(si, 0x3a), 0x40);

	/* No format or no base: no screen_info. */
	fb.format = 0;
	CHECK_EQ(linux_build_boot(b.area, b.img, &b.li, &b.lay, 0, "", b.map,
				  (u32)b.n, 0, &fb, &b.entry),
		 0);
	CHECK_EQ(si[0x0f], 0);
	CHECK_EQ(get32(si, 0x18), 0);
	boot_free(&b);
}

/* map_carve: a page inside one range, across two, and outside the map. */
static void test_map_carve(void)
{
	struct mem_range m[8] = {
		{ 0x0, 0xa0000, MEM_RAM, 0 },
		{ 0x100000, 0x100000, MEM_RAM, 0 },
		{ 0x200000, 0x100000, MEM_RESERVED, 0 },
	};
	int n;

	n = map_carve(m, 3, 8, 0x6f000, 0x1000, MEM_HYPERVISOR);
	CHECK_EQ(n, 5);
	CHECK_EQ(m[0].base, 0);
	CHECK_EQ(m[0].size, 0x6f000);
	CHECK_EQ(m[1].base, 0x6f000);
	CHECK_EQ(m[1].size, 0x1000);
	CHECK_EQ(m[1].type, MEM_HYPERVISOR);
	CHECK_EQ(m[2].base, 0x70000);
	CHECK_EQ(m[2].size, 0x30000);
	CHECK_EQ(m[2].type, MEM_RAM);

	/* Spanning the RAM/reserved boundary: both sides are split. */
	n = map_carve(m, (u32)n, 8, 0x1ff000, 0x2000, MEM_HYPERVISOR);
	CHECK_EQ(n, 6); /* the two hypervisor pieces merge */
	CHECK_EQ(m[3].base, 0x100000);
	CHECK_EQ(m[3].size, 0xff000);
	CHECK_EQ(m[4].base, 0x1ff000);
	CHECK_EQ(m[4].size, 0x2000);
	CHECK_EQ(m[4].type, MEM_HYPERVISOR);
	CHECK_EQ(m[5].base, 0x201000);
	CHECK_EQ(m[5].type, MEM_RESERVED);

	/* Outside every range: nothing is added. */
	CHECK_EQ(map_carve(m, (u32)n, 8, 0xc0000, 0x1000, MEM_HYPERVISOR), n);
	/* No room for the split. */
	CHECK_EQ(map_carve(m, (u32)n, (u32)n, 0x10000, 0x1000, MEM_HYPERVISOR),
		 -1);
}

static u32 rd32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

static u16 rd16(const u8 *p)
{
	u16 v;

	memcpy(&v, p, 2);
	return v;
}

static u8 sum8(const u8 *p, u32 n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static u64 rd64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

/* The table at guest address @gpa of a build at @base in @buf. */
static const u8 *at(const u8 *buf, u64 base, u64 gpa)
{
	return buf + (gpa - base);
}

static void check_sdt(const u8 *t, const char *sig, u8 rev)
{
	CHECK(memcmp(t, sig, 4) == 0);
	CHECK_EQ(t[8], rev);
	CHECK_EQ(sum8(t, rd32(t + 4)), 0);
	CHECK(memcmp(t + 10, "DEVIRT", 6) == 0);
}

static void test_acpi_tables(void)
{
	static u8 buf[4096];
	const u32 ids[2] = { 3, 300 };
	struct acpi_params p = {
		.apic_ids = ids,
		.nr_cpus = 2,
		.ioapic_id = 0xf0,
		.ioapic_addr = 0xfec00000,
		.uart_port = 0x3f8,
		.uart_irq = 4,
	};
	const u64 gpa = 0x9f000;
	const u8 *x, *f, *d, *m, *e;
	int n;

	memset(buf, 0xcc, sizeof(buf));
	n = acpi_tables_build(buf, sizeof(buf), gpa, &p);
	CHECK(n > 0 && n <= 1024);
	/* RSDP (ACPI 6.5 5.2.5.3): both checksums, revision 2, the XSDT. */
	CHECK(memcmp(buf, "RSD PTR ", 8) == 0);
	CHECK_EQ(sum8(buf, 20), 0);
	CHECK_EQ(sum8(buf, 36), 0);
	CHECK_EQ(buf[15], 2);
	CHECK_EQ(rd32(buf + 16), 0);
	CHECK_EQ(rd32(buf + 20), 36);
	x = at(buf, gpa, rd64(buf + 24));
	check_sdt(x, "XSDT", 1);
	CHECK_EQ(rd32(x + 4), 36 + 16);
	f = at(buf, gpa, rd64(x + 36));
	m = at(buf, gpa, rd64(x + 44));
	/* FADT 6.5: hardware-reduced, IAPC_BOOT_ARCH, reset register. */
	check_sdt(f, "FACP", 6);
	CHECK_EQ(rd32(f + 4), 276);
	CHECK_EQ(f[131], 5);
	CHECK_EQ(rd16(f + 109) & 0x3, 0); /* no legacy devices, no 8042 */
	CHECK(rd16(f + 109) & (1u << 2)); /* VGA Not Present */
	CHECK(rd16(f + 109) & (1u << 5)); /* CMOS RTC Not Present */
	CHECK(rd32(f + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	CHECK(rd32(f + 112) & (1u << 10)); /* RESET_REG_SUP */
	CHECK_EQ(f[116], 1); /* reset register in system I/O ... */
	CHECK_EQ(rd64(f + 120), 0xcf9); /* ... port 0xcf9 ... */
	CHECK_EQ(f[128], 6); /* ... value 6 */
	CHECK_EQ(rd32(f + 36), 0); /* no FACS */
	CHECK_EQ(rd64(f + 140), rd32(f + 40)); /* X_DSDT = DSDT */
	d = at(buf, gpa, rd64(f + 140));
	check_sdt(d, "DSDT", 2);
	/* COM1's _CRS: I/O 0x3f8-0x3ff and IRQ 4, patched in place. */
	CHECK_EQ(rd32(d + 4), 36 + 52);
	CHECK_EQ(d[36 + 39], 0x47);
	CHECK_EQ(rd16(d + 36 + 41), 0x3f8);
	CHECK_EQ(rd16(d + 36 + 43), 0x3f8);
	CHECK_EQ(d[36 + 46], 8);
	CHECK_EQ(d[36 + 47], 0x22);
	CHECK_EQ(rd16(d + 36 + 48), 1u << 4);
	CHECK_EQ(d[36 + 50], 0x79);
	/* MADT: local APIC address, no 8259s, the CPUs, the I/O APIC. */
	check_sdt(m, "APIC", 5);
	CHECK_EQ(rd32(m + 4), 44 + 8 + 16 + 12);
	CHECK_EQ(rd32(m + 36), 0xfee00000u);
	CHECK_EQ(rd32(m + 40), 0);
	e = m + 44;
	CHECK_EQ(e[0], 0);
	CHECK_EQ(e[1], 8);
	CHECK_EQ(e[2], 0);
	CHECK_EQ(e[3], 3);
	CHECK_EQ(rd32(e + 4), 1);
	e += 8;
	CHECK_EQ(e[0], 9); /* APIC ID 300: an x2APIC entry */
	CHECK_EQ(e[1], 16);
	CHECK_EQ(rd32(e + 4), 300);
	CHECK_EQ(rd32(e + 8), 1);
	CHECK_EQ(rd32(e + 12), 1);
	e += 16;
	CHECK_EQ(e[0], 1);
	CHECK_EQ(e[1], 12);
	CHECK_EQ(e[2], 0xf0);
	CHECK_EQ(rd32(e + 4), 0xfec00000u);
	CHECK_EQ(rd32(e + 8), 0);
	CHECK_EQ(e + 12, buf + n); /* the MADT is last */
	CHECK_EQ(buf[n], 0xcc); /* nothing written past the end */
	/* Too small a buffer, no CPU or a bad IRQ: refused, nothing written. */
	memset(buf, 0xcc, sizeof(buf));
	CHECK_EQ(acpi_tables_build(buf, (u32)n - 1, gpa, &p), -1);
	CHECK_EQ(buf[0], 0xcc);
	p.uart_irq = 16;
	CHECK_EQ(acpi_tables_build(buf, sizeof(buf), gpa, &p), -1);
	p.uart_irq = 4;
	p.nr_cpus = 0;
	CHECK_EQ(acpi_tables_build(buf, sizeof(buf), gpa, &p), -1);
	CHECK_EQ(buf[0], 0xcc);
}

static void test_guest_map(void)
{
	struct mem_range m[8];
	int n = guest_map_build(256ULL << 20, m, 8);

	CHECK_EQ(n, 4);
	CHECK_EQ(m[0].base, 0);
	CHECK_EQ(m[0].size, 0x9f000);
	CHECK_EQ(m[0].type, MEM_RAM);
	CHECK_EQ(m[1].base, 0x9f000);
	CHECK_EQ(m[1].size, 0x1000);
	CHECK_EQ(m[1].type, MEM_ACPI);
	CHECK_EQ(m[2].base, 0xa0000);
	CHECK_EQ(m[2].base + m[2].size, 0x100000);
	CHECK_EQ(m[2].type, MEM_RESERVED);
	CHECK_EQ(m[3].base, 0x100000);
	CHECK_EQ(m[3].base + m[3].size, 256ULL << 20);
	CHECK_EQ(m[3].type, MEM_RAM);
	CHECK_EQ(mem_to_e820(m[1].type), E820_ACPI);
	CHECK_EQ(guest_map_build(1ULL << 20, m, 8), -1);
	CHECK_EQ(guest_map_build(256ULL << 20, m, 3), -1);
}

/* ns for @delta TSC ticks, as Linux's pvclock_scale_delta computes it. */
static u64 pv_ns(u64 delta, u32 mul, s8 shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (u64)(((unsigned __int128)delta * mul) >> 32);
}

static void test_pvclock_scale(void)
{
	static const u64 rates[] = { 1000000ULL,    33333333ULL,
				     999999999ULL,  1000000000ULL,
				     1000000001ULL, 2000000000ULL,
				     2604738000ULL, 3999999999ULL,
				     5000000000ULL };
	u32 mul;
	s8 shift;

	for (u32 i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		u64 hz = rates[i], ns;

		pvclock_scale(hz, &mul, &shift);
		/* 31 significant bits: within a few ppm over one second. */
		CHECK(mul >= 0x80000000u);
		ns = pv_ns(hz, mul, shift);
		CHECK(ns < 1000000000ULL + 2000 && ns > 1000000000ULL - 2000);
		ns = pv_ns(hz * 3600, mul, shift);
		CHECK(ns < 3600000000000ULL + 7200000 &&
		      ns > 3600000000000ULL - 7200000);
	}
	pvclock_scale(0, &mul, &shift);
	CHECK_EQ(mul, 0);
}

int main(void)
{
	test_acpi_tables();
	test_guest_map();
	test_pvclock_scale();
	test_driver_map_ovmf();
	test_driver_map_placements();
	test_driver_map_full();
	test_mem_to_e820();
	test_linux_parse();
	test_linux_parse_rejects();
	test_linux_place();
	test_build_boot();
	test_build_boot_variants();
	test_build_boot_fb();
	test_map_carve();
	return unit_done();
}
