// SPDX-License-Identifier: GPL-2.0
/*
 * The loader's firmware-independent helpers (boot/util.c): the UEFI memory
 * map conversion, the hypervisor ELF loader and the message formatter.
 */
#include <stdlib.h>
#include "loader.h"
#include "unit.h"

/* --- efi_type_to_mem --- */

static void test_efi_types(void)
{
	/* UEFI 2.10 Table 7-6, in order. */
	static const u32 expect[] = {
		MEM_RESERVED, /* 0 EfiReservedMemoryType */
		MEM_RAM, /* 1 EfiLoaderCode */
		MEM_RAM, /* 2 EfiLoaderData */
		MEM_RAM, /* 3 EfiBootServicesCode */
		MEM_RAM, /* 4 EfiBootServicesData */
		MEM_RESERVED, /* 5 EfiRuntimeServicesCode */
		MEM_RESERVED, /* 6 EfiRuntimeServicesData */
		MEM_RAM, /* 7 EfiConventionalMemory */
		MEM_UNUSABLE, /* 8 EfiUnusableMemory */
		MEM_ACPI, /* 9 EfiACPIReclaimMemory */
		MEM_NVS, /* 10 EfiACPIMemoryNVS */
		MEM_MMIO, /* 11 EfiMemoryMappedIO */
		MEM_MMIO, /* 12 EfiMemoryMappedIOPortSpace */
		MEM_RESERVED, /* 13 EfiPalCode */
		MEM_RESERVED, /* 14 EfiPersistentMemory */
	};

	for (u32 t = 0; t < ARRAY_SIZE(expect); t++)
		if (!CHECK_EQ(efi_type_to_mem(t), expect[t]))
			fprintf(stderr, "\t(EFI type %u)\n", t);
	/* Out of range, OEM and OS-defined types. */
	CHECK_EQ(efi_type_to_mem(15), MEM_RESERVED);
	CHECK_EQ(efi_type_to_mem(0x70000000), MEM_RESERVED);
	CHECK_EQ(efi_type_to_mem(0x80000000), MEM_RESERVED);
	CHECK_EQ(efi_type_to_mem(0xffffffff), MEM_RESERVED);
}

/* --- mem_from_efi --- */

#define STRIDE 48 /* OVMF's descriptor size: 40 bytes and 8 of padding */

struct md {
	u32 type;
	u64 phys, pages;
};

/*
 * A firmware map of @n descriptors @stride bytes apart, in a heap buffer of
 * exactly that size; the padding after each descriptor is garbage.
 */
static u8 *efi_map(const struct md *d, u32 n, u64 stride)
{
	u8 *map = malloc(n * stride + 1);

	memset(map, 0xa5, n * stride);
	for (u32 i = 0; i < n; i++) {
		struct efi_md m = {
			.type = d[i].type,
			.pad = 0,
			.phys = d[i].phys,
			.virt = 0,
			.pages = d[i].pages,
			.attr = 0xf,
		};

		memcpy(map + i * stride, &m, sizeof(m));
	}
	return map;
}

static struct boot_info *new_bi(void)
{
	struct boot_info *bi = malloc(sizeof(*bi));

	memset(bi, 0x5a, sizeof(*bi));
	return bi;
}

static int from_efi(struct boot_info *bi, const struct md *d, u32 n, u64 stride)
{
	u8 *map = efi_map(d, n, stride);
	int r = mem_from_efi(bi, map, n * stride, stride);

	free(map);
	return r;
}

#define CHECK_MEM(r, b, sz, t)            \
	do {                              \
		CHECK_EQ((r).base, (b));  \
		CHECK_EQ((r).size, (sz)); \
		CHECK_EQ((r).type, (t));  \
		CHECK_EQ((r).pad, 0);     \
	} while (0)

