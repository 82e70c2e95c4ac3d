// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal I/O APIC for user guests, at the usual 0xfec00000 (82093AA
 * datasheet: IOREGSEL at 0x00, IOWIN at 0x10; registers ID 0, version 1,
 * arbitration 2, redirection table from 0x10). Its one source is the
 * emulated UART. A guest owns its CPU and that CPU's LAPIC, so an
 * interrupt is delivered as a self-IPI on the real LAPIC: the guest takes
 * it through its own IDT and acknowledges it with its own EOI.
 */
#include "vm.h"
#include "../core/lib.h"

#define IOAPIC_PINS 24
#define RTE_MASKED (1ULL << 16)
#define RTE_LEVEL (1ULL << 15)
#define RTE_MODE(r) (((r) >> 8) & 7) /* 0 fixed, 1 lowest priority */

void ioapic_set_irq(struct vcpu *vcpu, u32 pin, bool level)
{
	u64 rte;

	if (pin >= IOAPIC_PINS || !level)
		return; /* edge semantics: only the rising edge counts */
	rte = vcpu->vm->ioapic.rte[pin];
	if (rte & RTE_MASKED)
		return;
	if (RTE_MODE(rte) > 1 || (rte & 0xff) < 0x10) {
		vm_refuse(
			vcpu->vm, REFUSE_IPI,
			"I/O APIC pin %u delivery 0x%lx: only fixed interrupts",
			pin, rte);
		return;
	}
	apic_self_ipi((u8)rte);
}

static void ioapic_mmio(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
			u64 *val)
{
	struct ioapic_state *io = &vcpu->vm->ioapic;
	u32 off = gpa & 0xfff, reg = io->sel;

	(void)size;
	if (off == 0x00) {
		if (write)
			io->sel = (u32)*val & 0xff;
		else
			*val = io->sel;
		return;
	}
	if (off != 0x10) {
		if (!write)
			*val = 0; /* EOI register (0x40) and holes */
		return;
	}
	if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
		u64 *rte = &io->rte[(reg - 0x10) / 2];
		bool hi = reg & 1;

		if (!write) {
			*val = hi ? *rte >> 32 : (u32)*rte;
		} else if (hi) {
			*rte = (*rte & 0xffffffffULL) |
			       ((*val & 0xff000000ULL) << 32);
		} else {
			/* Delivery status and remote IRR (12, 14) read-only. */
			*rte = (*rte & ~0xffffffffULL) | (*val & 0x1afffULL);
		}
		return;
	}
	if (write)
		return; /* ID and arbitration: fixed */
	switch (reg) {
	case 0:
		*val = 0xf0u << 24; /* the ID in the guest's MADT */
		break;
	case 1:
		*val = ((IOAPIC_PINS - 1) << 16) | 0x11;
		break;
	default:
		*val = 0;
	}
}

bool ioapic_handle_fault(struct vcpu *vcpu, const struct exit_info *ex)
{
	if (vcpu->vm->role != VM_ROLE_GUEST ||
	    (ex->s2.gpa & ~0xfffULL) != IOAPIC_GPA)
		return false;
	if (mmio_emulate(vcpu, ex->s2.gpa, ioapic_mmio))
		arch->inject_exception(vcpu, 13, true, 0);
	return true;
}
