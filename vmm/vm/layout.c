// SPDX-License-Identifier: GPL-2.0
#include "layout.h"

static void zero(void *p, u64 n)
{
	u8 *d = p;

	while (n--)
		*d++ = 0;
}

static void copy(void *dst, const void *src, u64 n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
}

static int emit(struct mem_range *out, u32 *n, u32 max, u64 base, u64 size,
		u32 type)
{
	if (!size)
		return 0;
	if (*n && out[*n - 1].type == type &&
	    out[*n - 1].base + out[*n - 1].size == base) {
		out[*n - 1].size += size;
		return 0;
	}
	if (*n == max)
		return -1;
	out[*n].base = base;
	out[*n].size = size;
	out[*n].type = type;
	out[*n].pad = 0;
	(*n)++;
	return 0;
}

/* Emit [base, end) of firmware type @type, with the RAM budget applied. */
static int emit_owned(struct mem_range *out, u32 *n, u32 max, u64 base, u64 end,
		      u32 type, u64 *budget, u64 *given)
{
	u64 take;

	if (type != MEM_RAM)
		return emit(out, n, max, base, end - base, type);
	take = end - base < *budget ? end - base : *budget;
	*budget -= take;
	*given += take;
	if (emit(out, n, max, base, take, MEM_RAM))
		return -1;
	return emit(out, n, max, base + take, end - base - take, MEM_NOT_OWNED);
}

int driver_map_build(const struct mem_range *fw, u32 nfw, u64 hyp_base,
		     u64 hyp_size, u64 ram_budget, struct mem_range *out,
		     u32 max, u64 *ram_given)
{
	u64 hyp_end = hyp_base + hyp_size, budget = ram_budget;
	bool hyp_done = false;
	u32 n = 0;

	*ram_given = 0;
	for (u32 i = 0; i < nfw; i++) {
		u64 b = fw[i].base, e = fw[i].base + fw[i].size;

		/* Split around the reservation, which it may overlap. */
		if (e > hyp_base && b < hyp_end) {
			if (b < hyp_base &&
			    emit_owned(out, &n, max, b, hyp_base, fw[i].type,
				       &budget, ram_given))
				return -1;
			if (!hyp_done && emit(out, &n, max, hyp_base, hyp_size,
					      MEM_HYPERVISOR))
				return -1;
			hyp_done = true;
			if (e > hyp_end &&
			    emit_owned(out, &n, max, hyp_end, e, fw[i].type,
				       &budget, ram_given))
				return -1;
			continue;
		}
		if (!hyp_done && b >= hyp_end) {
			if (emit(out, &n, max, hyp_base, hyp_size,
				 MEM_HYPERVISOR))
				return -1;
			hyp_done = true;
		}
		if (emit_owned(out, &n, max, b, e, fw[i].type, &budget,
			       ram_given))
			return -1;
	}
	if (!hyp_done && emit(out, &n, max, hyp_base, hyp_size, MEM_HYPERVISOR))
		return -1;
	return (int)n;
}

int map_carve(struct mem_range *m, u32 n, u32 max, u64 base, u64 size, u32 type)
{
	struct mem_range out[BI_MAX_MEM];
	u64 end = base + size;
	u32 k = 0;

	if (n > BI_MAX_MEM)
		return -1;
	for (u32 i = 0; i < n; i++) {
		u64 b = m[i].base, e = m[i].base + m[i].size;
		u64 lo = b > base ? b : base, hi = e < end ? e : end;

		if (lo >= hi) {
			if (emit(out, &k, BI_MAX_MEM, b, e - b, m[i].type))
				return -1;
			continue;
		}
		if (emit(out, &k, BI_MAX_MEM, b, lo - b, m[i].type) ||
		    emit(out, &k, BI_MAX_MEM, lo, hi - lo, type) ||
		    emit(out, &k, BI_MAX_MEM, hi, e - hi, m[i].type))
			return -1;
	}
	if (k > max)
		return -1;
	copy(m, out, k * sizeof(out[0]));
	return (int)k;
}

u32 mem_to_e820(u32 t)
{
	switch (t) {
	case MEM_RAM:
		return E820_RAM;
	case MEM_ACPI:
		return E820_ACPI;
	case MEM_NVS:
		return E820_NVS;
	case MEM_UNUSABLE:
		return E820_UNUSABLE;
	default:
		/* Firmware, MMIO, the hypervisor and other VMs' RAM. */
		return E820_RESERVED;
	}
}

