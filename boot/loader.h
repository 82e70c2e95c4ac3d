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

/* ELF-64 structures, System V gABI and the x86-64 psABI. */
struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

struct elf64_dyn {
	s64 tag;
	u64 val;
};

struct elf64_rela {
	u64 offset, info;
	s64 addend;
};

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define R_X86_64_RELATIVE 8

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