static void test_mem_from_efi(void)
{
	/* The start of an OVMF map: many small same-type pieces. */
	static const struct md ovmf[] = {
		{ 3, 0x0, 0x1 }, /* BS code */
		{ 7, 0x1000, 0x9f }, /* conventional */
		{ 7, 0x100000, 0x700 },
		{ 10, 0x800000, 0x8 }, /* ACPI NVS */
		{ 7, 0x808000, 0x3 },
		{ 10, 0x80b000, 0x1 },
		{ 7, 0x80c000, 0x4 },
		{ 10, 0x810000, 0xf0 },
		{ 4, 0x900000, 0x100 }, /* BS data */
		{ 7, 0xa00000, 0x0 }, /* empty: skipped */
		{ 1, 0xa00000, 0x200 }, /* loader code */
		{ 2, 0xc00000, 0x100 }, /* loader data */
		{ 7, 0xd00000, 0x7e1a4 },
		{ 0, 0x7eea4000, 0xc1 }, /* reserved */
		{ 6, 0x7ef65000, 0x10 }, /* RT data: reserved, merges */
		{ 9, 0x7fb6d000, 0x12 }, /* ACPI reclaim */
		{ 8, 0x7fc00000, 0x1 }, /* unusable */
		{ 11, 0xffe00000, 0x200 }, /* MMIO */
		{ 5, 0x100000000, 0x0 }, /* empty at the end */
	};
	struct boot_info *bi = new_bi();

	CHECK_EQ(from_efi(bi, ovmf, ARRAY_SIZE(ovmf), STRIDE), 0);
	CHECK_EQ(bi->nr_mem, 12);
	CHECK_MEM(bi->mem[0], 0x0, 0xa0000, MEM_RAM);
	CHECK_MEM(bi->mem[1], 0x100000, 0x700000, MEM_RAM);
	CHECK_MEM(bi->mem[2], 0x800000, 0x8000, MEM_NVS);
	CHECK_MEM(bi->mem[3], 0x808000, 0x3000, MEM_RAM);
	CHECK_MEM(bi->mem[4], 0x80b000, 0x1000, MEM_NVS);
	CHECK_MEM(bi->mem[5], 0x80c000, 0x4000, MEM_RAM);
	CHECK_MEM(bi->mem[6], 0x810000, 0xf0000, MEM_NVS);
	CHECK_MEM(bi->mem[7], 0x900000, 0x7eea4000 - 0x900000, MEM_RAM);
	CHECK_MEM(bi->mem[8], 0x7eea4000, 0xd1000, MEM_RESERVED);
	CHECK_MEM(bi->mem[9], 0x7fb6d000, 0x12000, MEM_ACPI);
	CHECK_MEM(bi->mem[10], 0x7fc00000, 0x1000, MEM_UNUSABLE);
	CHECK_MEM(bi->mem[11], 0xffe00000, 0x200000, MEM_MMIO);
	CHECK_EQ(bi->mem[12].base, 0x5a5a5a5a5a5a5a5aULL); /* untouched */

	/* With the 40-byte stride of the spec's own struct, the same. */
	CHECK_EQ(from_efi(bi, ovmf, ARRAY_SIZE(ovmf), sizeof(struct efi_md)),
		 0);
	CHECK_EQ(bi->nr_mem, 12);
	CHECK_MEM(bi->mem[7], 0x900000, 0x7eea4000 - 0x900000, MEM_RAM);

	/* A map of nothing. */
	CHECK_EQ(from_efi(bi, ovmf, 0, STRIDE), 0);
	CHECK_EQ(bi->nr_mem, 0);
	/* Only an empty descriptor. */
	CHECK_EQ(from_efi(bi, &ovmf[9], 1, STRIDE), 0);
	CHECK_EQ(bi->nr_mem, 0);
	/* A trailing partial descriptor is ignored. */
	{
		u8 *map = efi_map(ovmf, 2, STRIDE);

		CHECK_EQ(mem_from_efi(bi, map, STRIDE + 39, STRIDE), 0);
		CHECK_EQ(bi->nr_mem, 1);
		CHECK_MEM(bi->mem[0], 0x0, 0x1000, MEM_RAM);
		free(map);
	}
	free(bi);
}