/* Setup header offsets in the bzImage / boot_params (boot.rst). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
/* zero-page.rst */
#define BP_SCREEN_INFO 0x000
#define BP_ACPI_RSDP 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

#define XLF_KERNEL_64 (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

static u32 rd32(const u8 *p, u32 off)
{
	return (u32)p[off] | (u32)p[off + 1] << 8 | (u32)p[off + 2] << 16 |
	       (u32)p[off + 3] << 24;
}

static u16 rd16(const u8 *p, u32 off)
{
	return (u16)(p[off] | p[off + 1] << 8);
}

static void wr32(u8 *p, u32 off, u32 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
	p[off + 2] = (u8)(v >> 16);
	p[off + 3] = (u8)(v >> 24);
}

static void wr64(u8 *p, u32 off, u64 v)
{
	wr32(p, off, (u32)v);
	wr32(p, off + 4, (u32)(v >> 32));
}

static void wr16(u8 *p, u32 off, u16 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
}

static void set_err(char *err, size_t len, const char *msg)
{
	size_t i = 0;

	for (; len && msg[i] && i + 1 < len; i++)
		err[i] = msg[i];
	if (len)
		err[i] = 0;
}

int linux_parse(const u8 *img, u64 size, struct linux_info *li, char *err,
		size_t errlen)
{
	u32 sects;

	if (size < 0x1000 || rd16(img, HDR_BOOT_FLAG) != 0xaa55 ||
	    rd32(img, HDR_MAGIC) != 0x53726448 /* "HdrS" */) {
		set_err(err, errlen, "not a Linux bzImage (no HdrS header)");
		return -1;
	}
	li->version = rd16(img, HDR_VERSION);
	if (li->version < 0x020c) {
		set_err(err, errlen,
			"boot protocol older than 2.12: no 64-bit entry");
		return -1;
	}
	if (!(rd16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		set_err(err, errlen, "kernel has no 64-bit entry point");
		return -1;
	}
	if (!img[HDR_RELOCATABLE]) {
		set_err(err, errlen, "kernel is not relocatable");
		return -1;
	}
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	li->setup_size = (sects + 1) * 512;
	if (li->setup_size >= size) {
		set_err(err, errlen, "truncated bzImage");
		return -1;
	}
	li->kernel_size = size - li->setup_size;
	li->init_size = rd32(img, HDR_INIT_SIZE);
	li->align = rd32(img, HDR_KERNEL_ALIGNMENT);
	if (li->align < 0x200000 || (li->align & (li->align - 1)))
		li->align = 0x200000;
	li->cmdline_max = rd32(img, HDR_CMDLINE_SIZE);
	li->above_4g = rd16(img, HDR_XLOADFLAGS) & XLF_CAN_BE_LOADED_ABOVE_4G;
	if (li->init_size < li->kernel_size) {
		set_err(err, errlen,
			"bzImage init_size is smaller than the kernel");
		return -1;
	}
	return 0;
}

int linux_place(const struct linux_info *li, u64 initrd_size,
		const struct mem_range *map, u32 n, struct linux_layout *lay)
{
	/* Above 16 MiB (the kernel's preferred minimum), below 4 GiB. */
	const u64 low = 16ULL << 20, limit = 1ULL << 32;

	for (u32 i = 0; i < n; i++) {
		u64 b = map[i].base, e = map[i].base + map[i].size, k, r, a;

		if (map[i].type != MEM_RAM)
			continue;
		if (e > limit)
			e = limit;
		k = ALIGN_UP(b > low ? b : low, li->align);
		r = ALIGN_UP(k + li->init_size, PAGE_SIZE);
		a = ALIGN_UP(r + initrd_size, PAGE_SIZE);
		if (k >= e || a + BOOT_AREA_PAGES * PAGE_SIZE > e)
			continue;
		lay->kernel = k;
		lay->initrd = r;
		lay->boot_area = a;
		return 0;
	}
	return -1;
}

int linux_build_boot(u8 *area, const u8 *img, const struct linux_info *li,
		     const struct linux_layout *lay, u64 initrd_size,
		     const char *cmdline, const struct mem_range *map, u32 n,
		     u64 rsdp, const struct bi_framebuffer *fb,
		     struct linux_entry *entry)
{
	u64 *pml4 = (u64 *)area, *pdpt = (u64 *)(area + PAGE_SIZE);
	u64 *gdt = (u64 *)(area + 6 * PAGE_SIZE);
	u8 *bp = area + 7 * PAGE_SIZE, *cl = area + 8 * PAGE_SIZE;
	u64 ga = lay->boot_area, clen = 0;
	u32 hdr_end, e = 0;

	zero(area, BOOT_AREA_PAGES * PAGE_SIZE);

	/*
	 * boot.rst "64-bit BOOT PROTOCOL": the kernel, boot_params, the
	 * command line and the initrd must be identity-mapped. Map 0-4 GiB
	 * with 2 MiB pages (P | RW | PS), SDM Vol. 3A 4.5.
	 */
	pml4[0] = (ga + PAGE_SIZE) | 3;
	for (u32 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)(area + (2 + i) * PAGE_SIZE);

		pdpt[i] = (ga + (2 + i) * PAGE_SIZE) | 3;
		for (u32 j = 0; j < 512; j++)
			pd[j] = ((u64)i << 30) + ((u64)j << 21) + 0x83;
	}
	/* __BOOT_CS = 0x10 (64-bit code), __BOOT_DS = 0x18 (flat data). */
	gdt[2] = 0x00af9a000000ffffULL;
	gdt[3] = 0x00cf92000000ffffULL;

	/* Copy the setup header as the kernel image carries it. */
	hdr_end = 0x202 + img[0x201];
	if (hdr_end > 0x290)
		hdr_end = 0x290;
	copy(bp + BP_HDR, img + BP_HDR, hdr_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined boot loader ID */
	bp[HDR_LOADFLAGS] |= 0x01; /* LOADED_HIGH */
	wr32(bp, HDR_RAMDISK_IMAGE, (u32)lay->initrd);
	wr32(bp, HDR_RAMDISK_SIZE, (u32)initrd_size);
	wr32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(lay->initrd >> 32));
	wr32(bp, BP_EXT_RAMDISK_SIZE, (u32)(initrd_size >> 32));
	if (!initrd_size) {
		wr32(bp, HDR_RAMDISK_IMAGE, 0);
		wr32(bp, BP_EXT_RAMDISK_IMAGE, 0);
	}
	while (cmdline[clen] && clen + 1 < PAGE_SIZE &&
	       (!li->cmdline_max || clen < li->cmdline_max))
		clen++;
	copy(cl, cmdline, clen);
	cl[clen] = 0;
	wr32(bp, HDR_CMD_LINE_PTR, (u32)(ga + 8 * PAGE_SIZE));
	wr32(bp, BP_EXT_CMD_LINE_PTR, (u32)((ga + 8 * PAGE_SIZE) >> 32));
	wr64(bp, BP_ACPI_RSDP, rsdp);

	for (u32 i = 0; i < n; i++) {
		u32 t = mem_to_e820(map[i].type);
		u8 *ent;

		/* Adjacent ranges that Linux sees alike become one entry. */
		if (e && bp[BP_E820_TABLE + (e - 1) * 20 + 16] == t) {
			u8 *p = bp + BP_E820_TABLE + (e - 1) * 20;
			u64 pb = (u64)rd32(p, 0) | (u64)rd32(p, 4) << 32;
			u64 ps = (u64)rd32(p, 8) | (u64)rd32(p, 12) << 32;

			if (pb + ps == map[i].base) {
				wr64(p, 8, ps + map[i].size);
				continue;
			}
		}
		if (e == BP_E820_MAX)
			return -1;
		ent = bp + BP_E820_TABLE + e * 20;
		wr64(ent, 0, map[i].base);
		wr64(ent, 8, map[i].size);
		wr32(ent, 16, t);
		e++;
	}
	bp[BP_E820_ENTRIES] = (u8)e;

	/* screen_info for efifb: VIDEO_TYPE_EFI (0x70), 32 bpp. */
	if (fb && fb->base && fb->format) {
		u8 *si = bp + BP_SCREEN_INFO;

		si[0x0f] = 0x70;
		wr16(si, 0x12, (u16)fb->width);
		wr16(si, 0x14, (u16)fb->height);
		wr16(si, 0x16, 32);
		wr32(si, 0x18, (u32)fb->base);
		wr32(si, 0x1c, (u32)fb->size);
		wr16(si, 0x24, (u16)(fb->stride * 4));
		si[0x26] = 8; /* red size, pos */
		si[0x27] = fb->format == 1 ? 0 : 16;
		si[0x28] = 8;
		si[0x29] = 8;
		si[0x2a] = 8;
		si[0x2b] = fb->format == 1 ? 16 : 0;
		si[0x2c] = 8;
		si[0x2d] = 24;
		if (fb->base >> 32) {
			wr32(si, 0x36, 2); /* VIDEO_CAPABILITY_64BIT_BASE */
			wr32(si, 0x3a, (u32)(fb->base >> 32));
		}
	}

	entry->rip = lay->kernel + 0x200; /* startup_64 */
	entry->rsi = ga + 7 * PAGE_SIZE;
	entry->cr3 = ga;
	entry->gdt_base = ga + 6 * PAGE_SIZE;
	entry->gdt_limit = 4 * 8 - 1;
	(void)li;
	return 0;
}

