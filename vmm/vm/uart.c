// SPDX-License-Identifier: GPL-2.0
/*
 * The console of a user guest: an emulated 8250/16450 UART at COM1
 * (0x3f8, ISA IRQ 4). Transmit only: each byte is taken at once, so THR
 * is always empty; whole lines go to the log tagged with the VM's name.
 * Register layout: PC16550D datasheet (National Semiconductor), table 2.
 */
#include "vm.h"
#include "../core/lib.h"

#define UART_BASE 0x3f8
#define UART_IRQ 4

#define IER_THRI 0x02 /* THR-empty interrupt enable */
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define LCR_DLAB 0x80
#define MCR_OUT2 0x08 /* gates the IRQ line on PCs */
#define MCR_LOOP 0x10
#define LSR_THRE_TEMT 0x60

static void uart_flush(struct vm *vm)
{
	struct uart_state *u = &vm->uart;

	guest_console_line(vm->name, u->line, u->len);
	u->len = 0;
}

static void uart_putc(struct vm *vm, u8 c)
{
	struct uart_state *u = &vm->uart;

	if (c == '\r')
		return;
	if (c == '\n') {
		uart_flush(vm);
		return;
	}
	/* The log is for people: no escape sequences from a guest. */
	if (c < 0x20 || c >= 0x7f)
		c = c == '\t' ? ' ' : '?';
	u->line[u->len++] = (char)c;
	if (u->len == sizeof(u->line))
		uart_flush(vm);
}

/* Edge to the I/O APIC whenever the interrupt condition turns on. */
static void uart_update_irq(struct vcpu *vcpu)
{
	struct uart_state *u = &vcpu->vm->uart;
	bool line = (u->ier & IER_THRI) && u->thre_pending &&
		    (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);

	if (line != u->irq_line) {
		u->irq_line = line;
		ioapic_set_irq(vcpu, UART_IRQ, line);
	}
}

bool uart_io(struct vcpu *vcpu, u16 port, bool in, u32 *val)
{
	struct uart_state *u = &vcpu->vm->uart;
	bool dlab = u->lcr & LCR_DLAB;
	u8 v = (u8)*val;

	if (port < UART_BASE || port > UART_BASE + 7)
		return false;
	switch (port - UART_BASE) {
	case 0:
		if (dlab) {
			if (in)
				*val = u->dll;
			else
				u->dll = v;
		} else if (in) {
			*val = 0; /* no input */
		} else {
			if (u->mcr & MCR_LOOP)
				break; /* loopback: nothing leaves the UART */
			uart_putc(vcpu->vm, v);
			u->thre_pending = true; /* sent: THR empty again */
		}
		break;
	case 1:
		if (dlab) {
			if (in)
				*val = u->dlm;
			else
				u->dlm = v;
		} else if (in) {
			*val = u->ier;
		} else {
			/* Enabling THRI with THR empty interrupts at once. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thre_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case 2:
		if (!in)
			break; /* FCR: a 16450 has no FIFO */
		if ((u->ier & IER_THRI) && u->thre_pending) {
			*val = IIR_THRI;
			u->thre_pending = false; /* reading IIR clears it */
		} else {
			*val = IIR_NONE;
		}
		break;
	case 3:
		if (in)
			*val = u->lcr;
		else
			u->lcr = v;
		break;
	case 4:
		if (in)
			*val = u->mcr;
		else
			u->mcr = v & 0x1f;
		break;
	case 5:
		if (in)
			*val = LSR_THRE_TEMT;
		break;
	case 6:
		if (!in)
			break;
		/* Loopback wires DTR/RTS/OUT1/OUT2 to DSR/CTS/RI/DCD. */
		if (u->mcr & MCR_LOOP)
			*val = ((u->mcr & 1) << 5) | ((u->mcr & 2) << 3) |
			       ((u->mcr & 4) << 4) | ((u->mcr & 8) << 4);
		else
			*val = 0xb0; /* DCD, DSR, CTS: a terminal is there */
		break;
	case 7:
		if (in)
			*val = u->scr;
		else
			u->scr = v;
		break;
	}
	uart_update_irq(vcpu);
	return true;
}
