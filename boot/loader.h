/* SPDX-License-Identifier: GPL-2.0 */
/* Loader helpers that need no firmware: unit-tested natively. */
#ifndef DEVIRT_LOADER_H
#define DEVIRT_LOADER_H

#include <devirt/boot_info.h>

/* UEFI spec 2.10, 7.2 EFI_BOOT_SERVICES.GetMemoryMap() descriptor. */
struct efi_md {
	u32 type;
	u32 pad;
	u64 phys;
	u64 virt;
	u64 pages;
	u64 attr;
};

u32 efi_type_to_mem(u32 efi_type);
/* Convert a firmware map (descriptor stride @desc_size) into bi->mem. */
int mem_from_efi(struct boot_info *bi, const void *map, u64 map_size,
		 u64 desc_size);
/*
 * Load the hypervisor ELF (ET_DYN, x86-64) at @base, within @max bytes,
 * applying its R_X86_64_RELATIVE relocations. 0, or -1 with @err set.
 */
int elf_load(const void *elf, u64 size, u64 base, u64 max, u64 *entry,
	     u64 *image_size, char *err, size_t errlen);
/* snprintf subset: %s, %u, %x (64-bit arguments for %u and %x). */
void loader_fmt(char *buf, size_t len, const char *fmt, ...);

#endif