static u8 checksum(const u8 *p, u32 n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return (u8)-s;
}

/* ACPI 6.5 5.2.6 System Description Table header, 36 bytes. */
#define SDT_HDR 36

static void sdt_header(u8 *t, const char *sig, u32 len, u8 rev)
{
	copy(t, sig, 4); /* 5.2.6 Signature */
	wr32(t, 4, len); /* 5.2.6 Length, header included */
	t[8] = rev; /* 5.2.6 Revision */
	copy(t + 10, "DEVIRT", 6); /* 5.2.6 OEMID */
	copy(t + 16, "USERGST ", 8); /* 5.2.6 OEM Table ID */
	wr32(t, 24, 1); /* 5.2.6 OEM Revision */
	copy(t + 28, "DVRT", 4); /* 5.2.6 Creator ID */
	wr32(t, 32, 1); /* 5.2.6 Creator Revision */
	t[9] = checksum(t, len); /* 5.2.6 Checksum: the table sums to 0 */
}

/* 5.2.3.2 Generic Address Structure, 12 bytes. */
static void gas_io(u8 *g, u16 port, u8 bits)
{
	g[0] = 1; /* Address Space ID: System I/O */
	g[1] = bits; /* Register Bit Width */
	g[2] = 0; /* Register Bit Offset */
	g[3] = 1; /* Access Size: byte */
	wr64(g, 4, port); /* Address */
}