static void test_mem_from_efi_sort(void)
{
	/* Unsorted; pieces of one range out of order. */
	static const struct md d[] = {
		{ 11, 0xfec00000, 0x1 }, { 7, 0x100000, 0x100 },
		{ 7, 0x0, 0xa0 },	 { 10, 0x300000, 0x10 },
		{ 7, 0x200000, 0x100 },	 { 0, 0xc0000, 0x40 },
		{ 7, 0x400000, 0x100 },	 { 4, 0x310000, 0xf0 },
	};
	struct boot_info *bi = new_bi();

	CHECK_EQ(from_efi(bi, d, ARRAY_SIZE(d), STRIDE), 0);
	for (u32 i = 1; i < bi->nr_mem; i++) {
		CHECK(bi->mem[i - 1].base + bi->mem[i - 1].size <=
		      bi->mem[i].base);
		/* Ranges that touch and are alike are one range. */
		CHECK(!(bi->mem[i - 1].base + bi->mem[i - 1].size ==
				bi->mem[i].base &&
			bi->mem[i - 1].type == bi->mem[i].type));
	}
	CHECK_EQ(bi->nr_mem, 6);
	CHECK_MEM(bi->mem[0], 0x0, 0xa0000, MEM_RAM);
	CHECK_MEM(bi->mem[1], 0xc0000, 0x40000, MEM_RESERVED);
	CHECK_MEM(bi->mem[2], 0x100000, 0x200000, MEM_RAM);
	CHECK_MEM(bi->mem[3], 0x300000, 0x10000, MEM_NVS);
	CHECK_MEM(bi->mem[4], 0x310000, 0x1f0000, MEM_RAM);
	CHECK_MEM(bi->mem[5], 0xfec00000, 0x1000, MEM_MMIO);

	/* Reversed. */
	{
		struct md r[64];

		for (u32 i = 0; i < ARRAY_SIZE(r); i++) {
			r[i].type = i % 3 ? 7 : 9;
			r[i].phys = (u64)(ARRAY_SIZE(r) - 1 - i) * 0x2000;
			r[i].pages = 1;
		}
		CHECK_EQ(from_efi(bi, r, ARRAY_SIZE(r), STRIDE), 0);
		CHECK_EQ(bi->nr_mem, 64);
		for (u32 i = 0; i < bi->nr_mem; i++) {
			if (!CHECK_EQ(bi->mem[i].base, i * 0x2000ULL))
				break;
			CHECK_EQ(bi->mem[i].type,
				 (63 - i) % 3 ? MEM_RAM : MEM_ACPI);
		}
	}
	free(bi);
}

static void test_mem_from_efi_limits(void)
{
	struct md *d = malloc(sizeof(*d) * (BI_MAX_MEM + 100));
	struct boot_info *bi = new_bi();
	u8 *map;

	/* BI_MAX_MEM separate ranges fit; one more does not. */
	for (u32 i = 0; i < BI_MAX_MEM + 1; i++) {
		d[i].type = 7;
		d[i].phys = (u64)i * 0x10000;
		d[i].pages = 1;
	}
	CHECK_EQ(from_efi(bi, d, BI_MAX_MEM, STRIDE), 0);
	CHECK_EQ(bi->nr_mem, BI_MAX_MEM);
	CHECK_EQ(bi->mem[BI_MAX_MEM - 1].base, (BI_MAX_MEM - 1) * 0x10000ULL);
	CHECK_EQ(from_efi(bi, d, BI_MAX_MEM + 1, STRIDE), -1);

	/* Many descriptors that merge are fine. */
	for (u32 i = 0; i < BI_MAX_MEM + 100; i++) {
		d[i].type = i < 200 ? 3 : 7;
		d[i].phys = (u64)i * 0x1000;
		d[i].pages = 1;
	}
	CHECK_EQ(from_efi(bi, d, BI_MAX_MEM + 100, STRIDE), 0);
	CHECK_EQ(bi->nr_mem, 1);
	CHECK_MEM(bi->mem[0], 0, (BI_MAX_MEM + 100) * 0x1000ULL, MEM_RAM);

	/* A descriptor size smaller than a descriptor is refused. */
	map = efi_map(d, 4, STRIDE);
	CHECK_EQ(mem_from_efi(bi, map, 4 * STRIDE, 0), -1);
	CHECK_EQ(mem_from_efi(bi, map, 4 * STRIDE, sizeof(struct efi_md) - 8),
		 -1);
	free(map);
	free(d);
	free(bi);
}

/* --- elf_load --- */

/*
 * A minimal PIE as ld -pie lays it out, all in one PT_LOAD:
 *   0x000 ELF header, 0x040 program headers (PT_LOAD, PT_DYNAMIC)
 *   0x100 "text" (entry point), 0x200 .rela.dyn (2 relocations)
 *   0x240 .dynamic, 0x280 .data (a pointer), 0x290 .bss to 0x2000
 * The second relocation patches a word in .bss.
 */
