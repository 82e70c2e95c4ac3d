// SPDX-License-Identifier: GPL-2.0
/*
 * NPT entry format: nested tables use the long-mode page-table format, AMD
 * APM Vol. 2 15.25.5 "Nested Table Walk" and 5.3 "Long-Mode Page
 * Translation". Memory type: 15.25.8 "Combining Memory Types" with the host
 * PAT, which the SVM back end programs so that index 1 is WC.
 */
#include "../arch.h"

#define NPT_P (1ULL << 0) /* present (APM 5.4.1) */
#define NPT_RW (1ULL << 1) /* writable */
#define NPT_US (1ULL << 2) /* nested walks are user accesses (15.25.5) */
#define NPT_PWT (1ULL << 3) /* host PAT index bit 0 */
#define NPT_PCD (1ULL << 4) /* host PAT index bit 1 */
#define NPT_PS (1ULL << 7) /* 2M/1G page in a PDE/PDPE (5.3.4) */
#define NPT_ADDR_MASK 0x000ffffffffff000ULL
/*
 * NX (bit 63) is left clear: execute is always allowed through NPT, so an
 * S2_PERM_X-less mapping is not expressible here and reads back as RWX.
 */

static u64 npt_table(u64 next_pa)
{
	return (next_pa & NPT_ADDR_MASK) | NPT_P | NPT_RW | NPT_US;
}

static u64 npt_leaf(u64 pa, u32 perm, u32 memtype, u32 level)
{
	u64 e = (pa & NPT_ADDR_MASK) | NPT_US;

	if (perm & (S2_PERM_R | S2_PERM_W | S2_PERM_X))
		e |= NPT_P;
	if (perm & S2_PERM_W)
		e |= NPT_RW;
	if (memtype == S2_MT_UC)
		e |= NPT_PCD | NPT_PWT; /* host PAT index 3: UC */
	else if (memtype == S2_MT_WC)
		e |= NPT_PWT; /* host PAT index 1: WC (set by svm.c) */
	if (level > 1)
		e |= NPT_PS;
	return e;
}

static bool npt_present(u64 e)
{
	return e & NPT_P;
}

static bool npt_is_leaf(u64 e, u32 level)
{
	return level == 1 || (e & NPT_PS);
}

static u64 npt_addr(u64 e)
{
	return e & NPT_ADDR_MASK;
}

static u32 npt_perm(u64 e)
{
	if (!(e & NPT_P))
		return 0;
	return S2_PERM_R | S2_PERM_X | ((e & NPT_RW) ? S2_PERM_W : 0);
}

static u32 npt_memtype(u64 e)
{
	if ((e & (NPT_PCD | NPT_PWT)) == (NPT_PCD | NPT_PWT))
		return S2_MT_UC;
	if (e & NPT_PWT)
		return S2_MT_WC;
	return S2_MT_WB;
}

/* has_1g is set by the SVM back end from CPUID 0x80000001 EDX bit 26. */
struct stage2_format npt_format_rw = {
	.name = "NPT",
	.table = npt_table,
	.leaf = npt_leaf,
	.present = npt_present,
	.is_leaf = npt_is_leaf,
	.addr = npt_addr,
	.perm = npt_perm,
	.memtype = npt_memtype,
	.has_1g = true,
};