#define RSDP_LEN 36 /* 5.2.5.3, revision 2 */
#define XSDT_LEN (SDT_HDR + 2 * 8) /* 5.2.8: the FADT and the MADT */
#define FADT_LEN 276 /* 5.2.9 Table 5.9, FADT 6.5 */
#define DSDT_LEN (SDT_HDR + sizeof(dsdt_aml))
#define MADT_LAPIC 8 /* 5.2.12.2 Processor Local APIC */
#define MADT_X2APIC 16 /* 5.2.12.12 Processor Local x2APIC */
#define MADT_IOAPIC 12 /* 5.2.12.3 I/O APIC */

/* 5.2.9 Table 5.9 FADT field offsets. */
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR 131
#define FADT_X_DSDT 140
#define FADT_HV_VENDOR 268

/* 5.2.9.3 Table 5.11 IA-PC Boot Architecture Flags. */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* 5.2.9 Table 5.10 Fixed ACPI Description Table Fixed Feature Flags. */
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/*
 * The DSDT's definition block (ACPI 6.5 20, AML): COM1, so that the
 * kernel's PNP driver gives the UART its interrupt through the I/O APIC
 * (hardware-reduced ACPI has no legacy ISA IRQs). Port and IRQ bytes are
 * patched in by acpi_tables_build. In ASL:
 *
 *   Scope (\_SB) { Device (COM1) {
 *     Name (_HID, EisaId ("PNP0501"))
 *     Name (_UID, Zero)
 *     Name (_CRS, ResourceTemplate () {
 *       IO (Decode16, 0x3F8, 0x3F8, 0x00, 0x08)
 *       IRQNoFlags () {4}
 *     })
 *   } }
 */
