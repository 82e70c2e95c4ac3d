// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page-table walks (vmm/vm/gmem.c): gva_walk64_run(), which
 * DEVFILE_MAP uses for runs of pages, must give what a full
 * gva_walk64() gives for every address and access. Guest RAM is a host
 * buffer mapped at guest-physical 0 through NPT-format second-level
 * tables; host pointers are "physical" addresses, as in test_stage2.
 */
#include <stdlib.h>
#include "vm/vm.h"
#include "unit.h"

const struct arch_ops *arch; /* gva_to_gpa() only; not called here */

#define RAM (4ULL << 20)
#define P 1ULL
#define RW 2ULL
#define US 4ULL
#define PS 0x80ULL

static u8 *ram;

static void *alloc_page(void)
{
	void *p = aligned_alloc(4096, 4096);

	if (p)
		memset(p, 0, 4096);
	return p;
}

static u64 *table(u64 gpa)
{
	return (u64 *)(ram + gpa);
}

/* Both walkers agree on every page of [va, va + pages) for @access. */
static void agree(struct vm *vm, u64 cr3, u64 va, u32 pages, u32 access,
		  u32 *ok)
{
	struct gva_run run = { .region = ~0ULL };

	for (u32 n = 0; n < pages; n++, va += 4096) {
		u64 a = 1, b = 2;
		int ra = gva_walk64(vm, cr3, false, va, access, &a);
		int rb = gva_walk64_run(vm, cr3, false, va, access, &b, &run);

		CHECK_EQ(ra, rb);
		if (!ra) {
			CHECK_EQ(a, b);
			(*ok)++;
		}
	}
}

int main(void)
{
	static struct vm vm;
	u64 cr3 = 0x1000, pte;
	u32 ok = 0;

	ram = aligned_alloc(2 << 20, RAM);
	memset(ram, 0, RAM);
	CHECK_EQ(s2_init(&vm.s2, &npt_format_rw, alloc_page, free), 0);
	CHECK_EQ(s2_map(&vm.s2, 0, (u64)(uintptr_t)ram, RAM,
			S2_PERM_R | S2_PERM_W, S2_MT_WB),
		 0);

	/* VA 0x40000000: PML4[0] -> PDPT[1] -> PD (0x3000). */
	table(0x1000)[0] = 0x2000 | P | RW | US;
	table(0x2000)[1] = 0x3000 | P | RW | US;
	/* 2 MiB region 0: page table 0x4000, every kind of entry. */
	table(0x3000)[0] = 0x4000 | P | RW | US;
	for (u32 i = 0; i < 512; i++) {
		pte = 0x100000 + i * 4096ULL;
		switch (i % 5) {
		case 0:
			pte |= P | RW | US;
			break;
		case 1:
			pte |= P | US;
			break; /* read-only */
		case 2:
			pte |= P | RW;
			break; /* kernel only */
		case 3:
			break; /* not present */
		default:
			pte |= P | RW | US;
			break;
		}
		table(0x4000)[i] = pte;
	}
	/* Region 1: a read-only table above a writable page table. */
	table(0x3000)[1] = 0x5000 | P | US;
	for (u32 i = 0; i < 512; i++)
		table(0x5000)[i] = (0x200000 + i * 4096ULL) | P | RW | US;
	/* Region 2: one 2 MiB page. Region 3: not present. */
	table(0x3000)[2] = 0x200000 | P | RW | US | PS;

	for (u32 access = 0; access < 4; access++)
		agree(&vm, cr3, 0x40000000, 4 * 512, access, &ok);
	/* Runs that start inside a region and cross into the next. */
	agree(&vm, cr3, 0x40000000 + 500 * 4096, 40, GVA_USER, &ok);
	CHECK(ok > 4 * 512);

	/* The page table entry is read again on every page of a run. */
	{
		struct gva_run run = { .region = ~0ULL };
		u64 gpa;

		CHECK_EQ(gva_walk64_run(&vm, cr3, false, 0x40000000, GVA_USER,
					&gpa, &run),
			 0);
		table(0x4000)[4] = 0;
		CHECK(gva_walk64_run(&vm, cr3, false, 0x40004000, GVA_USER,
				     &gpa, &run) != 0);
		table(0x4000)[4] = 0x123000 | P | US;
		CHECK_EQ(gva_walk64_run(&vm, cr3, false, 0x40004000, GVA_USER,
					&gpa, &run),
			 0);
		CHECK_EQ(gpa, 0x123000);
		/* Another access or root starts a full walk. */
		CHECK(gva_walk64_run(&vm, cr3, false, 0x40004000,
				     GVA_USER | GVA_WRITE, &gpa, &run) != 0);
		CHECK(gva_walk64_run(&vm, 0x7000, false, 0x40000000, GVA_USER,
				     &gpa, &run) != 0);
	}
	/* A table outside guest RAM fails, like a full walk. */
	table(0x3000)[0] = (RAM + 0x1000) | P | RW | US;
	agree(&vm, cr3, 0x40000000, 8, GVA_USER, &ok);
	return unit_done();
}
