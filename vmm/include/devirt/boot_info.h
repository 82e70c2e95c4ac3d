/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hand-off ABI between the UEFI loader (boot/) and the hypervisor
 * (vmm/). The loader fills it in memory it reserved for the hypervisor, then
 * calls the vmm entry point on the boot CPU after ExitBootServices, with
 * UEFI's identity-mapped page tables still live.
 */
#ifndef DEVIRT_BOOT_INFO_H
#define DEVIRT_BOOT_INFO_H

#include <devirt/types.h>
#include <devirt/config.h>

#define BOOT_INFO_MAGIC 0x7472697665640a00ULL /* "\0\ndevirt" */
#define BOOT_INFO_VERSION 4 /* 4: vm_config.devices */

#define BI_MAX_MEM 256

/* e820-like types; the loader converts the UEFI memory map to these. */
enum mem_type {
	MEM_RAM = 1, /* free for an OS after ExitBootServices */
	MEM_RESERVED = 2,
	MEM_ACPI = 3, /* ACPI reclaimable */
	MEM_NVS = 4,
	MEM_UNUSABLE = 5,
	MEM_MMIO = 6, /* firmware-described MMIO; reserved to an OS */
};

struct mem_range {
	u64 base;
	u64 size;
	u32 type;
	u32 pad;
};

enum backend {
	BACKEND_NONE = 0,
	BACKEND_VMX = 1,
	BACKEND_SVM = 2,
};

struct bi_module {
	u64 addr; /* physical, inside the hypervisor reservation */
	u64 size;
};

struct bi_vm {
	struct bi_module kernel;
	struct bi_module initrd;
};

struct bi_framebuffer {
	u64 base;
	u64 size;
	u32 width;
	u32 height;
	u32 stride; /* pixels per scan line */
	u32 format; /* 0: none, 1: RGBX, 2: BGRX */
};

struct boot_info {
	u64 magic;
	u32 version;
	u32 backend; /* enum backend, as detected by the loader */
	u64 hyp_base; /* the whole reservation: image, heap, modules */
	u64 hyp_size;
	u64 image_base; /* where vmm.elf's first PT_LOAD landed */
	u64 image_size;
	u64 heap_base; /* free pages for the vmm's page allocator */
	u64 heap_size;
	u64 acpi_rsdp;
	u64 tsc_hz; /* measured by the loader with gBS->Stall; 0 if unknown */
	u64 trampoline; /* a reserved page below 1 MiB for AP start-up, or 0 */
	u64 wall_sec; /* UTC seconds since 1970 at wall_tsc; 0 if unknown */
	u64 wall_tsc;
	struct bi_framebuffer fb;
	u32 nr_mem;
	u32 pad;
	struct mem_range mem[BI_MAX_MEM];
	struct devirt_config cfg;
	struct bi_vm vm[CFG_MAX_VMS];
};

typedef void (*vmm_entry_fn)(struct boot_info *bi);

#endif