/* clang-format off */
static const u8 dsdt_aml[] = {
	0x10, 0x33, /* 20.2.5.1 DefScope, PkgLength 51 */
	'\\', '_', 'S', 'B', '_', /* 20.2.2 RootChar, NameSeg "_SB_" */
	0x5b, 0x82, 0x2b, /* 20.2.5.2 DefDevice, PkgLength 43 */
	'C', 'O', 'M', '1', /* NameSeg */
	0x08, '_', 'H', 'I', 'D', /* 20.2.5.1 DefName _HID (6.1.5) */
	0x0c, 0x41, 0xd0, 0x05, 0x01, /* DWordConst EISAID "PNP0501" */
	0x08, '_', 'U', 'I', 'D', 0x00, /* DefName _UID (6.1.12), Zero */
	0x08, '_', 'C', 'R', 'S', /* DefName _CRS (6.2.2) */
	0x11, 0x10, 0x0a, 0x0d, /* 20.2.5.4 DefBuffer, PkgLength 16, 13 */
	0x47, 0x01, /* 6.4.2.5 I/O Port Descriptor, 16-bit decode */
	0xf8, 0x03, 0xf8, 0x03, /* minimum, maximum base (patched) */
	0x00, 0x08, /* base alignment, range length */
	0x22, 0x10, 0x00, /* 6.4.2.1 IRQ Descriptor: mask (patched) */
	0x79, 0x00, /* 6.4.2.9 End Tag, checksum 0 (none) */
};
/* clang-format on */

#define AML_IO_MIN 41 /* offsets into dsdt_aml of the patched bytes */
#define AML_IO_MAX 43
#define AML_IRQ_MASK 48

static u32 madt_len(const struct acpi_params *p)
{
	u32 len = SDT_HDR + 8 + MADT_IOAPIC;

	for (u32 i = 0; i < p->nr_cpus; i++)
		len += p->apic_ids[i] < 0xff ? MADT_LAPIC : MADT_X2APIC;
	return len;
}

int acpi_tables_build(u8 *buf, u32 size, u64 gpa, const struct acpi_params *p)
{
	u32 xsdt = ALIGN_UP(RSDP_LEN, 16), fadt = ALIGN_UP(xsdt + XSDT_LEN, 16);
	u32 dsdt = ALIGN_UP(fadt + FADT_LEN, 16);
	u32 madt = ALIGN_UP(dsdt + DSDT_LEN, 16), need;
	u8 *r = buf, *t, *e;

	if (!p->nr_cpus || p->uart_irq > 15)
		return -1;
	need = madt + madt_len(p);
	if (size < need)
		return -1;
	zero(buf, need);

	/* 5.2.5.3 Root System Description Pointer, revision 2. */
	copy(r, "RSD PTR ", 8); /* Signature */
	copy(r + 9, "DEVIRT", 6); /* OEMID */
	r[15] = 2; /* Revision: ACPI 2.0+ (XSDT) */
	wr32(r, 16, 0); /* RsdtAddress: none, the XSDT only */
	wr32(r, 20, RSDP_LEN); /* Length */
	wr64(r, 24, gpa + xsdt); /* XsdtAddress */
	r[8] = checksum(r, 20); /* Checksum: the first 20 bytes */
	r[32] = checksum(r, RSDP_LEN); /* Extended Checksum: all 36 */

	/* 5.2.8 Extended System Description Table: FADT, MADT. */
	t = buf + xsdt;
	wr64(t, SDT_HDR, gpa + fadt); /* Entry */
	wr64(t, SDT_HDR + 8, gpa + madt); /* Entry */
	sdt_header(t, "XSDT", XSDT_LEN, 1);

	/* 5.2.9 Fixed ACPI Description Table, 6.5. */
	t = buf + fadt;
	wr32(t, FADT_DSDT, (u32)(gpa + dsdt)); /* DSDT */
	wr16(t, FADT_SCI_INT, 0); /* SCI_INT: no SCI (hardware-reduced) */
	/*
	 * IAPC_BOOT_ARCH (5.2.9.3): no legacy (ISA) devices and no 8042
	 * (bits 0, 1 clear), VGA Not Present, MSI Not Supported (no PCI),
	 * CMOS RTC Not Present (ACPI 6.x): kvmclock is the wall clock.
	 */
	wr16(t, FADT_IAPC_BOOT_ARCH,
	     IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
		     IAPC_CMOS_RTC_NOT_PRESENT);
	/*
	 * Flags (Table 5.10): HW_REDUCED_ACPI (4.1: no PM1 blocks, SCI, PM
	 * timer, GPEs or legacy PIC/PIT), no fixed power or sleep button,
	 * RESET_REG_SUP: the reset register below.
	 */
	wr32(t, FADT_FLAGS,
	     FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		     FADT_F_RESET_REG_SUP);
	/* RESET_REG, RESET_VALUE (4.8.4.6): port 0xcf9 <- 6 stops the VM. */
	gas_io(t + FADT_RESET_REG, 0xcf9, 8);
	t[FADT_RESET_VALUE] = 0x06;
	t[FADT_MINOR] = 5; /* FADT Minor Version: 6.5 */
	wr64(t, FADT_X_DSDT, gpa + dsdt); /* X_DSDT */
	/* Hypervisor Vendor Identity */
	copy(t + FADT_HV_VENDOR, "DEVIRT  ", 8);
	sdt_header(t, "FACP", FADT_LEN, 6); /* FADT Major Version 6 */

	/* 5.2.11.1 Differentiated System Description Table: COM1. */
	t = buf + dsdt;
	copy(t + SDT_HDR, dsdt_aml, sizeof(dsdt_aml));
	wr16(t, SDT_HDR + AML_IO_MIN, (u16)p->uart_port);
	wr16(t, SDT_HDR + AML_IO_MAX, (u16)p->uart_port);
	wr16(t, SDT_HDR + AML_IRQ_MASK, (u16)(1u << p->uart_irq));
	sdt_header(t, "DSDT", DSDT_LEN, 2); /* revision 2: 64-bit integers */

	/* 5.2.12 Multiple APIC Description Table. */
	t = buf + madt;
	wr32(t, SDT_HDR, 0xfee00000u); /* Local Interrupt Controller Address */
	wr32(t, SDT_HDR + 4, 0); /* Flags: PCAT_COMPAT clear, no 8259s */
	e = t + SDT_HDR + 8;
	for (u32 i = 0; i < p->nr_cpus; i++) {
		if (p->apic_ids[i] < 0xff) {
			e[0] = 0; /* 5.2.12.2 Type: Processor Local APIC */
			e[1] = MADT_LAPIC; /* Length */
			e[2] = (u8)i; /* ACPI Processor UID */
			e[3] = (u8)p->apic_ids[i]; /* APIC ID */
			wr32(e, 4, 1); /* Flags: Enabled (Table 5.23) */
		} else {
			e[0] = 9; /* 5.2.12.12 Type: Processor Local x2APIC */
			e[1] = MADT_X2APIC; /* Length */
			wr32(e, 4, p->apic_ids[i]); /* X2APIC ID */
			wr32(e, 8, 1); /* Flags: Enabled (Table 5.23) */
			wr32(e, 12, i); /* ACPI Processor UID */
		}
		e += e[1];
	}
	e[0] = 1; /* 5.2.12.3 Type: I/O APIC */
	e[1] = MADT_IOAPIC; /* Length */
	e[2] = (u8)p->ioapic_id; /* I/O APIC ID */
	wr32(e, 4, p->ioapic_addr); /* I/O APIC Address */
	wr32(e, 8, 0); /* Global System Interrupt Base */
	sdt_header(t, "APIC", madt_len(p), 5); /* revision 5 (ACPI 6.3+) */
	return (int)need;
}

