// SPDX-License-Identifier: GPL-2.0
/* Firmware-independent loader code: memory map, ELF loading, formatting. */
#include <stdarg.h>
#include "loader.h"

/* UEFI spec 2.10, Table 7-6: memory types. */
enum {
	EFI_RESERVED = 0,
	EFI_LOADER_CODE = 1,
	EFI_LOADER_DATA = 2,
	EFI_BS_CODE = 3,
	EFI_BS_DATA = 4,
	EFI_RT_CODE = 5,
	EFI_RT_DATA = 6,
	EFI_CONVENTIONAL = 7,
	EFI_UNUSABLE = 8,
	EFI_ACPI_RECLAIM = 9,
	EFI_ACPI_NVS = 10,
	EFI_MMIO = 11,
	EFI_MMIO_PORT = 12,
	EFI_PAL_CODE = 13,
	EFI_PERSISTENT = 14,
};

u32 efi_type_to_mem(u32 t)
{
	switch (t) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BS_CODE:
	case EFI_BS_DATA:
	case EFI_CONVENTIONAL:
		/* Free once ExitBootServices has returned. */
		return MEM_RAM;
	case EFI_ACPI_RECLAIM:
		return MEM_ACPI;
	case EFI_ACPI_NVS:
		return MEM_NVS;
	case EFI_UNUSABLE:
		return MEM_UNUSABLE;
	case EFI_MMIO:
	case EFI_MMIO_PORT:
		return MEM_MMIO;
	default:
		return MEM_RESERVED;
	}
}

int mem_from_efi(struct boot_info *bi, const void *map, u64 map_size,
		 u64 desc_size)
{
	u32 n = 0, m = 0;

	/* UEFI 2.10 7.2: DescriptorSize is at least the struct's size. */
	if (desc_size < sizeof(struct efi_md))
		return -1;
	for (u64 off = 0; off + sizeof(struct efi_md) <= map_size;
	     off += desc_size) {
		const struct efi_md *d =
			(const struct efi_md *)((const u8 *)map + off);
		u32 type = efi_type_to_mem(d->type);
		u64 size = d->pages * 4096;

		if (!size)
			continue;
		/* Merge with the previous range when contiguous and alike. */
		if (n && bi->mem[n - 1].type == type &&
		    bi->mem[n - 1].base + bi->mem[n - 1].size == d->phys) {
			bi->mem[n - 1].size += size;
			continue;
		}
		if (n == BI_MAX_MEM)
			return -1;
		bi->mem[n].base = d->phys;
		bi->mem[n].size = size;
		bi->mem[n].type = type;
		bi->mem[n].pad = 0;
		n++;
	}
	/* The firmware sorts its map, but nothing promises it: sort. */
	for (u32 i = 1; i < n; i++) {
		struct mem_range r = bi->mem[i];
		u32 j = i;

		for (; j && bi->mem[j - 1].base > r.base; j--)
			bi->mem[j] = bi->mem[j - 1];
		bi->mem[j] = r;
	}
	/* Sorting may have put alike ranges side by side: merge those too. */
	for (u32 i = 0; i < n; i++) {
		if (m && bi->mem[m - 1].type == bi->mem[i].type &&
		    bi->mem[m - 1].base + bi->mem[m - 1].size ==
			    bi->mem[i].base)
			bi->mem[m - 1].size += bi->mem[i].size;
		else
			bi->mem[m++] = bi->mem[i];
	}
	bi->nr_mem = m;
	return 0;
}

static void bytes_copy(u8 *d, const u8 *s, u64 n)
{
	while (n--)
		*d++ = *s++;
}

static void bytes_zero(u8 *d, u64 n)
{
	while (n--)
		*d++ = 0;
}

