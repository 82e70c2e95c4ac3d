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

/*
 * Walk the guest's own page tables (SDM Vol. 3A 4.5, 4-level paging and
 * 4.4 PAE paging) under its current CR3. Guest tables are read through
 * the second-level tables like any other guest memory.
 */
int gva_to_gpa(struct vcpu *vcpu, u64 gva, u32 access, u64 *gpa)
{
	u64 cr0 = arch->guest_cr0(vcpu), cr4 = arch->guest_cr4(vcpu);
	u64 efer = arch->guest_efer(vcpu), table, e = 0;
	int levels, shift;

	if (!(cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffULL;
		return 0;
	}
	if (!(cr4 & CR4_PAE))
		return DEVIRT_EFAULT; /* 32-bit paging: not used by Linux x86-64 */
	table = arch->guest_cr3(vcpu) & 0x000ffffffffff000ULL;
	if (efer & EFER_LMA) {
		levels = (cr4 & CR4_LA57) ? 5 : 4;
		shift = 12 + 9 * (levels - 1);
		/* Non-canonical addresses fault (SDM 3.3.7.1). */
		if (levels == 4 && (u64)((s64)(gva << 16) >> 16) != gva)
			return DEVIRT_EFAULT;
	} else {
		u64 pdpte;

		if (gpa_read(vcpu->vm,
			     (arch->guest_cr3(vcpu) & ~0x1fULL) +
				     ((gva >> 30) & 3) * 8,
			     &pdpte, 8) ||
		    !(pdpte & 1))
			return DEVIRT_EFAULT;
		table = pdpte & 0x000ffffffffff000ULL;
		levels = 2;
		shift = 21;
	}
	for (; levels > 0; levels--, shift -= 9) {
		u64 idx = (gva >> shift) & 511;

		if (gpa_read(vcpu->vm, table + idx * 8, &e, 8))
			return DEVIRT_EFAULT;
		if (!(e & 1))
			return DEVIRT_EFAULT; /* P */
		if ((access & GVA_WRITE) && !(e & 2) &&
		    ((cr0 & CR0_WP) || (access & GVA_USER)))
			return DEVIRT_EFAULT; /* R/W */
		if ((access & GVA_USER) && !(e & 4))
			return DEVIRT_EFAULT; /* U/S */
		if (levels > 1 && (e & 0x80) && shift <= 30)
			break; /* PS: 1 GiB or 2 MiB page */
		table = e & 0x000ffffffffff000ULL;
	}
	if (!levels)
		shift = 12;
	*gpa = (e & 0x000ffffffffff000ULL & ~((1ULL << shift) - 1)) |
	       (gva & ((1ULL << shift) - 1));
	return 0;
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
