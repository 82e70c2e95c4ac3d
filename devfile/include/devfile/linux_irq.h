/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An interrupt vector of a module's own, for devirt's notifications (the
 * shim's request doorbell in the driver VM, the stub's completion and
 * note interrupt in a user guest). devirt sends a fixed IPI with that
 * vector to the VM's CPU; the real local APIC delivers it through the
 * VM's own IDT. The vector comes from Linux's x86 vector domain, like any
 * device interrupt's, so no kernel change is needed. Linux modules only.
 */
#ifndef DEVFILE_LINUX_IRQ_H
#define DEVFILE_LINUX_IRQ_H

#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/string.h>
#include <asm/irqdomain.h>
#include <asm/hw_irq.h>

/*
 * Allocate a Linux interrupt with a vector on CPU @cpu and request it with
 * @handler. Returns the irq (free it with free_irq) and the vector in
 * @vector, or a negative errno.
 */
static inline int devfile_vector_alloc(irq_handler_t handler, const char *name,
				       unsigned int cpu, u8 *vector)
{
	struct irq_alloc_info info;
	int irq, ret;

	memset(&info, 0, sizeof(info));
	info.mask = cpumask_of(cpu);
	irq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1, NUMA_NO_NODE,
				      &info, false, NULL);
	if (irq < 0)
		return irq;
	/* The vector domain is the top here: edge flow, LAPIC EOI. */
	irq_set_handler(irq, handle_edge_irq);
	ret = request_irq(irq, handler, 0, name, NULL);
	if (ret)
		return ret;
	*vector = irqd_cfg(irq_get_irq_data(irq))->vector;
	return irq;
}

#endif