int elf_load(const void *elf, u64 size, u64 base, u64 max, u64 *entry,
	     u64 *image_size, char *err, size_t errlen)
{
	const struct elf64_ehdr *eh = elf;
	const struct elf64_phdr *ph;
	const struct elf64_dyn *dyn = NULL;
	u64 rela = 0, relasz = 0, relaent = sizeof(struct elf64_rela), top = 0;

	if (size < sizeof(*eh) || eh->ident[0] != 0x7f || eh->ident[1] != 'E' ||
	    eh->ident[2] != 'L' || eh->ident[3] != 'F' || eh->ident[4] != 2 ||
	    eh->machine != 62 || eh->type != 3) {
		loader_fmt(err, errlen, "vmm.elf is not an x86-64 PIE ELF%s",
			   "");
		return -1;
	}
	if (eh->phoff > size || eh->phnum > 64 ||
	    eh->phentsize != sizeof(*ph) ||
	    eh->phoff + (u64)eh->phnum * sizeof(*ph) > size) {
		loader_fmt(err, errlen,
			   "vmm.elf has a bad program header table%s", "");
		return -1;
	}
	ph = (const struct elf64_phdr *)((const u8 *)elf + eh->phoff);
	for (u32 i = 0; i < eh->phnum; i++) {
		if (ph[i].type == PT_DYNAMIC && ph[i].offset < size)
			dyn = (const struct elf64_dyn *)((const u8 *)elf +
							 ph[i].offset);
		if (ph[i].type != PT_LOAD)
			continue;
		if (ph[i].offset > size || ph[i].filesz > size - ph[i].offset ||
		    ph[i].filesz > ph[i].memsz || ph[i].vaddr > max ||
		    ph[i].memsz > max - ph[i].vaddr) {
			loader_fmt(err, errlen,
				   "vmm.elf segment %u does not fit (%x bytes)",
				   (u64)i, ph[i].memsz);
			return -1;
		}
		bytes_copy((u8 *)(uintptr_t)(base + ph[i].vaddr),
			   (const u8 *)elf + ph[i].offset, ph[i].filesz);
		bytes_zero((u8 *)(uintptr_t)(base + ph[i].vaddr + ph[i].filesz),
			   ph[i].memsz - ph[i].filesz);
		if (ph[i].vaddr + ph[i].memsz > top)
			top = ph[i].vaddr + ph[i].memsz;
	}
	/* The dynamic section, from the file, bounded by the file's end. */
	for (; dyn && (const u8 *)(dyn + 1) <= (const u8 *)elf + size &&
	       dyn->tag != DT_NULL;
	     dyn++) {
		if (dyn->tag == DT_RELA)
			rela = dyn->val;
		else if (dyn->tag == DT_RELASZ)
			relasz = dyn->val;
		else if (dyn->tag == DT_RELAENT)
			relaent = dyn->val;
	}
	if (relasz &&
	    (rela + relasz > top || relaent != sizeof(struct elf64_rela))) {
		loader_fmt(err, errlen, "vmm.elf has bad relocations%s", "");
		return -1;
	}
	for (u64 o = 0; o < relasz; o += relaent) {
		const struct elf64_rela *r =
			(const struct elf64_rela *)(uintptr_t)(base + rela + o);

		if ((u32)r->info != R_X86_64_RELATIVE) {
			loader_fmt(
				err, errlen,
				"vmm.elf has an unsupported relocation (type %u)",
				(u64)(u32)r->info);
			return -1;
		}
		if (r->offset > top - 8) {
			loader_fmt(
				err, errlen,
				"vmm.elf relocation at 0x%x is outside the image",
				r->offset);
			return -1;
		}
		*(u64 *)(uintptr_t)(base + r->offset) = base + (u64)r->addend;
	}
	if (eh->entry >= top) {
		loader_fmt(err, errlen,
			   "vmm.elf entry point is outside the image%s", "");
		return -1;
	}
	*entry = base + eh->entry;
	*image_size = ALIGN_UP(top, 4096);
	return 0;
}

void loader_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t o = 0;

	if (!len)
		return;
	va_start(ap, fmt);
	for (; *fmt && o + 1 < len; fmt++) {
		char num[24];
		const char *s = NULL;

		if (*fmt != '%' || !fmt[1]) {
			buf[o++] = *fmt;
			continue;
		}
		fmt++;
		if (*fmt == 's') {
			s = va_arg(ap, const char *);
		} else if (*fmt == 'u' || *fmt == 'x') {
			u64 v = va_arg(ap, u64), b = *fmt == 'u' ? 10 : 16;
			int k = 23;

			num[k] = 0;
			do {
				num[--k] = "0123456789abcdef"[v % b];
				v /= b;
			} while (v);
			s = &num[k];
		} else {
			buf[o++] = *fmt;
			continue;
		}
		while (s && *s && o + 1 < len)
			buf[o++] = *s++;
	}
	va_end(ap);
	buf[o] = 0;
}
