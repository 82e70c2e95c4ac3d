// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory access. Every access goes through the VM's own
 * second-level tables, so the hypervisor can never be tricked into
 * touching memory that the VM itself could not (its own or another VM's
 * partition, or the hypervisor's reservation).
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"
#include <devirt/hypercall.h>

static int gpa_copy(struct vm *vm, u64 gpa, void *buf, u64 len, bool write)
{
	u8 *b = buf;

	while (len) {
		struct s2_lookup l;
		u64 chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));

		if (chunk > len)
			chunk = len;
		if (!s2_translate(&vm->s2, gpa, &l) ||
		    !(l.perm & (write ? S2_PERM_W : S2_PERM_R)) ||
		    l.memtype != S2_MT_WB)
			return DEVIRT_EFAULT; /* not RAM the VM may touch */
		if (write)
			memcpy(phys_to_virt(l.hpa), b, chunk);
		else
			memcpy(b, phys_to_virt(l.hpa), chunk);
		gpa += chunk;
		b += chunk;
		len -= chunk;
	}
	return 0;
}

int gpa_read(struct vm *vm, u64 gpa, void *buf, u64 len)
{
	return gpa_copy(vm, gpa, buf, len, false);
}

int gpa_write(struct vm *vm, u64 gpa, const void *buf, u64 len)
{
	return gpa_copy(vm, gpa, (void *)buf, len, true);
}

#define PTE_ADDR 0x000ffffffffff000ULL

/* The entry's P, R/W and U/S bits allow @access (CR0.WP = 1). */
static bool pte_allows(u64 e, u32 access)
{
	return (e & 1) && (!(access & GVA_WRITE) || (e & 2)) &&
	       (!(access & GVA_USER) || (e & 4));
}

/*
 * Walk 4- or 5-level page tables rooted at @cr3 (SDM Vol. 3A 4.5) for
 * @gva, with CR0.WP set as Linux runs. Tables are read through the VM's
 * second-level tables like any other guest memory. *@pt: the page table
 * (last level) that mapped a 4 KiB page, else ~0.
 */
static int walk(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access,
		u64 *gpa, u64 *pt)
{
	int levels = la57 ? 5 : 4, shift = 12 + 9 * (levels - 1);
	u64 table = cr3 & PTE_ADDR, e = 0;

	*pt = ~0ULL;
	/* Non-canonical addresses fault (SDM 3.3.7.1). */
	if (!la57 && (u64)((s64)(gva << 16) >> 16) != gva)
		return DEVIRT_EFAULT;
	for (; levels > 0; levels--, shift -= 9) {
		u64 idx = (gva >> shift) & 511;

		if (gpa_read(vm, table + idx * 8, &e, 8) ||
		    !pte_allows(e, access))
			return DEVIRT_EFAULT;
		if (levels > 1 && (e & 0x80) && shift <= 30)
			break; /* PS: 1 GiB or 2 MiB page */
		if (levels == 1)
			*pt = table;
		table = e & PTE_ADDR;
	}
	if (!levels)
		shift = 12;
	*gpa = (e & PTE_ADDR & ~((1ULL << shift) - 1)) |
	       (gva & ((1ULL << shift) - 1));
	return 0;
}

int gva_walk64(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access, u64 *gpa)
{
	u64 pt;

	return walk(vm, cr3, la57, gva, access, gpa, &pt);
}

/*
 * gva_walk64() for a run of pages: the next page in the same 2 MiB region
 * reads one entry of the page table the last walk ended in, rather than
 * every level again. The upper levels were checked for the same access;
 * like a walk, this is not atomic against the guest changing its tables.
 */
int gva_walk64_run(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access,
		   u64 *gpa, struct gva_run *run)
{
	u64 e;
	int r;

	if (run->region == gva >> 21 && run->access == access &&
	    run->cr3 == cr3) {
		if (gpa_read(vm, run->pt + ((gva >> 12) & 511) * 8, &e, 8) ||
		    !pte_allows(e, access))
			return DEVIRT_EFAULT;
		*gpa = (e & PTE_ADDR) | (gva & (PAGE_SIZE - 1));
		return 0;
	}
	r = walk(vm, cr3, la57, gva, access, gpa, &run->pt);
	run->region = !r && run->pt != ~0ULL ? gva >> 21 : ~0ULL;
	run->access = access;
	run->cr3 = cr3;
	return r;
}

/*
 * The same under the vCPU's current paging mode and CR3. Only long mode
 * is walked: hypercalls come from 64-bit kernels. CR0.WP is taken as set,
 * which is stricter than a kernel running with WP clear.
 */
int gva_to_gpa(struct vcpu *vcpu, u64 gva, u32 access, u64 *gpa)
{
	if (!(arch->guest_cr0(vcpu) & CR0_PG)) {
		*gpa = gva & 0xffffffffULL;
		return 0;
	}
	if (!(arch->guest_efer(vcpu) & EFER_LMA))
		return DEVIRT_EFAULT;
	return gva_walk64(vcpu->vm, arch->guest_cr3(vcpu),
			  arch->guest_cr4(vcpu) & CR4_LA57, gva, access, gpa);
}

static int gva_copy(struct vcpu *vcpu, u64 gva, void *buf, u64 len, bool write)
{
	u8 *b = buf;

	while (len) {
		u64 chunk = PAGE_SIZE - (gva & (PAGE_SIZE - 1)), gpa;
		int r;

		if (chunk > len)
			chunk = len;
		r = gva_to_gpa(vcpu, gva, write ? GVA_WRITE : 0, &gpa);
		if (!r)
			r = gpa_copy(vcpu->vm, gpa, b, chunk, write);
		if (r)
			return r;
		gva += chunk;
		b += chunk;
		len -= chunk;
	}
	return 0;
}

int gva_read(struct vcpu *vcpu, u64 gva, void *buf, u64 len)
{
	return gva_copy(vcpu, gva, buf, len, false);
}

int gva_write(struct vcpu *vcpu, u64 gva, const void *buf, u64 len)
{
	return gva_copy(vcpu, gva, (void *)buf, len, true);
}
