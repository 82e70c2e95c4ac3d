// SPDX-License-Identifier: GPL-2.0
/*
 * EPT entry format, Intel SDM Vol. 3C 29.3.2 "EPT Translation Mechanism"
 * (Tables 29-1 to 29-6) and 29.3.7 "EPT and Memory Typing".
 */
#include "../arch.h"

#define EPT_R (1ULL << 0) /* read access (Table 29-x, bit 0) */
#define EPT_W (1ULL << 1) /* write access (bit 1) */
#define EPT_X (1ULL << 2) /* supervisor-mode execute (bit 2) */
#define EPT_MT_SHIFT 3 /* leaf bits 5:3: memory type (29.3.7.1) */
#define EPT_MT_MASK (7ULL << EPT_MT_SHIFT)
#define EPT_IPAT (1ULL << 6) /* ignore guest PAT: left 0, guest PAT applies */
#define EPT_LARGE (1ULL << 7) /* bit 7 in a PDPTE/PDE: maps 1G/2M page */
#define EPT_ADDR_MASK 0x000ffffffffff000ULL /* bits 51:12 */

#define MT_UC 0 /* SDM 11.3 memory type encodings */
#define MT_WC 1
#define MT_WB 6

static u64 ept_table(u64 next_pa)
{
	/* Non-leaf entries grant all; the leaf decides (29.3.3). */
	return (next_pa & EPT_ADDR_MASK) | EPT_R | EPT_W | EPT_X;
}

static u64 ept_leaf(u64 pa, u32 perm, u32 memtype, u32 level)
{
	u64 e = pa & EPT_ADDR_MASK;
	u64 mt = memtype == S2_MT_UC ? MT_UC :
		 memtype == S2_MT_WC ? MT_WC :
				       MT_WB;

	if (perm & S2_PERM_R)
		e |= EPT_R;
	if (perm & S2_PERM_W)
		e |= EPT_W;
	if (perm & S2_PERM_X)
		e |= EPT_X;
	e |= mt << EPT_MT_SHIFT;
	if (level > 1)
		e |= EPT_LARGE;
	return e;
}

static bool ept_present(u64 e)
{
	/* An entry with bits 2:0 clear is not present (29.3.2). */
	return (e & (EPT_R | EPT_W | EPT_X)) != 0;
}

static bool ept_is_leaf(u64 e, u32 level)
{
	return level == 1 || (e & EPT_LARGE);
}

static u64 ept_addr(u64 e)
{
	return e & EPT_ADDR_MASK;
}

static u32 ept_perm(u64 e)
{
	return (u32)(e & 7);
}

static u32 ept_memtype(u64 e)
{
	u64 mt = (e & EPT_MT_MASK) >> EPT_MT_SHIFT;

	return mt == MT_UC ? S2_MT_UC : mt == MT_WC ? S2_MT_WC : S2_MT_WB;
}

/* has_1g is set by the VMX back end from IA32_VMX_EPT_VPID_CAP bit 17. */
struct stage2_format ept_format_rw = {
	.name = "EPT",
	.table = ept_table,
	.leaf = ept_leaf,
	.present = ept_present,
	.is_leaf = ept_is_leaf,
	.addr = ept_addr,
	.perm = ept_perm,
	.memtype = ept_memtype,
	.has_1g = true,
};