#define ELF_SIZE 0x290
#define ELF_MEMSZ 0x2000
#define ELF_TEXT 0x100
#define ELF_RELA 0x200
#define ELF_DYN 0x240
#define ELF_DATA 0x280
#define ELF_BSS_PTR 0x1008

struct elf {
	u8 *file;
	struct elf64_ehdr *eh;
	struct elf64_phdr *ph;
	struct elf64_rela *rela;
	struct elf64_dyn *dyn;
};

static void elf_build(struct elf *e)
{
	u8 *f = calloc(1, ELF_SIZE);
	struct elf64_ehdr *eh = (struct elf64_ehdr *)f;
	struct elf64_phdr *ph = (struct elf64_phdr *)(f + sizeof(*eh));
	struct elf64_rela *rela = (struct elf64_rela *)(f + ELF_RELA);
	struct elf64_dyn *dyn = (struct elf64_dyn *)(f + ELF_DYN);

	memcpy(eh->ident,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	eh->type = 3; /* ET_DYN */
	eh->machine = 62; /* EM_X86_64 */
	eh->version = 1;
	eh->entry = ELF_TEXT;
	eh->phoff = sizeof(*eh);
	eh->ehsize = sizeof(*eh);
	eh->phentsize = sizeof(*ph);
	eh->phnum = 2;

	ph[0] = (struct elf64_phdr){ .type = 1, /* PT_LOAD */
				     .flags = 7,
				     .offset = 0,
				     .vaddr = 0,
				     .paddr = 0,
				     .filesz = ELF_SIZE,
				     .memsz = ELF_MEMSZ,
				     .align = 0x1000 };
	ph[1] = (struct elf64_phdr){ .type = 2, /* PT_DYNAMIC */
				     .flags = 6,
				     .offset = ELF_DYN,
				     .vaddr = ELF_DYN,
				     .paddr = ELF_DYN,
				     .filesz = 4 * sizeof(*dyn),
				     .memsz = 4 * sizeof(*dyn),
				     .align = 8 };

	for (u32 i = ELF_TEXT; i < ELF_RELA; i++)
		f[i] = (u8)(i * 7 + 1); /* "code" */
	rela[0] = (struct elf64_rela){ ELF_DATA, 8, ELF_TEXT + 0x10 };
	rela[1] = (struct elf64_rela){ ELF_BSS_PTR, 8, 0x1234 };
	dyn[0] = (struct elf64_dyn){ 7, ELF_RELA }; /* DT_RELA */
	dyn[1] = (struct elf64_dyn){
		8, 2 * sizeof(struct elf64_rela)
	}; /* DT_RELASZ */
	dyn[2] = (struct elf64_dyn){
		9, sizeof(struct elf64_rela)
	}; /* DT_RELAENT */
	dyn[3] = (struct elf64_dyn){ 0, 0 }; /* DT_NULL */
	memset(f + ELF_DATA, 0xee, 16); /* link-time garbage */

	e->file = f;
	e->eh = eh;
	e->ph = ph;
	e->rela = rela;
	e->dyn = dyn;
}

#define MAX_IMAGE 0x4000

static u64 rd64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

static void test_elf_load(void)
{
	struct elf e;
	u8 *dst = aligned_alloc(4096, MAX_IMAGE);
	u64 base = (u64)(uintptr_t)dst, entry = 0, size = 0;
	char err[128];
	bool same = true, zero = true;

	elf_build(&e);
	memset(dst, 0xcc, MAX_IMAGE);
	memset(err, 'x', sizeof(err));
	CHECK_EQ(elf_load(e.file, ELF_SIZE, base, MAX_IMAGE, &entry, &size, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(entry, base + ELF_TEXT);
	CHECK_EQ(size, ELF_MEMSZ);
	/* File bytes copied (up to the relocated word). */
	for (u32 i = 0; i < ELF_DATA; i++)
		same &= dst[i] == e.file[i];
	CHECK(same);
	CHECK(!memcmp(dst + ELF_TEXT, e.file + ELF_TEXT, ELF_RELA - ELF_TEXT));
	/* The relocated words: base + addend. */
	CHECK_EQ(rd64(dst + ELF_DATA), base + ELF_TEXT + 0x10);
	CHECK_EQ(rd64(dst + ELF_BSS_PTR), base + 0x1234);
	/* The word after the relocated one is as in the file. */
	CHECK_EQ(rd64(dst + ELF_DATA + 8), 0xeeeeeeeeeeeeeeeeULL);
	/* .bss zeroed, but for the relocated word. */
	for (u32 i = ELF_SIZE; i < ELF_MEMSZ; i++)
		if (i < ELF_BSS_PTR || i >= ELF_BSS_PTR + 8)
			zero &= dst[i] == 0;
	CHECK(zero);
	/* Nothing written past the image. */
	CHECK_EQ(dst[ELF_MEMSZ], 0xcc);
	CHECK_EQ(dst[MAX_IMAGE - 1], 0xcc);
	/* The file itself is left alone. */
	CHECK_EQ(rd64(e.file + ELF_DATA), 0xeeeeeeeeeeeeeeeeULL);

	/* An image that fills @max exactly, at another base. */
	memset(dst, 0xcc, MAX_IMAGE);
	e.ph[0].memsz = MAX_IMAGE;
	CHECK_EQ(elf_load(e.file, ELF_SIZE, base + 0, MAX_IMAGE, &entry, &size,
			  err, sizeof(err)),
		 0);
	CHECK_EQ(size, MAX_IMAGE);
	CHECK_EQ(dst[MAX_IMAGE - 1], 0);

	/* memsz not a page multiple: image_size is rounded up. */
	e.ph[0].memsz = 0x1801;
	CHECK_EQ(elf_load(e.file, ELF_SIZE, base, MAX_IMAGE, &entry, &size, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(size, 0x2000);

	/* No relocations at all (no PT_DYNAMIC). */
	e.ph[0].memsz = ELF_MEMSZ;
	e.ph[1].type = 4; /* PT_NOTE */
	memset(dst, 0xcc, MAX_IMAGE);
	CHECK_EQ(elf_load(e.file, ELF_SIZE, base, MAX_IMAGE, &entry, &size, err,
			  sizeof(err)),
		 0);
	CHECK_EQ(rd64(dst + ELF_DATA), 0xeeeeeeeeeeeeeeeeULL);
	CHECK_EQ(rd64(dst + ELF_BSS_PTR), 0);
	free(e.file);
	free(dst);
}

/* Mutate a good image with @fn, then expect elf_load to refuse it. */
static void reject_elf(void (*fn)(struct elf *), u64 size, u64 max,
		       const char *msg, int line)
{
	struct elf e;
	u8 *dst = aligned_alloc(4096, MAX_IMAGE);
	u64 entry = 0x1111, isize = 0x2222;
	char err[128], small[10];
	int ok = 1;

	elf_build(&e);
	fn(&e);
	memset(err, 'x', sizeof(err));
	ok &= CHECK_EQ(elf_load(e.file, size, (u64)(uintptr_t)dst, max, &entry,
				&isize, err, sizeof(err)),
		       -1);
	ok &= CHECK(memchr(err, 0, sizeof(err)) != NULL);
	err[sizeof(err) - 1] = 0;
	ok &= CHECK_HAS(err, msg);
	ok &= CHECK(!strncmp(err, "vmm.elf ", 8));
	ok &= CHECK_EQ(entry, 0x1111);
	ok &= CHECK_EQ(isize, 0x2222);
	/* A short error buffer: cut and terminated. */
	memset(small, 'x', sizeof(small));
	ok &= CHECK_EQ(elf_load(e.file, size, (u64)(uintptr_t)dst, max, &entry,
				&isize, small, 5),
		       -1);
	ok &= CHECK_EQ(small[5], 'x');
	small[sizeof(small) - 1] = 0;
	ok &= CHECK_STR(small, "vmm.");
	if (!ok)
		fprintf(stderr, "\t(rejection at line %d: \"%s\")\n", line,
			err);
	free(e.file);
	free(dst);
}

static void bad_magic(struct elf *e)
{
	e->eh->ident[1] = 'X';
}

static void elfclass32(struct elf *e)
{
	e->eh->ident[4] = 1;
}

static void et_exec(struct elf *e)
{
	e->eh->type = 2;
}

static void et_rel(struct elf *e)
{
	e->eh->type = 1;
}

static void machine_i386(struct elf *e)
{
	e->eh->machine = 3;
}

static void machine_aarch64(struct elf *e)
{
	e->eh->machine = 183;
}

static void nothing(struct elf *e)
{
}

static void phentsize(struct elf *e)
{
	e->eh->phentsize = 32;
}

static void phnum_big(struct elf *e)
{
	e->eh->phnum = 65;
}

static void phoff_out(struct elf *e)
{
	e->eh->phoff = ELF_SIZE - 56;
}

static void seg_too_big(struct elf *e)
{
	e->ph[0].memsz = MAX_IMAGE + 0x1000;
}

static void seg_high(struct elf *e)
{
	e->ph[0].vaddr = MAX_IMAGE - 0x1000;
}

static void seg_filesz(struct elf *e)
{
	e->ph[0].filesz = ELF_SIZE + 1;
}

static void seg_filesz_memsz(struct elf *e)
{
	e->ph[0].memsz = ELF_SIZE - 8;
}

static void reloc_type(struct elf *e)
{
	e->rela[1].info = 1; /* R_X86_64_64 */
}

static void reloc_sym(struct elf *e)
{
	e->rela[0].info = (5ULL << 32) | 6; /* R_X86_64_GLOB_DAT, sym 5 */
}

static void reloc_offset(struct elf *e)
{
	e->rela[1].offset = ELF_MEMSZ - 4;
}

static void relaent(struct elf *e)
{
	e->dyn[2].val = 16;
}

static void relasz(struct elf *e)
{
	e->dyn[1].val = ELF_MEMSZ;
}

static void entry_out(struct elf *e)
{
	e->eh->entry = ELF_MEMSZ;
}

static void test_elf_rejects(void)
{
	reject_elf(bad_magic, ELF_SIZE, MAX_IMAGE, "not an x86-64 PIE ELF",
		   __LINE__);
	reject_elf(elfclass32, ELF_SIZE, MAX_IMAGE, "not an x86-64 PIE ELF",
		   __LINE__);
	reject_elf(et_exec, ELF_SIZE, MAX_IMAGE, "not an x86-64 PIE ELF",
		   __LINE__);
	reject_elf(et_rel, ELF_SIZE, MAX_IMAGE, "not an x86-64 PIE ELF",
		   __LINE__);
	reject_elf(machine_i386, ELF_SIZE, MAX_IMAGE, "not an x86-64 PIE ELF",
		   __LINE__);
	reject_elf(machine_aarch64, ELF_SIZE, MAX_IMAGE,
		   "not an x86-64 PIE ELF", __LINE__);
	reject_elf(nothing, sizeof(struct elf64_ehdr) - 1, MAX_IMAGE,
		   "not an x86-64 PIE ELF", __LINE__);
	reject_elf(nothing, 0, MAX_IMAGE, "not an x86-64 PIE ELF", __LINE__);
	reject_elf(phentsize, ELF_SIZE, MAX_IMAGE, "bad program header table",
		   __LINE__);
	reject_elf(phnum_big, ELF_SIZE, MAX_IMAGE, "bad program header table",
		   __LINE__);
	reject_elf(phoff_out, ELF_SIZE, MAX_IMAGE, "bad program header table",
		   __LINE__);
	reject_elf(nothing, sizeof(struct elf64_ehdr) + 56, MAX_IMAGE,
		   "bad program header table", __LINE__);
	reject_elf(nothing, ELF_SIZE, 0x1000,
		   "segment 0 does not fit (2000 bytes)", __LINE__);
	reject_elf(seg_too_big, ELF_SIZE, MAX_IMAGE,
		   "segment 0 does not fit (5000 bytes)", __LINE__);
	reject_elf(seg_high, ELF_SIZE, MAX_IMAGE, "segment 0 does not fit",
		   __LINE__);
	reject_elf(seg_filesz, ELF_SIZE, MAX_IMAGE, "segment 0 does not fit",
		   __LINE__);
	reject_elf(nothing, ELF_SIZE - 1, MAX_IMAGE, "segment 0 does not fit",
		   __LINE__);
	reject_elf(seg_filesz_memsz, ELF_SIZE, MAX_IMAGE,
		   "segment 0 does not fit", __LINE__);
	reject_elf(reloc_type, ELF_SIZE, MAX_IMAGE,
		   "unsupported relocation (type 1)", __LINE__);
	reject_elf(reloc_sym, ELF_SIZE, MAX_IMAGE,
		   "unsupported relocation (type 6)", __LINE__);
	reject_elf(reloc_offset, ELF_SIZE, MAX_IMAGE, "relocation", __LINE__);
	reject_elf(relaent, ELF_SIZE, MAX_IMAGE, "bad relocations", __LINE__);
	reject_elf(relasz, ELF_SIZE, MAX_IMAGE, "bad relocations", __LINE__);
	reject_elf(entry_out, ELF_SIZE, MAX_IMAGE,
		   "entry point is outside the image", __LINE__);
}

/* --- loader_fmt --- */

/* Format into a heap buffer of exactly @len bytes (ASan sees overruns). */
#define FMT(len, ...)                                                       \
	({                                                                  \
		char *b_ = malloc((len) ? (len) : 1);                       \
		static char out_[256];                                      \
		b_[0] = '?';                                                \
		loader_fmt(b_, (len), __VA_ARGS__);                         \
		if (len)                                                    \
			memcpy(out_, b_, (len));                            \
		else                                                        \
			strcpy(out_, b_[0] == '?' ? "(untouched)" : "(!)"); \
		free(b_);                                                   \
		out_;                                                       \
	})

static void test_loader_fmt(void)
{
	CHECK_STR(FMT(64, "plain"), "plain");
	CHECK_STR(FMT(64, ""), "");
	CHECK_STR(FMT(64, "%s", "abc"), "abc");
	CHECK_STR(FMT(64, "[%s]", ""), "[]");
	CHECK_STR(FMT(64, "%s", (const char *)NULL), "");
	CHECK_STR(FMT(64, "%u", (u64)0), "0");
	CHECK_STR(FMT(64, "%u", (u64)42), "42");
	CHECK_STR(FMT(64, "%u", ~0ULL), "18446744073709551615");
	CHECK_STR(FMT(64, "%x", (u64)0), "0");
	CHECK_STR(FMT(64, "%x", (u64)0xdeadbeef), "deadbeef");
	CHECK_STR(FMT(64, "%x", ~0ULL), "ffffffffffffffff");
	CHECK_STR(FMT(64, "0x%x", 0x7ff00000000ULL), "0x7ff00000000");
	CHECK_STR(FMT(64, "VM '%s': %s image '%s' (%u MiB at 0x%x)", "driver",
		      "kernel", "\\EFI\\x", (u64)12, (u64)0x1000000),
		  "VM 'driver': kernel image '\\EFI\\x' (12 MiB at 0x1000000)");
	/* Not conversions: %% and unknown letters print the letter. */
	CHECK_STR(FMT(64, "100%%"), "100%");
	CHECK_STR(FMT(64, "%d%u", (u64)5), "d5");
	CHECK_STR(FMT(64, "end %"), "end %");

	/* Truncation: the longest prefix that fits, always terminated. */
	CHECK_STR(FMT(1, "hello"), "");
	CHECK_STR(FMT(2, "hello"), "h");
	CHECK_STR(FMT(5, "hello"), "hell");
	CHECK_STR(FMT(6, "hello"), "hello");
	CHECK_STR(FMT(5, "ab%s", "cdefgh"), "abcd");
	CHECK_STR(FMT(4, "%s%s", "ab", "cd"), "abc");
	CHECK_STR(FMT(8, "n=%u!", (u64)123456789), "n=12345");
	CHECK_STR(FMT(8, "n=%x!", ~0ULL), "n=fffff");
	CHECK_STR(FMT(3, "%u", (u64)100), "10");
	CHECK_STR(FMT(4, "%%%%%%"), "%%%");
	/* Length 0: nothing written at all. */
	CHECK_STR(FMT(0, "hello"), "(untouched)");
}

int main(void)
{
	test_efi_types();
	test_mem_from_efi();
	test_mem_from_efi_sort();
	test_mem_from_efi_limits();
	test_elf_load();
	test_elf_rejects();
	test_loader_fmt();
	return unit_done();
}
