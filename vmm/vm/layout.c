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

/* MP spec 1.4 section 4: floating pointer and configuration table. */
#define MPC_HDR 44
#define MPC_CPU 20
#define MPC_SHORT 8

int mptable_build(u8 *buf, u32 size, u32 gpa, const struct mp_params *p)
{
	u32 need = 16 + MPC_HDR + p->nr_cpus * MPC_CPU + 3 * MPC_SHORT;
	u8 *mpf = buf, *mpc = buf + 16, *e;
	u16 entries = 0;

	if (size < need || !p->nr_cpus)
		return -1;
	zero(buf, need);

	/* 4.1 floating pointer: no default configuration, no IMCR. */
	copy(mpf, "_MP_", 4);
	wr32(mpf, 4, gpa + 16);
	mpf[8] = 1; /* length in 16-byte units */
	mpf[9] = 4; /* spec revision 1.4 */
	mpf[10] = checksum(mpf, 16);

	e = mpc + MPC_HDR;
	for (u32 i = 0; i < p->nr_cpus; i++, entries++, e += MPC_CPU) {
		e[0] = 0; /* 4.3.1 processor */
		e[1] = (u8)p->apic_ids[i];
		e[2] = 0x14; /* local APIC version: integrated */
		e[3] = 1 | (i == 0 ? 2 : 0); /* enabled, bootstrap */
		wr32(e, 4, p->cpu_signature);
		wr32(e, 8, p->cpu_features);
	}
	e[0] = 1; /* 4.3.2 bus 0: ISA */
	copy(e + 2, "ISA   ", 6);
	e += MPC_SHORT, entries++;
	e[0] = 2; /* 4.3.3 I/O APIC, enabled */
	e[1] = (u8)p->ioapic_id;
	e[2] = 0x11;
	e[3] = 1;
	wr32(e, 4, p->ioapic_addr);
	e += MPC_SHORT, entries++;
	e[0] = 3; /* 4.3.4 I/O interrupt: vectored, bus polarity/trigger */
	e[4] = 0; /* source bus */
	e[5] = (u8)p->uart_irq;
	e[6] = (u8)p->ioapic_id;
	e[7] = (u8)p->uart_irq; /* pin */
	e += MPC_SHORT, entries++;

	/* 4.2 configuration table header. */
	copy(mpc, "PCMP", 4);
	wr16(mpc, 4, (u16)(e - mpc));
	mpc[6] = 4;
	copy(mpc + 8, "DEVIRT  ", 8);
	copy(mpc + 16, "USER GUEST  ", 12);
	wr16(mpc, 34, entries);
	wr32(mpc, 36, 0xfee00000u); /* local APIC address */
	mpc[7] = checksum(mpc, (u32)(e - mpc));
	return (int)(e - buf);
}

int guest_map_build(u64 bytes, struct mem_range *out, u32 max)
{
	u32 n = 0;

	/* Conventional memory, the MP table page end, the BIOS hole, RAM. */
	if (bytes < (2ULL << 20) || emit(out, &n, max, 0, 0x9fc00, MEM_RAM) ||
	    emit(out, &n, max, 0x9fc00, 0x100000 - 0x9fc00, MEM_RESERVED) ||
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