int guest_map_build(u64 bytes, struct mem_range *out, u32 max)
{
	u32 n = 0;

	/* Conventional memory, the ACPI tables' page, the BIOS hole, RAM. */
	if (bytes < (2ULL << 20) ||
	    emit(out, &n, max, 0, GUEST_ACPI_BASE, MEM_RAM) ||
	    emit(out, &n, max, GUEST_ACPI_BASE, GUEST_ACPI_SIZE, MEM_ACPI) ||
	    emit(out, &n, max, GUEST_ACPI_BASE + GUEST_ACPI_SIZE,
		 0x100000 - GUEST_ACPI_BASE - GUEST_ACPI_SIZE, MEM_RESERVED) ||
	    emit(out, &n, max, 0x100000, bytes - 0x100000, MEM_RAM))
		return -1;
	return (int)n;
}

#define NSEC 1000000000ULL

/*
 * ns = ((tsc_delta << shift) * mul) >> 32, shift negative meaning a right
 * shift (pvclock_scale_delta). Scale the rate into (1 GHz, 2 GHz] so the
 * 32-bit multiplier keeps 31 significant bits.
 */
void pvclock_scale(u64 tsc_hz, u32 *mul, s8 *shift)
{
	u64 hz = tsc_hz;
	s8 s = 0;

	if (!hz) {
		*mul = 0;
		*shift = 0;
		return;
	}
	while (hz > 2 * NSEC) {
		hz >>= 1;
		s--;
	}
	while (hz <= NSEC) {
		hz <<= 1;
		s++;
	}
	*mul = (u32)((NSEC << 32) / hz);
	*shift = s;
}
